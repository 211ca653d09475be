/**
 * Engagement events and the subscription changes they cause. Everything here is batched: tracking writes
 * opens and clicks in group commits, ingestion writes hundreds of events per transaction.
 *
 * Event columns, as the exports read them (tables.ts `EventTable`):
 * - `message_id` = `messages.id`, `sending_id` = `sendings.id` (internal ids, as everywhere: the exports join
 *   `messages` for `idNl` / `idSMS` and the subject, `sendings` for `idInvio`); `list_id` = `idList`.
 *   Ingested events name customer numbers; engagement-refs.repository.ts resolves them, creating the rows of
 *   messages sent elsewhere;
 * - `bounce`: `detail` = `hard` | `soft`, `code` = the bounce code given (SMTP status or text);
 * - `unsubscribe`: `code` = the unsubscribe type of reference §3.4.1 (`2`, `32`, `80`, `16`, `512`…);
 * - `click`: `url` = the clicked URL;
 * - `sms_status`: `detail` = DELIVERED | QUEUED | FAILED | UNKNOWN | NACK | UNDELIV | REJECTD | EXPIRED,
 *   `code` = the provider's own status / error code.
 */
import type { Db } from './accounts.js';
import type { Channel, NewEventRow } from './tables.js';

/** Columns of one events row, so a multi-row insert stays under the dialect's parameter limit. */
const EVENT_COLUMNS = 17;

/** Insert event rows in as few statements as the parameter limit allows. */
export async function insertEvents(db: Db, rows: NewEventRow[], maxParameters = 30_000): Promise<void> {
  const per = Math.max(1, Math.floor(maxParameters / EVENT_COLUMNS));
  for (let i = 0; i < rows.length; i += per)
    await db
      .insertInto('events')
      .values(rows.slice(i, i + per))
      .execute();
}

/**
 * Claim idempotency keys: returns the keys that were new (and are now taken). Run it in the same
 * transaction as the work the keys stand for, so a rolled-back batch releases them.
 */
export async function claimEventKeys(
  db: Db,
  accountId: string,
  keys: string[],
  recordedAt: string,
): Promise<Set<string>> {
  const fresh = new Set<string>();
  const unique = [...new Set(keys)];
  for (let i = 0; i < unique.length; i += 1000) {
    const rows = await db
      .insertInto('event_keys')
      .values(
        unique
          .slice(i, i + 1000)
          .map((k) => ({ account_id: accountId, idempotency_key: k, recorded_at: recordedAt })),
      )
      .onConflict((oc) => oc.columns(['account_id', 'idempotency_key']).doNothing())
      .returning('idempotency_key')
      .execute();
    for (const r of rows) fresh.add(r.idempotency_key);
  }
  return fresh;
}

export interface OptoutInput {
  accountId: string;
  recipientId: number;
  channel: Channel;
  /** The lists to unsubscribe from; `all` = every list of the account where the recipient has this channel. */
  lists: number[] | 'all';
  /** Unsubscribe type code of reference §3.4.1. */
  optoutType: string;
  /** `messages.id` of the message that caused it (the export shows its `idNl` as `optout_nl`). */
  messageId?: number | null;
  /** `sendings.id`. */
  sendingId?: number | null;
  ip?: string | null;
  userAgent?: string | null;
  /** When the recipient acted (the export's `OptOut_Date`). */
  occurredAt: string;
  /** When datasync learnt it: `updated_at`, so a late-ingested event still lands in the next export window. */
  recordedAt: string;
}

/**
 * Unsubscribe a recipient from lists, with the same effect as the store's `setSubscriptionStatus`: the
 * subscription row changes and one `unsubscribe` event per list records it. Subscriptions already
 * unsubscribed keep their first type (a hard bounce after a link click stays `2`); the conditional update
 * makes two concurrent calls write one event. Returns the lists newly unsubscribed.
 */
export async function unsubscribeFromLists(db: Db, input: OptoutInput): Promise<number[]> {
  let q = db
    .selectFrom('subscriptions')
    .select('list_id')
    .where('account_id', '=', input.accountId)
    .where('recipient_id', '=', input.recipientId)
    .where('channel', '=', input.channel)
    .where('status', '<>', 'unsubscribed');
  if (input.lists !== 'all') {
    if (input.lists.length === 0) return [];
    q = q.where('list_id', 'in', input.lists);
  }
  const candidates = await q.orderBy('list_id').execute();
  const changed: number[] = [];
  for (const { list_id } of candidates) {
    const res = await db
      .updateTable('subscriptions')
      .set({
        status: 'unsubscribed',
        unsubscribed_at: input.occurredAt,
        optout_type: input.optoutType,
        optout_message_id: input.messageId ?? null,
        updated_at: input.recordedAt,
      })
      .where('recipient_id', '=', input.recipientId)
      .where('list_id', '=', list_id)
      .where('channel', '=', input.channel)
      .where('status', '<>', 'unsubscribed')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) > 0) changed.push(list_id);
  }
  if (changed.length)
    await insertEvents(
      db,
      changed.map((listId) => ({
        account_id: input.accountId,
        kind: 'unsubscribe' as const,
        channel: input.channel,
        recipient_id: input.recipientId,
        list_id: listId,
        message_id: input.messageId ?? null,
        sending_id: input.sendingId ?? null,
        url: null,
        code: input.optoutType,
        detail: null,
        provider_message_id: null,
        ip: input.ip ?? null,
        user_agent: input.userAgent ?? null,
        idempotency_key: null,
        occurred_at: input.occurredAt,
        recorded_at: input.recordedAt,
      })),
    );
  return changed;
}

/**
 * Soft bounces of a recipient since its last sign of a working mailbox (a delivery, open or click):
 * "repeated soft bounces" of reference §1.5 means consecutive ones.
 */
export async function countConsecutiveSoftBounces(db: Db, recipientId: number): Promise<number> {
  const last = await db
    .selectFrom('events')
    .select((eb) => eb.fn.max('occurred_at').as('at'))
    .where('recipient_id', '=', recipientId)
    .where('kind', 'in', ['delivered', 'open', 'click'])
    .where('channel', '=', 'email')
    .executeTakeFirst();
  let q = db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('recipient_id', '=', recipientId)
    .where('kind', '=', 'bounce')
    .where('channel', '=', 'email')
    .where('detail', '=', 'soft');
  if (last?.at) q = q.where('occurred_at', '>', last.at);
  const row = await q.executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * The `sent` event of an SMS by the provider's message id (SMS delivery reports carry only that id), with the
 * customer numbers of its message (`idSMS`) and sending (`idInvio`) for callers that speak numbers.
 */
export async function findSentSmsEvent(db: Db, providerMessageId: string, accountId?: string) {
  let q = db
    .selectFrom('events as e')
    .leftJoin('messages as m', 'm.id', 'e.message_id')
    .leftJoin('sendings as s', 's.id', 'e.sending_id')
    .select([
      'e.account_id',
      'e.recipient_id',
      'e.list_id',
      'e.message_id',
      'e.sending_id',
      'e.occurred_at',
      'm.message_number',
      's.sending_number',
    ])
    .where('e.provider_message_id', '=', providerMessageId)
    .where('e.kind', '=', 'sent')
    .where('e.channel', '=', 'sms');
  if (accountId) q = q.where('e.account_id', '=', accountId);
  return q.orderBy('e.id', 'desc').executeTakeFirst();
}

/** Recipient ids by normalised email, mobile or id, in one query per key kind. */
export async function resolveRecipientIds(
  db: Db,
  accountId: string,
  keys: { emails: string[]; mobiles: string[]; ids: number[] },
): Promise<{ byEmail: Map<string, number>; byMobile: Map<string, number>; ids: Set<number> }> {
  const byEmail = new Map<string, number>();
  const byMobile = new Map<string, number>();
  const ids = new Set<number>();
  const chunk = <T>(a: T[]) =>
    Array.from({ length: Math.ceil(a.length / 1000) }, (_, i) => a.slice(i * 1000, i * 1000 + 1000));
  for (const part of chunk([...new Set(keys.emails)])) {
    const rows = await db
      .selectFrom('recipients')
      .select(['id', 'email'])
      .where('account_id', '=', accountId)
      .where('email', 'in', part)
      .execute();
    for (const r of rows) if (r.email) byEmail.set(r.email, r.id);
  }
  for (const part of chunk([...new Set(keys.mobiles)])) {
    const rows = await db
      .selectFrom('recipients')
      .select(['id', 'mobile'])
      .where('account_id', '=', accountId)
      .where('mobile', 'in', part)
      .execute();
    for (const r of rows) if (r.mobile) byMobile.set(r.mobile, r.id);
  }
  for (const part of chunk([...new Set(keys.ids)])) {
    const rows = await db
      .selectFrom('recipients')
      .select('id')
      .where('account_id', '=', accountId)
      .where('id', 'in', part)
      .execute();
    for (const r of rows) ids.add(r.id);
  }
  return { byEmail, byMobile, ids };
}
