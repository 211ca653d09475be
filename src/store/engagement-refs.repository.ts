/**
 * Customer numbers → internal ids, for events that arrive from outside (HTTP ingestion, `datasync events add`,
 * SMS delivery-report hooks). Events store internal ids (`events.message_id` = `messages.id`, `sending_id` =
 * `sendings.id`), but ingestion speaks the customer's numbers (`idNl` / `idSMS`, `idInvio`), and may name
 * messages an external platform sent, which datasync never saw. Those get a `messages` row (subject null) and a
 * `sendings` row (status `sent`), so the statistics export can still name them.
 *
 * Everything is batched: a chunk of events costs a few `IN (…)` selects, at most three counter updates and a
 * few multi-row inserts, whatever its size.
 *
 * Races, and why the order of the statements matters:
 * - two ingestion batches naming the same unknown number: both insert with `ON CONFLICT DO NOTHING` on the
 *   unique keys (`messages_number_uq`, `sendings_number_uq`) and read the row back, so both resolve to the one
 *   row that won; on PostgreSQL the loser's insert waits for the winner's commit, then its re-select sees it;
 * - a number created here must never be handed out later by `engagement_counters` (createMessage /
 *   createSending): the counter is raised to the number first (`nextEngagementNumber(…, atLeast)`), then the
 *   row is inserted, all in one transaction. The counter upsert row-locks the counter until commit, and
 *   createMessage / createSending take the same lock in their own transaction, so the two serialise: either
 *   datasync's message with that number exists before our insert (we resolve to it) or the counter is past it
 *   before datasync's next number. Counters are always locked in the same order (idNl, idSMS, idInvio) so two
 *   ingestion transactions cannot deadlock.
 */
import type { Db } from './accounts.js';
import { nextEngagementNumber, type EngagementNumberName } from './engagement-messages.repository.js';
import { CHANNELS, type Channel } from './tables.js';

/** A message as the customer names it: `idNl` (email) or `idSMS` (SMS). */
export interface MessageNumberRef {
  channel: Channel;
  number: number;
}

/** A sending as the customer names it (`idInvio`), with what is needed to create it when it is unknown. */
export interface SendingNumberRef {
  number: number;
  /** The message the event names next to it; an unknown sending is created only when it has one (its message row is required). */
  message?: MessageNumberRef;
  /** `idList` of the event, recorded on a created sending. */
  listId?: number | null;
  /** When the batch says it was sent (a `sent` event): `started_at` of a created sending, the export's `sentDate`. */
  startedAt?: string | null;
}

/** A sending with its internal ids and numbers. */
export interface ResolvedSending {
  /** `sendings.id`. */
  id: number;
  /** `idInvio`. */
  number: number;
  /** `messages.id` of its message. */
  messageId: number;
  channel: Channel;
  /** `idNl` / `idSMS` of its message. */
  messageNumber: number;
  listId: number | null;
}

export interface ResolvedRefs {
  /** `messageRefKey(channel, number)` → `messages.id`. */
  messages: Map<string, number>;
  /** `idInvio` → the sending; absent when it is unknown and came without a message number. */
  sendings: Map<number, ResolvedSending>;
}

export const messageRefKey = (channel: Channel, number: number): string => `${channel}:${number}`;

/** Keys per `IN (…)` and rows per insert: far below both dialects' parameter limits. */
const CHUNK = 1000;

function chunks<T>(a: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < a.length; i += CHUNK) out.push(a.slice(i, i + CHUNK));
  return out;
}

const counterOf = (channel: Channel): EngagementNumberName => (channel === 'email' ? 'idNl' : 'idSMS');

async function selectMessages(
  db: Db,
  accountId: string,
  refs: readonly MessageNumberRef[],
  into: Map<string, number>,
): Promise<void> {
  for (const channel of CHANNELS) {
    const numbers = [...new Set(refs.filter((r) => r.channel === channel).map((r) => r.number))];
    for (const part of chunks(numbers)) {
      const rows = await db
        .selectFrom('messages')
        .select(['id', 'message_number'])
        .where('account_id', '=', accountId)
        .where('channel', '=', channel)
        .where('message_number', 'in', part)
        .execute();
      for (const r of rows) into.set(messageRefKey(channel, r.message_number), r.id);
    }
  }
}

async function selectSendings(
  db: Db,
  accountId: string,
  numbers: readonly number[],
  into: Map<number, ResolvedSending>,
): Promise<void> {
  for (const part of chunks([...new Set(numbers)])) {
    const rows = await db
      .selectFrom('sendings')
      .innerJoin('messages', 'messages.id', 'sendings.message_id')
      .select([
        'sendings.id',
        'sendings.sending_number',
        'sendings.message_id',
        'sendings.list_id',
        'messages.channel',
        'messages.message_number',
      ])
      .where('sendings.account_id', '=', accountId)
      .where('sendings.sending_number', 'in', part)
      .execute();
    for (const r of rows)
      into.set(r.sending_number, {
        id: r.id,
        number: r.sending_number,
        messageId: r.message_id,
        channel: r.channel,
        messageNumber: r.message_number,
        listId: r.list_id,
      });
  }
}

/**
 * Resolve the numbers a batch of events names to internal ids, creating the messages and sendings datasync
 * does not know yet. Runs in its own transaction when given a plain handle; give it a transaction to make the
 * rows part of a larger unit (its counter locks are then held until that one commits).
 */
export async function resolveEngagementRefs(
  db: Db,
  accountId: string,
  refs: { messages: readonly MessageNumberRef[]; sendings: readonly SendingNumberRef[] },
  at: string,
): Promise<ResolvedRefs> {
  const out: ResolvedRefs = { messages: new Map(), sendings: new Map() };
  if (refs.messages.length === 0 && refs.sendings.length === 0) return out;
  // Reads first, outside any transaction: the common case (everything known) takes no lock at all.
  await selectSendings(
    db,
    accountId,
    refs.sendings.map((s) => s.number),
    out.sendings,
  );
  const unknownSendings = mergeSendingRefs(refs.sendings.filter((s) => !out.sendings.has(s.number)));
  const wanted = [...refs.messages, ...unknownSendings.flatMap((s) => (s.message ? [s.message] : []))];
  await selectMessages(db, accountId, wanted, out.messages);
  const missingMessages = uniqueMessages(
    wanted.filter((m) => !out.messages.has(messageRefKey(m.channel, m.number))),
  );
  // Key order in every insert, so two writers never take the same unique keys in opposite orders.
  const creatable = unknownSendings.filter((s) => s.message).sort((a, b) => a.number - b.number);
  if (missingMessages.length === 0 && creatable.length === 0) return out;
  const create = (trx: Db) => createMissing(trx, accountId, missingMessages, creatable, at, out);
  if (db.isTransaction) await create(db);
  else await db.transaction().execute(create);
  return out;
}

async function createMissing(
  db: Db,
  accountId: string,
  messages: MessageNumberRef[],
  sendings: SendingNumberRef[],
  at: string,
  out: ResolvedRefs,
): Promise<void> {
  // Counters first (fixed order: idNl, idSMS, idInvio), then rows: see the header.
  for (const channel of CHANNELS) {
    const numbers = messages.filter((m) => m.channel === channel).map((m) => m.number);
    if (numbers.length) await nextEngagementNumber(db, accountId, counterOf(channel), Math.max(...numbers));
  }
  if (sendings.length)
    await nextEngagementNumber(db, accountId, 'idInvio', Math.max(...sendings.map((s) => s.number)));

  for (const part of chunks(messages))
    await db
      .insertInto('messages')
      .values(
        part.map((m) => ({
          account_id: accountId,
          message_number: m.number,
          channel: m.channel,
          list_id: null,
          subject: null,
          html: null,
          text: null,
          sender_email: null,
          sender_name: null,
          reply_to: null,
          attachments_json: null,
          campaign_code: null,
          created_at: at,
        })),
      )
      .onConflict((oc) => oc.columns(['account_id', 'channel', 'message_number']).doNothing())
      .execute();
  // Re-read: a row another writer inserted first is as good as ours.
  await selectMessages(db, accountId, messages, out.messages);

  const rows = sendings.flatMap((s) => {
    const messageId = out.messages.get(messageRefKey(s.message!.channel, s.message!.number));
    if (messageId === undefined) return [];
    return [
      {
        account_id: accountId,
        sending_number: s.number,
        message_id: messageId,
        list_id: s.listId ?? null,
        group_id: null,
        // Sent elsewhere: nothing for datasync's engines to pick up.
        status: 'sent',
        scheduled_at: null,
        started_at: s.startedAt ?? null,
        ended_at: null,
        counters_json: null,
        created_at: at,
      },
    ];
  });
  for (const part of chunks(rows))
    await db
      .insertInto('sendings')
      .values(part)
      .onConflict((oc) => oc.columns(['account_id', 'sending_number']).doNothing())
      .execute();
  await selectSendings(
    db,
    accountId,
    sendings.map((s) => s.number),
    out.sendings,
  );
}

function uniqueMessages(refs: readonly MessageNumberRef[]): MessageNumberRef[] {
  const seen = new Map<string, MessageNumberRef>();
  for (const r of refs) seen.set(messageRefKey(r.channel, r.number), r);
  return [...seen.values()].sort((a, b) => a.channel.localeCompare(b.channel) || a.number - b.number);
}

/**
 * One ref per `idInvio`: the first message named with it wins (events of one sending name one message), the
 * first list too, and the earliest `sent` time.
 */
function mergeSendingRefs(refs: readonly SendingNumberRef[]): SendingNumberRef[] {
  const by = new Map<number, SendingNumberRef>();
  for (const r of refs) {
    const cur = by.get(r.number);
    if (!cur) {
      by.set(r.number, { ...r });
      continue;
    }
    cur.message ??= r.message;
    cur.listId ??= r.listId;
    if (r.startedAt && (!cur.startedAt || r.startedAt < cur.startedAt)) cur.startedAt = r.startedAt;
  }
  return [...by.values()];
}
