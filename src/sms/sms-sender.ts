/**
 * Sends an outbox through a provider and records what happened.
 *
 * `provider.concurrency` workers take messages in order and submit them; results are buffered and committed
 * every `commitEvery` messages as `sent` / `sms_status NACK` events plus the sending's counters, in one
 * transaction, while the workers go on submitting (the commit is pipelined, not a barrier). After each commit
 * the delivery-report recorder retries receipts that arrived before their `sent` event.
 *
 * Resume: every event carries the idempotency key `sent|nack:<sendingId>:<recipientId>`, and a resumed send
 * skips recipients that already have one, so a message is never recorded twice. A crash between a submit and
 * its commit re-sends at most the uncommitted messages (at-least-once, as SMPP itself is).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { NewEventRow, Store } from '../store/index.js';
import {
  insertSmsEvents,
  listSmsSendingEvents,
  updateSmsSending,
  type SmsSendingCounters,
} from '../store/sms-campaigns.repository.js';
import type { DeliveryReportRecorder } from './delivery-report.js';
import { segmentText } from './sms-encoding.js';
import type { SmsProvider, SmsSubmitResult } from './sms-provider.js';

/** One message to send (compact: the outbox is stored in the job record). */
export interface OutboxItem {
  /** File line. */
  l: number;
  /** Recipient id. */
  r: number;
  /** Mobile, international digits. */
  m: string;
  /** Text with placeholders replaced. */
  t: string;
  /** 1 = UCS-2 forced by the UNICODE column. */
  u: 0 | 1;
}

export interface SendTarget {
  accountId: string;
  listId: number;
  messageId: number;
  sendingId: number;
  sender: string;
  senderKind: 'alphanumeric' | 'numeric';
}

export interface SendOutcome {
  counters: SmsSendingCounters;
  /** Set when the send stopped early (provider unavailable, throttled for too long, database error). */
  error: unknown;
}

export async function sendOutbox(input: {
  store: Store;
  provider: SmsProvider;
  target: SendTarget;
  outbox: OutboxItem[];
  counters: SmsSendingCounters;
  clock: Clock;
  logger?: Logger;
  recorder?: DeliveryReportRecorder;
  /** Messages per commit. Default 500. */
  commitEvery?: number;
}): Promise<SendOutcome> {
  const { store, provider, target, outbox, clock } = input;
  const commitEvery = input.commitEvery ?? 500;
  const counters = { ...input.counters };
  // Recipients already done by an earlier run of this send (resume).
  const done = new Set<number>();
  for (const e of await listSmsSendingEvents(store.db, target.sendingId))
    if (e.recipientId !== null && (e.kind === 'sent' || e.code === 'NACK')) done.add(e.recipientId);
  const todo = outbox.filter((o) => !done.has(o.r));

  let buffer: NewEventRow[] = [];
  let chain: Promise<void> = Promise.resolve();
  // A failed submit stops the workers; a failed commit stops everything (later commits would lie).
  let stopError: unknown = null;
  let commitError: unknown = null;
  const commit = () => {
    if (buffer.length === 0) return;
    const rows = buffer;
    buffer = [];
    const snapshot = { ...counters, next: counters.next };
    chain = chain.then(async () => {
      if (commitError) return;
      try {
        await store.db.transaction().execute(async (trx) => {
          await insertSmsEvents(trx, rows, { ignoreDuplicates: true });
          await updateSmsSending(trx, target.sendingId, { counters: snapshot });
        });
        await input.recorder?.flush();
      } catch (e) {
        commitError ??= e;
      }
    });
  };

  const event = (item: OutboxItem, r: SmsSubmitResult, parts: number, encoding: string): NewEventRow => {
    const now = clock.now().toISOString();
    const base = {
      account_id: target.accountId,
      channel: 'sms' as const,
      recipient_id: item.r,
      list_id: target.listId,
      message_id: target.messageId,
      sending_id: target.sendingId,
      url: null,
      ip: null,
      user_agent: null,
      occurred_at: now,
      recorded_at: now,
    };
    return r.ok
      ? {
          ...base,
          kind: 'sent',
          code: null,
          detail: `${encoding}:${parts}`,
          provider_message_id: r.providerMessageId,
          idempotency_key: `sent:${target.sendingId}:${item.r}`,
        }
      : {
          ...base,
          kind: 'sms_status',
          code: 'NACK',
          detail: `${r.status}: ${r.reason}`.slice(0, 500),
          provider_message_id: null,
          idempotency_key: `nack:${target.sendingId}:${item.r}`,
        };
  };

  let idx = 0;
  const worker = async () => {
    while (!stopError && !commitError && idx < todo.length) {
      const item = todo[idx++]!;
      const seg = segmentText(item.t, item.u === 1);
      let r: SmsSubmitResult;
      try {
        r = await provider.submit({
          to: item.m,
          from: target.sender,
          senderKind: target.senderKind,
          text: item.t,
          encoding: seg.encoding,
          segments: seg.segments,
          reference: `${target.sendingId}:${item.l}`,
        });
      } catch (e) {
        stopError ??= e;
        return;
      }
      if (r.ok) {
        counters.sent++;
        counters.parts += seg.parts;
      } else counters.refused++;
      counters.next++;
      buffer.push(event(item, r, seg.parts, seg.encoding));
      if (buffer.length >= commitEvery) commit();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, provider.concurrency) }, worker));
  // What was submitted before a failure is still recorded, so a resume does not send it again.
  commit();
  await chain;
  if (commitError) input.logger?.error({ err: commitError }, 'csv2sms: recording sent messages failed');
  return { counters, error: commitError ?? stopError };
}
