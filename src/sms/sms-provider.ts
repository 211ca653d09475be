/**
 * The `SmsProvider` port (CONVENTIONS #5): narrow, owned by sms/, no connection types leak out. Each backend
 * (smpp, http, log) owns its sockets, timers and rate limit, and reports delivery receipts through
 * `onDeliveryReport`. Shared pieces — the status vocabulary, the rate limiter and the backoff — live here.
 */
import type { ErrorCode } from '../errors.js';
import type { SmsEncoding } from './sms-encoding.js';

/**
 * Delivery statuses written to `sms_status` events and the `sms-statistics` export (reference §3.4.3, the
 * recommended vocabulary). NACK = the provider refused the message at submission.
 */
import { SMS_STATUSES, type SmsStatus } from '../store/index.js';

export { SMS_STATUSES, type SmsStatus };

export interface SmsSubmit {
  /** International digits without `+`. */
  to: string;
  /** Alphanumeric id or digits. */
  from: string;
  senderKind: 'alphanumeric' | 'numeric';
  text: string;
  encoding: SmsEncoding;
  /** The parts as counted by `segmentText` (one element for a single SMS). */
  segments: string[];
  /** Our reference (`<sendingId>:<line>`), passed to providers that can echo it back. */
  reference: string;
}

export type SmsSubmitResult =
  | { ok: true; providerMessageId: string; partIds: string[] }
  | { ok: false; code: ErrorCode; status: string; reason: string };

export interface DeliveryReport {
  /** Provider name (`smpp`, `http`, `log`). */
  provider: string;
  providerMessageId: string;
  status: SmsStatus;
  /** The provider's own status word or error code (`DELIVRD`, `err:001`, …). */
  detail: string | null;
  /** When the operator settled the message; null when the report does not say. */
  doneAt: Date | null;
}

export type DeliveryReportListener = (report: DeliveryReport) => void;

export interface SmsProvider {
  readonly name: string;
  /** How many submits the sender should keep in flight (SMPP window size, HTTP concurrency). */
  readonly concurrency: number;
  /** Connect (and bind). Idempotent. Rejects with DS_SMS_PROVIDER_UNAVAILABLE when it cannot. */
  start(): Promise<void>;
  /** Finish in-flight submits, then disconnect. Idempotent. */
  stop(): Promise<void>;
  /**
   * Hand one message (all its parts) to the provider. Resolves `ok: false` when the provider refuses this
   * message; rejects with a DatasyncError (DS_SMS_PROVIDER_UNAVAILABLE, DS_SMS_THROTTLED) when no message
   * can go through right now — the send stops and can be resumed.
   */
  submit(msg: SmsSubmit): Promise<SmsSubmitResult>;
  onDeliveryReport(listener: DeliveryReportListener): () => void;
}

/** Listener bookkeeping shared by the providers. */
export class ReportListeners {
  private listeners: DeliveryReportListener[] = [];
  add(l: DeliveryReportListener): () => void {
    this.listeners.push(l);
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }
  emit(r: DeliveryReport): void {
    for (const l of this.listeners) l(r);
  }
}

export const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Rate limit per provider: a token bucket of `ratePerSecond` tokens refilled continuously, holding at most
 * one second's worth (so a quiet provider may burst one second of traffic, never more). 0 = unlimited.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ratePerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = Math.max(1, ratePerSecond);
    this.last = this.now();
  }

  /** Resolves when one message may be sent. Callers are served in order. */
  acquire(): Promise<void> {
    if (this.ratePerSecond <= 0) return Promise.resolve();
    const next = this.chain.then(() => this.take());
    this.chain = next;
    return next;
  }

  private async take(): Promise<void> {
    for (;;) {
      const t = this.now();
      this.tokens = Math.min(
        Math.max(1, this.ratePerSecond),
        this.tokens + ((t - this.last) * this.ratePerSecond) / 1000,
      );
      this.last = t;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await delay(Math.ceil(((1 - this.tokens) * 1000) / this.ratePerSecond));
    }
  }
}

/** Exponential backoff with full jitter: attempt 0 → up to base, doubling, capped at `maxMs`. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(cap / 2 + (Math.random() * cap) / 2);
}

/** A counting semaphore: the SMPP window (submits awaiting their response). */
export class Semaphore {
  private waiters: (() => void)[] = [];
  private used = 0;
  constructor(private readonly size: number) {}
  async acquire(): Promise<void> {
    if (this.used < this.size) {
      this.used++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }
  release(): void {
    const w = this.waiters.shift();
    if (w)
      w(); // the slot passes straight to the next waiter
    else this.used--;
  }
  get inUse(): number {
    return this.used;
  }
}
