/**
 * A transactional send (reference §5.3): the given deliveries, now, once each — not the subscribers of a list.
 * Each delivery carries its own placeholder values (the row of Recipients.csv, extra columns included), which
 * are used for this message only and never stored. The sending must exist (its recipients are the explicit
 * recipients of the deliveries) and be `queued`; it ends `sent`, or `failed` when the relay stops taking
 * messages. Outcomes are recorded as for a massive send (deliver.ts): `sent` events, and hard bounces through
 * the status rules.
 *
 * A transactional send is not resumable: the values live only in the archive's rows, so a failed send is
 * reported (the job fails) rather than continued; `sent` events say who already got the message.
 */
import { systemClock, type Clock } from '../clock.js';
import type { TrackingLinks } from '../http/index.js';
import type { Logger } from '../logger.js';
import type { Store } from '../store/index.js';
import { updateEmailSending } from '../store/email-sendings.repository.js';
import {
  deliverPage,
  deliveryContext,
  loadSendable,
  pacer,
  sendStopped,
  type Delivery,
  type SendRate,
} from './deliver.js';
import type { EmailTransport } from './email-transport.js';
import type { RenderOptions } from './render-message.js';

export interface SendTransactionalInput {
  store: Store;
  /** Internal `sendings.id` (a `queued` email sending). */
  sendingId: number;
  deliveries: Delivery[];
  transport: EmailTransport;
  links: TrackingLinks;
  rate?: SendRate;
  render?: RenderOptions;
  clock?: Clock;
  logger?: Logger;
  /** Messages whose events are written together. Default 500. */
  pageSize?: number;
}

export interface SendTransactionalResult {
  sendingId: number;
  sent: number;
  bounced: number;
}

export async function sendTransactional(input: SendTransactionalInput): Promise<SendTransactionalResult> {
  const { store } = input;
  const clock = input.clock ?? systemClock;
  const pageSize = input.pageSize ?? 500;
  const { sending, template, attachments } = await loadSendable(store, input.sendingId);
  const result: SendTransactionalResult = { sendingId: sending.id, sent: 0, bounced: 0 };
  await updateEmailSending(store.db, sending.id, { status: 'running', startedAt: clock.now().toISOString() });
  const ctx = deliveryContext(input, { sending, template, attachments }, clock);
  const pace = pacer(input.rate?.messagesPerSecond);
  try {
    for (let i = 0; i < input.deliveries.length; i += pageSize) {
      const out = await deliverPage(ctx, input.deliveries.slice(i, i + pageSize), pace);
      result.sent += out.sent;
      result.bounced += out.bounced;
      if (out.stop !== undefined) throw out.stop;
    }
  } catch (e) {
    input.logger?.error({ err: e, sendingId: sending.id }, 'transactional send stopped');
    await updateEmailSending(store.db, sending.id, { status: 'failed', counters: { ...result } });
    throw sendStopped(e, sending.number, result.sent);
  }
  await updateEmailSending(store.db, sending.id, {
    status: 'sent',
    endedAt: clock.now().toISOString(),
    counters: { ...result },
  });
  return result;
}
