/**
 * The delivery loop shared by massive sends (send-campaign.ts) and transactional sends (send-transactional.ts):
 * render each recipient's message, hand it to the pooled transport with `concurrency` messages in flight, and
 * record the outcome of one page at a time.
 *
 * - 2xx: a `sent` event (internal message and sending ids, the relay's message id), written per page.
 * - 5xx: permanent. The hard bounce goes through `recordEvents` (http/events.service.ts), the same write path as
 *   a bounce received over HTTP, so the same status rules apply: the recipient is unsubscribed from every list
 *   of the account on the email channel with an `8x` type (hardBounceType of the reply's enhanced code).
 * - 4xx or no answer: temporary; retried `maxRetries` times with a growing delay, then the page stops and the
 *   caller fails the send (the events of the page's finished messages are still written).
 */
import type { Clock } from '../clock.js';
import { DatasyncError } from '../errors.js';
import { hardBounceType, recordEvents, type IngestEventInput, type TrackingLinks } from '../http/index.js';
import { findSendingById, insertEvents, listFields, type NewEventRow, type Store } from '../store/index.js';
import { findMessageById } from '../store/email-sendings.repository.js';
import { smtpResponseCode, type EmailTransport } from './email-transport.js';
import type { FieldValues } from './personalize.js';
import {
  decodeAttachments,
  renderMessage,
  type MessageTemplate,
  type RenderOptions,
  type RenderedMessage,
} from './render-message.js';

export interface SendRate {
  /** Messages in flight at once (match the transport's pooled connections). Default 5. */
  concurrency?: number;
  /** Upper bound of messages started per second; 0 or absent = as fast as the transport takes them. */
  messagesPerSecond?: number;
  /** Retries of a 4xx answer or a connection failure. Default 3. */
  maxRetries?: number;
  /** Delay before retry n is n × this. Default 2000 ms. */
  retryDelayMs?: number;
}

/** One message to send: the recipient it is recorded against, its address and its placeholder values. */
export interface Delivery {
  recipientId: number;
  email: string;
  values: FieldValues;
}

export interface DeliveryContext {
  store: Store;
  transport: EmailTransport;
  links: TrackingLinks;
  clock: Clock;
  sending: { id: number; number: number; accountId: string; listId: number | null; messageId: number };
  template: MessageTemplate;
  /** Decoded once per send, shared by every message. */
  attachments: RenderedMessage['attachments'];
  render?: RenderOptions;
  rate?: SendRate;
}

export interface PageOutcome {
  sent: number;
  bounced: number;
  /** The error that stopped the page (a relay that kept failing), if any. */
  stop?: unknown;
}

/** A pacing function for `rate.messagesPerSecond`; create one per send and pass it to every page. */
export type Pace = () => Promise<void>;

export async function deliverPage(ctx: DeliveryContext, todo: Delivery[], pace: Pace): Promise<PageOutcome> {
  const { sending, clock } = ctx;
  const rate = ctx.rate ?? {};
  const concurrency = Math.max(1, rate.concurrency ?? 5);
  const maxRetries = rate.maxRetries ?? 3;
  const retryDelayMs = rate.retryDelayMs ?? 2000;
  const out: PageOutcome = { sent: 0, bounced: 0 };
  const sent: NewEventRow[] = [];
  const bounces: IngestEventInput[] = [];
  let next = 0;
  const worker = async () => {
    while (next < todo.length && out.stop === undefined) {
      const d = todo[next++]!;
      await pace();
      const msg = renderMessage(
        ctx.template,
        { id: d.recipientId, email: d.email, values: d.values },
        sending.id,
        ctx.links,
        ctx.render,
        ctx.attachments,
      );
      for (let attempt = 0; ; attempt++) {
        try {
          const info = await ctx.transport.sendMail(msg);
          const at = clock.now().toISOString();
          sent.push({
            account_id: sending.accountId,
            kind: 'sent',
            channel: 'email',
            recipient_id: d.recipientId,
            list_id: sending.listId,
            message_id: sending.messageId,
            sending_id: sending.id,
            url: null,
            code: null,
            detail: null,
            provider_message_id: info.messageId ?? null,
            ip: null,
            user_agent: null,
            idempotency_key: null,
            occurred_at: at,
            recorded_at: at,
          });
          out.sent++;
          break;
        } catch (e) {
          const code = smtpResponseCode(e);
          if (code !== undefined && code >= 500) {
            const type = hardBounceType(smtpResponse(e));
            bounces.push({
              kind: 'bounce',
              bounceType: 'hard',
              recipientId: d.recipientId,
              idInvio: sending.number,
              code: String(code),
              // Only a specific 8x type (from an enhanced code such as 5.1.1); else the rules' default.
              ...(type !== '80' ? { optoutType: type } : {}),
              occurredAt: clock.now().toISOString(),
            });
            out.bounced++;
            break;
          }
          if (attempt >= maxRetries) {
            out.stop = e;
            break;
          }
          await delay(retryDelayMs * (attempt + 1));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  if (sent.length) await insertEvents(ctx.store.db, sent, ctx.store.dialect.maxParameters);
  if (bounces.length) {
    const r = await recordEvents(ctx.store, sending.accountId, bounces, { clock });
    // Every bounce names an existing recipient and sending: a rejection here is a bug, not bad input.
    if (r.rejected.length) throw new Error(`bounce events rejected: ${JSON.stringify(r.rejected[0])}`);
  }
  return out;
}

/** The relay's reply text (`550 5.1.1 No such user`), which nodemailer keeps on the error. */
function smtpResponse(e: unknown): string | undefined {
  const r = (e as { response?: unknown } | null)?.response;
  return typeof r === 'string' ? r : undefined;
}

export function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/** Start at most `perSecond` sends per second (evenly spaced); no limit when absent. */
export function pacer(perSecond: number | undefined): Pace {
  if (!perSecond || perSecond <= 0) return () => Promise.resolve();
  const gap = 1000 / perSecond;
  let nextAt = 0;
  return () => {
    const now = Date.now();
    const at = Math.max(now, nextAt);
    nextAt = at + gap;
    return delay(at - now);
  };
}

const SENDABLE = new Set(['queued', 'running', 'failed']);

/** A sending that may be sent now, with its message as a template and the account's field names. */
export async function loadSendable(store: Store, sendingId: number) {
  const db = store.db;
  const sending = await findSendingById(db, sendingId);
  if (!sending || sending.channel !== 'email' || !SENDABLE.has(sending.status))
    throw new DatasyncError(
      'DS_EMAIL_SENDING_STATE',
      sending
        ? `sending ${sending.number} (${sending.channel}, ${sending.status}) cannot be sent as an email campaign`
        : `sending ${sendingId} does not exist`,
    );
  const message = await findMessageById(db, sending.messageId);
  if (!message?.senderEmail)
    throw new DatasyncError(
      'DS_EMAIL_SENDING_STATE',
      `message ${sending.messageNumber} has no sender address, so it cannot be sent`,
    );
  const template: MessageTemplate = {
    subject: message.subject ?? '',
    html: message.html,
    text: message.text,
    senderEmail: message.senderEmail,
    senderName: message.senderName,
    replyTo: message.replyTo,
    attachments: message.attachments,
  };
  const fieldNames = new Map((await listFields(db, sending.accountId)).map((f) => [f.fieldId, f.name]));
  return { sending, template, attachments: decodeAttachments(template.attachments), fieldNames };
}

/** What every page of one send shares: the loaded sending and template plus the caller's transport and options. */
export function deliveryContext(
  input: {
    store: Store;
    transport: EmailTransport;
    links: TrackingLinks;
    render?: RenderOptions;
    rate?: SendRate;
  },
  loaded: Pick<Awaited<ReturnType<typeof loadSendable>>, 'sending' | 'template' | 'attachments'>,
  clock: Clock,
): DeliveryContext {
  const { sending } = loaded;
  return {
    store: input.store,
    transport: input.transport,
    links: input.links,
    clock,
    sending: {
      id: sending.id,
      number: sending.number,
      accountId: sending.accountId,
      listId: sending.listId,
      messageId: sending.messageId,
    },
    template: loaded.template,
    attachments: loaded.attachments,
    render: input.render,
    rate: input.rate,
  };
}

/** The error of a send stopped by its relay (DatasyncErrors pass through). */
export function sendStopped(e: unknown, sendingNumber: number, sent: number): DatasyncError {
  if (e instanceof DatasyncError) return e;
  const code = smtpResponseCode(e);
  return new DatasyncError(
    'DS_EMAIL_SEND_FAILED',
    `sending ${sendingNumber} stopped after ${sent} message(s): the SMTP relay did not take the messages` +
      (code ? ` (reply ${code})` : ''),
    { cause: e },
  );
}
