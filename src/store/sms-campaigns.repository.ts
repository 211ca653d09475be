/**
 * CSV2SMS persistence over the existing tables (no table of its own yet):
 * - an SMS campaign is a `messages` row (channel `sms`, `message_number` = idSMS, `subject` = campaign name,
 *   `sender_name` = sender, `campaign_code` = the file's non-duplication code) plus one `sendings` row
 *   (`sending_number` = idInvio) whose `counters_json` carries the job id and the send's resume point;
 * - every message handed to the provider is a `sent` event (provider_message_id = the provider's id), every
 *   delivery report or provider refusal an `sms_status` event (code = status word, detail = provider error);
 * - a used non-duplication code is a `settings` row `csv2sms.code.<account>.<code>`: its primary key makes the
 *   claim atomic, so two files with the same code racing each other cannot both pass.
 */
import { DuplicateError } from '../errors.js';
import type { Db } from './accounts.js';
import { nextEngagementNumber } from './engagement-messages.repository.js';
import type { NewEventRow, SendingRow } from './tables.js';

/** Settings key of a used CSV2SMS non-duplication code. */
export const smsCodeKey = (accountId: string, code: string): string => `csv2sms.code.${accountId}.${code}`;

/**
 * Claim a non-duplication code for a job; false when it was already claimed (the file must be skipped).
 * Run it in the transaction that imports the file, so a failed import does not consume the code.
 */
export async function claimSmsCode(
  db: Db,
  accountId: string,
  code: string,
  jobId: string,
  at: Date,
): Promise<boolean> {
  try {
    await db
      .insertInto('settings')
      .values({ key: smsCodeKey(accountId, code), value: JSON.stringify({ jobId, at: at.toISOString() }) })
      .execute();
    return true;
  } catch (e) {
    if (e instanceof DuplicateError) return false;
    throw e;
  }
}

/** The job that used a code, if any. */
export async function findSmsCode(
  db: Db,
  accountId: string,
  code: string,
): Promise<{ jobId: string } | undefined> {
  const r = await db
    .selectFrom('settings')
    .select('value')
    .where('key', '=', smsCodeKey(accountId, code))
    .executeTakeFirst();
  return r ? (JSON.parse(r.value) as { jobId: string }) : undefined;
}

/** Status of an SMS sending: `queued` waits for a user (action A), `scheduled` for its time. */
export type SmsSendingStatus = 'queued' | 'scheduled' | 'sending' | 'sent' | 'failed';

/** What `sendings.counters_json` holds for an SMS sending. */
export interface SmsSendingCounters {
  jobId: string;
  /** Resume point: outbox entries before this index are done (sent or refused). */
  next: number;
  total: number;
  sent: number;
  refused: number;
  parts: number;
}

export interface SmsSending {
  id: number;
  accountId: string;
  sendingNumber: number;
  messageId: number;
  listId: number | null;
  status: SmsSendingStatus;
  scheduledAt: string | null;
  startedAt: string | null;
  endedAt: string | null;
  counters: SmsSendingCounters;
}

const sendingRowToSmsSending = (r: SendingRow): SmsSending => ({
  id: r.id,
  accountId: r.account_id,
  sendingNumber: r.sending_number,
  messageId: r.message_id,
  listId: r.list_id,
  status: r.status as SmsSendingStatus,
  scheduledAt: r.scheduled_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  counters: JSON.parse(r.counters_json ?? '{}') as SmsSendingCounters,
});

export interface NewSmsCampaign {
  accountId: string;
  listId: number;
  campaign: string;
  sender: string;
  /** The column-row TEXT of the first message (texts may differ per row). */
  text: string | null;
  code: string | null;
  status: SmsSendingStatus;
  scheduledAt: string | null;
  jobId: string;
  total: number;
}

/**
 * Create the message (idSMS) and its sending (idInvio), numbered by the account's engagement counters; a
 * unique-key failure (a number taken outside the counters) is retried with the next number.
 */
export async function createSmsCampaign(
  db: Db,
  input: NewSmsCampaign,
  at: Date,
): Promise<{ messageId: number; messageNumber: number; sendingId: number; sendingNumber: number }> {
  const now = at.toISOString();
  for (let attempt = 0; ; attempt++) {
    try {
      // Numbers come from the account's counters, shared with the API and event ingestion, so no two
      // creators ever hand out the same idSMS / idInvio.
      const messageNumber = await nextEngagementNumber(db, input.accountId, 'idSMS');
      const msg = await db
        .insertInto('messages')
        .values({
          account_id: input.accountId,
          message_number: messageNumber,
          channel: 'sms',
          list_id: input.listId,
          subject: input.campaign,
          html: null,
          text: input.text,
          sender_email: null,
          sender_name: input.sender,
          reply_to: null,
          attachments_json: null,
          campaign_code: input.code,
          created_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const sendingNumber = await nextEngagementNumber(db, input.accountId, 'idInvio');
      const counters: SmsSendingCounters = {
        jobId: input.jobId,
        next: 0,
        total: input.total,
        sent: 0,
        refused: 0,
        parts: 0,
      };
      const sending = await db
        .insertInto('sendings')
        .values({
          account_id: input.accountId,
          sending_number: sendingNumber,
          message_id: msg.id,
          list_id: input.listId,
          group_id: null,
          status: input.status,
          scheduled_at: input.scheduledAt,
          started_at: null,
          ended_at: null,
          counters_json: JSON.stringify(counters),
          created_at: now,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return { messageId: msg.id, messageNumber, sendingId: sending.id, sendingNumber };
    } catch (e) {
      // Inside a PostgreSQL transaction a failed statement aborts the transaction, so only retry outside one.
      if (e instanceof DuplicateError && attempt < 5 && !db.isTransaction) continue;
      throw e;
    }
  }
}

export async function findSmsSending(db: Db, sendingId: number): Promise<SmsSending | undefined> {
  const r = await db.selectFrom('sendings').selectAll().where('id', '=', sendingId).executeTakeFirst();
  return r && sendingRowToSmsSending(r);
}

export async function updateSmsSending(
  db: Db,
  sendingId: number,
  update: {
    status?: SmsSendingStatus;
    scheduledAt?: string | null;
    startedAt?: string | null;
    endedAt?: string | null;
    counters?: SmsSendingCounters;
  },
): Promise<void> {
  await db
    .updateTable('sendings')
    .set({
      ...(update.status !== undefined ? { status: update.status } : {}),
      ...(update.scheduledAt !== undefined ? { scheduled_at: update.scheduledAt } : {}),
      ...(update.startedAt !== undefined ? { started_at: update.startedAt } : {}),
      ...(update.endedAt !== undefined ? { ended_at: update.endedAt } : {}),
      ...(update.counters !== undefined ? { counters_json: JSON.stringify(update.counters) } : {}),
    })
    .where('id', '=', sendingId)
    .execute();
}

/** SMS sendings whose scheduled time has come (what a scheduler polls when it has no queue of its own). */
export async function listDueSmsSendings(db: Db, now: Date): Promise<SmsSending[]> {
  const rows = await db
    .selectFrom('sendings')
    .innerJoin('messages', 'messages.id', 'sendings.message_id')
    .selectAll('sendings')
    .where('messages.channel', '=', 'sms')
    .where('sendings.status', '=', 'scheduled')
    .where('sendings.scheduled_at', '<=', now.toISOString())
    .orderBy('sendings.scheduled_at')
    .execute();
  return rows.map(sendingRowToSmsSending);
}

/** Subscription status on the SMS channel of one list, per recipient (absent: no subscription). */
export async function findSmsSubscriptionStates(
  db: Db,
  listId: number,
  recipientIds: number[],
): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (let i = 0; i < recipientIds.length; i += 1000) {
    const rows = await db
      .selectFrom('subscriptions')
      .select(['recipient_id', 'status'])
      .where('list_id', '=', listId)
      .where('channel', '=', 'sms')
      .where('recipient_id', 'in', recipientIds.slice(i, i + 1000))
      .execute();
    for (const r of rows) out.set(r.recipient_id, r.status);
  }
  return out;
}

/** Insert SMS events in multi-row statements (one statement per 500 rows keeps under both parameter limits). */
export async function insertSmsEvents(
  db: Db,
  rows: NewEventRow[],
  opts: { ignoreDuplicates?: boolean } = {},
): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) {
    const q = db.insertInto('events').values(rows.slice(i, i + 500));
    // A resumed send may re-record an event: its idempotency key makes the second insert a no-op.
    await (
      opts.ignoreDuplicates
        ? q.onConflict((oc) => oc.columns(['account_id', 'idempotency_key']).doNothing())
        : q
    ).execute();
  }
}

/** The `sent` event of a provider message id (what a delivery report refers to). */
export async function findSmsSentEvent(
  db: Db,
  providerMessageId: string,
): Promise<
  | {
      accountId: string;
      recipientId: number | null;
      listId: number | null;
      messageId: number | null;
      sendingId: number | null;
    }
  | undefined
> {
  const r = await db
    .selectFrom('events')
    .select(['account_id', 'recipient_id', 'list_id', 'message_id', 'sending_id'])
    .where('provider_message_id', '=', providerMessageId)
    .where('kind', '=', 'sent')
    .where('channel', '=', 'sms')
    .executeTakeFirst();
  return (
    r && {
      accountId: r.account_id,
      recipientId: r.recipient_id,
      listId: r.list_id,
      messageId: r.message_id,
      sendingId: r.sending_id,
    }
  );
}

/** The `sent` events of many provider message ids at once (delivery reports are recorded in batches). */
export async function findSmsSentEvents(
  db: Db,
  providerMessageIds: string[],
): Promise<
  Map<
    string,
    {
      accountId: string;
      recipientId: number | null;
      listId: number | null;
      messageId: number | null;
      sendingId: number | null;
    }
  >
> {
  const out = new Map<
    string,
    {
      accountId: string;
      recipientId: number | null;
      listId: number | null;
      messageId: number | null;
      sendingId: number | null;
    }
  >();
  for (let i = 0; i < providerMessageIds.length; i += 1000) {
    const rows = await db
      .selectFrom('events')
      .select(['account_id', 'recipient_id', 'list_id', 'message_id', 'sending_id', 'provider_message_id'])
      .where('provider_message_id', 'in', providerMessageIds.slice(i, i + 1000))
      .where('kind', '=', 'sent')
      .where('channel', '=', 'sms')
      .execute();
    for (const r of rows)
      out.set(r.provider_message_id!, {
        accountId: r.account_id,
        recipientId: r.recipient_id,
        listId: r.list_id,
        messageId: r.message_id,
        sendingId: r.sending_id,
      });
  }
  return out;
}

/** Insert events, skipping those whose idempotency key exists; returns how many were inserted. */
export async function insertNewSmsEvents(db: Db, rows: NewEventRow[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < rows.length; i += 500) {
    const r = await db
      .insertInto('events')
      .values(rows.slice(i, i + 500))
      .onConflict((oc) => oc.columns(['account_id', 'idempotency_key']).doNothing())
      .executeTakeFirst();
    n += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  return n;
}

/** `sms_status` and `sent` events of one sending, for the result file (provider order does not matter). */
export async function listSmsSendingEvents(
  db: Db,
  sendingId: number,
): Promise<
  {
    kind: string;
    recipientId: number | null;
    code: string | null;
    detail: string | null;
    providerMessageId: string | null;
  }[]
> {
  const rows = await db
    .selectFrom('events')
    .select(['kind', 'recipient_id', 'code', 'detail', 'provider_message_id'])
    .where('sending_id', '=', sendingId)
    .where('channel', '=', 'sms')
    .orderBy('id')
    .execute();
  return rows.map((r) => ({
    kind: r.kind,
    recipientId: r.recipient_id,
    code: r.code,
    detail: r.detail,
    providerMessageId: r.provider_message_id,
  }));
}

/**
 * What every run of a sending has done so far, read from its events rather than from one run's memory: a
 * `sent` event per message the provider took (its `detail` is `<encoding>:<parts>`), and an `sms_status`
 * `NACK` per message it refused (delivery reports, `sms_status` with other codes, are not outcomes of the
 * send). So a send that stopped counts what was recorded before it stopped, and a resumed one its stopped runs'
 * messages too. The sent events are grouped by `detail` so the parts add up without parsing text in SQL: a
 * sending has a handful of distinct details, whatever its size.
 */
export async function countSmsSendingOutcomes(
  db: Db,
  sendingId: number,
): Promise<{ sent: number; refused: number; parts: number }> {
  const ofSending = db.selectFrom('events').where('sending_id', '=', sendingId).where('channel', '=', 'sms');
  const [sent, refused] = await Promise.all([
    ofSending
      .where('kind', '=', 'sent')
      .select(['detail', (eb) => eb.fn.countAll().as('n')])
      .groupBy('detail')
      .execute(),
    ofSending
      .where('kind', '=', 'sms_status')
      .where('code', '=', 'NACK')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  // PostgreSQL returns count(*) as a bigint string.
  const out = { sent: 0, refused: Number(refused.n), parts: 0 };
  for (const r of sent) {
    out.sent += Number(r.n);
    out.parts += Number(r.n) * (Number(r.detail?.split(':')[1]) || 0);
  }
  return out;
}
