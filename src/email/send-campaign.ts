/**
 * Sending one email sending (`idInvio`) to its recipients (a massive send).
 *
 * - Targets: recipients with an email address subscribed on the email channel of the sending's list (and in
 *   its group, when it names one), read in pages in id order — memory stays flat whatever the list size.
 * - Per recipient: deliver.ts — render, hand to the pooled transport; 4xx retried, 5xx a hard bounce through
 *   the status rules (the recipient is unsubscribed) and the send goes on. A relay that keeps failing stops the
 *   send (DS_EMAIL_SEND_FAILED); the sending is left `failed` and can be resumed.
 * - Every accepted message records a `sent` event (internal message and sending ids). Events are written per
 *   page; a resumed send skips recipients that already have a `sent` or `bounce` event of this sending, so
 *   nobody is mailed twice by a resume (at most the messages of the page in flight at a crash are repeated).
 */
import { systemClock, type Clock } from '../clock.js';
import type { TrackingLinks } from '../http/index.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import {
  handledRecipientIds,
  listEmailTargets,
  updateEmailSending,
} from '../store/email-sendings.repository.js';
import { deliverPage, deliveryContext, loadSendable, pacer, sendStopped, type SendRate } from './deliver.js';
import type { EmailTransport } from './email-transport.js';
import { recipientValues } from './personalize.js';
import type { RenderOptions } from './render-message.js';

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

export async function sendCampaign(input: SendCampaignInput): Promise<SendCampaignResult> {
  const { store } = input;
  const db = store.db;
  const clock = input.clock ?? systemClock;
  const pageSize = input.pageSize ?? 500;
  const { sending, template, attachments, fieldNames } = await loadSendable(store, input.sendingId);
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

  const pace = pacer(input.rate?.messagesPerSecond);
  const target = {
    accountId: sending.accountId,
    sendingId: sending.id,
    listId: sending.listId,
    groupId: sending.groupId,
  };
  const ctx = deliveryContext(input, { sending, template, attachments }, clock);
  let afterId = 0;
  try {
    for (;;) {
      const page = await listEmailTargets(db, target, afterId, pageSize);
      if (page.length === 0) break;
      afterId = page[page.length - 1]!.id;
      const todo = page.filter((r) => !handled.has(r.id));
      result.targeted += todo.length;
      const out = await deliverPage(
        ctx,
        todo.map((r) => ({ recipientId: r.id, email: r.email!, values: recipientValues(r, fieldNames) })),
        pace,
      );
      result.sent += out.sent;
      result.bounced += out.bounced;
      if (out.stop !== undefined) throw out.stop;
    }
  } catch (e) {
    input.logger?.error({ err: e, sendingId: sending.id }, 'email send stopped');
    await updateEmailSending(db, sending.id, { status: 'failed', counters: { ...result } });
    throw sendStopped(e, sending.number, result.sent);
  }
  await updateEmailSending(db, sending.id, {
    status: 'sent',
    endedAt: clock.now().toISOString(),
    counters: { ...result },
  });
  return result;
}
