/**
 * The SMTP side: one pooled nodemailer transport per worker. The engine sees only {@link EmailTransport}, the
 * structural subset of nodemailer's Transporter it uses, so tests and the benchmark can pass any transport.
 */
import nodemailer from 'nodemailer';
import type { RenderedMessage } from './render-message.js';

export interface EmailTransport {
  sendMail(msg: RenderedMessage): Promise<{ messageId?: string; response?: string }>;
  close(): void;
}

/** Connection settings; the `smtp` config section has this shape. */
export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  /** Pooled connections to the relay. Default 5. */
  maxConnections?: number;
  /** Messages per second over all connections (nodemailer's `rateLimit` per second). Default unlimited. */
  ratePerSecond?: number;
}

/** A pooled SMTP transport (`close()` it when the worker stops). */
export function createEmailTransport(s: SmtpSettings): EmailTransport {
  const t = nodemailer.createTransport({
    pool: true,
    host: s.host,
    port: s.port,
    secure: s.secure,
    maxConnections: s.maxConnections ?? 5,
    // A connection is recycled after this many messages; relays often cap messages per session.
    maxMessages: 100,
    ...(s.ratePerSecond ? { rateDelta: 1000, rateLimit: s.ratePerSecond } : {}),
    ...(s.user ? { auth: { user: s.user, pass: s.password ?? '' } } : {}),
    // Local relays often have self-signed certificates; STARTTLS is still used when offered.
    tls: { rejectUnauthorized: false },
  });
  return {
    sendMail: (msg) => t.sendMail(msg) as Promise<{ messageId?: string; response?: string }>,
    close: () => t.close(),
  };
}

/** SMTP reply code of a failed send (nodemailer puts it on the error), if the server answered at all. */
export function smtpResponseCode(e: unknown): number | undefined {
  const c = (e as { responseCode?: unknown } | null)?.responseCode;
  return typeof c === 'number' ? c : undefined;
}
