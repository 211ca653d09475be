/**
 * Sending one email sending (`idInvio`) to its recipients.
 *
 * - Targets: recipients with an email address subscribed on the email channel of the sending's list (and in
 *   its group, when it names one), read in pages in id order — memory stays flat whatever the list size.
 * - Per recipient: render (render-message.ts), hand to the pooled transport. A 4xx answer is temporary and
 *   retried (`maxRetries`, growing delay); a 5xx answer is permanent: a `bounce` event (`detail` `hard`,
 *   `code` = the SMTP reply code) and the send goes on. A transport that cannot reach the relay after its
 *   retries stops the send (DS_EMAIL_SEND_FAILED); the sending is left `failed` and can be resumed.
 * - Every accepted message records a `sent` event (internal message and sending ids). Events are written per
 *   page; a resumed send skips recipients that already have a `sent` or `bounce` event of this sending, so
 *   nobody is mailed twice by a resume (at most the messages of the page in flight at a crash are repeated).
 */
import { systemClock, type Clock } from '../clock.js';
import { DatasyncError } from '../errors.js';
import type { TrackingLinks } from '../http/index.js';
import type { Logger } from '../logger.js';
import { findSendingById, insertEvents, listFields, type NewEventRow, type Store } from '../store/index.js';
import {
  findMessageById,
  handledRecipientIds,
  listEmailTargets,
  updateEmailSending,
} from '../store/email-sendings.repository.js';
import { smtpResponseCode, type EmailTransport } from './email-transport.js';
import { recipientValues } from './personalize.js';
import {
  decodeAttachments,
  renderMessage,
  type MessageTemplate,
  type RenderOptions,
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

export interface SendCampaignInput {
  store: Store;
  /** Internal `sendings.id`. */
  sendingId: number;
  transport: EmailTransport;
  links: TrackingLinks;
  rate?: SendRate;
  render?: RenderOptions;
  clock?: Clock;
  logger?: Logger;
  /** Recipients read per page (and events written per transaction). Default 500. */
  pageSize?: number;
}

export interface SendCampaignResult {
  sendingId: number;
  /** Recipients targeted by this run (already handled ones excluded). */
  targeted: number;
  sent: number;
  bounced: number;
  /** Recipients handled by an earlier run of the same sending. */
  alreadyHandled: number;
}

const SENDABLE = new Set(['queued', 'running', 'failed']);

export async function sendCampaign(input: SendCampaignInput): Promise<SendCampaignResult> {
  const { store, transport, links } = input;
  const db = store.db;
  const clock = input.clock ?? systemClock;
  const rate = input.rate ?? {};
  const concurrency = Math.max(1, rate.concurrency ?? 5);
  const maxRetries = rate.maxRetries ?? 3;
  const retryDelayMs = rate.retryDelayMs ?? 2000;
  const pageSize = input.pageSize ?? 500;

  const sending = await findSendingById(db, input.sendingId);
  if (!sending || sending.channel !== 'email' || !SENDABLE.has(sending.status))
    throw new DatasyncError(
      'DS_EMAIL_SENDING_STATE',
      sending
        ? `sending ${sending.number} (${sending.channel}, ${sending.status}) cannot be sent as an email campaign`
        : `sending ${input.sendingId} does not exist`,
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
  const attachments = decodeAttachments(template.attachments);
  const fieldNames = new Map((await listFields(db, sending.accountId)).map((f) => [f.fieldId, f.name]));
  const handled = await handledRecipientIds(db, sending.id);
  const result: SendCampaignResult = {
    sendingId: sending.id,
    targeted: 0,
    sent: 0,
    bounced: 0,
    alreadyHandled: handled.size,
  };
  await updateEmailSending(db, sending.id, {
    status: 'running',
    startedAt: sending.status === 'queued' ? clock.now().toISOString() : undefined,
  });

  const pace = pacer(rate.messagesPerSecond);
  const target = {
    accountId: sending.accountId,
    sendingId: sending.id,
    listId: sending.listId,
    groupId: sending.groupId,
  };
  let afterId = 0;
  try {
    for (;;) {
      const page = await listEmailTargets(db, target, afterId, pageSize);
      if (page.length === 0) break;
      afterId = page[page.length - 1]!.id;
      const todo = page.filter((r) => !handled.has(r.id));
      result.targeted += todo.length;
      const events: NewEventRow[] = [];
      const event = (kind: 'sent' | 'bounce', recipientId: number, extra: Partial<NewEventRow>) => {
        const at = clock.now().toISOString();
        events.push({
          account_id: sending.accountId,
          kind,
          channel: 'email',
          recipient_id: recipientId,
          list_id: sending.listId,
          message_id: sending.messageId,
          sending_id: sending.id,
          url: null,
          code: null,
          detail: null,
          provider_message_id: null,
          ip: null,
          user_agent: null,
          idempotency_key: null,
          occurred_at: at,
          recorded_at: at,
          ...extra,
        });
      };
      let next = 0;
      let stop: unknown;
      const worker = async () => {
        while (next < todo.length && stop === undefined) {
          const r = todo[next++]!;
          await pace();
          const msg = renderMessage(
            template,
            { id: r.id, email: r.email!, values: recipientValues(r, fieldNames) },
            sending.id,
            links,
            input.render,
            attachments,
          );
          for (let attempt = 0; ; attempt++) {
            try {
              const info = await transport.sendMail(msg);
              event('sent', r.id, { provider_message_id: info.messageId ?? null });
              result.sent++;
              break;
            } catch (e) {
              const code = smtpResponseCode(e);
              if (code !== undefined && code >= 500) {
                event('bounce', r.id, { detail: 'hard', code: String(code) });
                result.bounced++;
                break;
              }
              if (attempt >= maxRetries) {
                stop = e;
                break;
              }
              await delay(retryDelayMs * (attempt + 1));
            }
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
      if (events.length) await insertEvents(db, events, store.dialect.maxParameters);
      if (stop !== undefined) throw stop;
    }
  } catch (e) {
    input.logger?.error({ err: e, sendingId: sending.id }, 'email send stopped');
    await updateEmailSending(db, sending.id, { status: 'failed', counters: { ...result } });
    if (e instanceof DatasyncError) throw e;
    throw new DatasyncError(
      'DS_EMAIL_SEND_FAILED',
      `sending ${sending.number} stopped after ${result.sent} message(s): the SMTP relay did not take the messages` +
        (smtpResponseCode(e) ? ` (reply ${smtpResponseCode(e)})` : ''),
      { cause: e },
    );
  }
  await updateEmailSending(db, sending.id, {
    status: 'sent',
    endedAt: clock.now().toISOString(),
    counters: { ...result },
  });
  return result;
}

function delay(ms: number): Promise<void> {
  return ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve();
}

/** Start at most `perSecond` sends per second (evenly spaced); no limit when absent. */
function pacer(perSecond: number | undefined): () => Promise<void> {
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
