/**
 * What the email engine reads and writes around one sending: its message by internal id, its target
 * recipients page by page (subscribed to the email channel of the list, and in the group when the sending
 * names one; or the explicit recipients), the recipients already handled (so a resumed send never mails
 * anyone twice), and the sending's status and counters.
 */
import type { Db } from './accounts.js';
import { messageRowToMessage, type Message } from './engagement-messages.repository.js';
import { recipientRowToRecipient, type Recipient } from './recipients.js';

export async function findMessageById(db: Db, id: number): Promise<Message | undefined> {
  const row = await db.selectFrom('messages').selectAll().where('id', '=', id).executeTakeFirst();
  return row && messageRowToMessage(row);
}

export interface EmailTarget {
  accountId: string;
  sendingId: number;
  listId: number | null;
  groupId: number | null;
}

/**
 * One page of a sending's recipients in id order, after `afterId`. Only recipients with an email address,
 * not erased, and subscribed on the email channel of the sending's list receive a massive send; explicit
 * recipients (a sending with `sending_recipients`) must be subscribed too.
 */
export async function listEmailTargets(
  db: Db,
  t: EmailTarget,
  afterId: number,
  limit: number,
): Promise<Recipient[]> {
  const explicit = await db
    .selectFrom('sending_recipients')
    .select('recipient_id')
    .where('sending_id', '=', t.sendingId)
    .limit(1)
    .executeTakeFirst();
  let q = db
    .selectFrom('recipients')
    .innerJoin('subscriptions', 'subscriptions.recipient_id', 'recipients.id')
    .selectAll('recipients')
    .where('recipients.account_id', '=', t.accountId)
    .where('recipients.email', 'is not', null)
    .where('recipients.erased_at', 'is', null)
    .where('subscriptions.channel', '=', 'email')
    .where('subscriptions.status', '=', 'subscribed')
    .where('recipients.id', '>', afterId);
  if (t.listId !== null) q = q.where('subscriptions.list_id', '=', t.listId);
  if (t.groupId !== null) {
    const groupId = t.groupId;
    q = q.where((eb) =>
      eb.exists(
        eb
          .selectFrom('group_members')
          .select('group_members.recipient_id')
          .where('group_members.group_id', '=', groupId)
          .whereRef('group_members.recipient_id', '=', 'recipients.id'),
      ),
    );
  }
  if (explicit) {
    const sendingId = t.sendingId;
    q = q.where((eb) =>
      eb(
        'recipients.id',
        'in',
        eb
          .selectFrom('sending_recipients')
          .select('sending_recipients.recipient_id')
          .where('sending_recipients.sending_id', '=', sendingId),
      ),
    );
  }
  // A recipient subscribed to several lists appears once per subscription without a list filter.
  const rows = await q.distinct().orderBy('recipients.id').limit(limit).execute();
  return rows.map(recipientRowToRecipient);
}

/** Recipients that already have a `sent` or `bounce` event of this sending (handled by an earlier run). */
export async function handledRecipientIds(db: Db, sendingId: number): Promise<Set<number>> {
  const rows = await db
    .selectFrom('events')
    .select('recipient_id')
    .where('sending_id', '=', sendingId)
    .where('kind', 'in', ['sent', 'bounce'])
    .where('channel', '=', 'email')
    .execute();
  return new Set(rows.map((r) => r.recipient_id).filter((id): id is number => id !== null));
}

/**
 * What every run of a sending has done so far, read from its events rather than from one run's result: a
 * `sent` event per message the relay took, and a `bounce` whose recipient has no `sent` event of the sending
 * per message refused at send time (a bounce reported later for a delivered message is not one). So a send
 * that stopped counts what went out before it stopped, and a resumed one counts its stopped run's messages
 * too. Both reads, and the probe per bounce, are ranges of `events_sending_ix` (migration 0011).
 */
export async function countSendingOutcomes(
  db: Db,
  sendingId: number,
): Promise<{ sent: number; bounced: number }> {
  const ofSending = (kind: 'sent' | 'bounce', alias: 'e' | 's') =>
    db
      .selectFrom(`events as ${alias}`)
      .where(`${alias}.sending_id`, '=', sendingId)
      .where(`${alias}.channel`, '=', 'email')
      .where(`${alias}.kind`, '=', kind);
  const [sent, bounced] = await Promise.all([
    ofSending('sent', 's')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow(),
    ofSending('bounce', 'e')
      .where(({ not, exists }) =>
        not(exists(ofSending('sent', 's').select('s.id').whereRef('s.recipient_id', '=', 'e.recipient_id'))),
      )
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  // PostgreSQL returns count(*) as a bigint string.
  return { sent: Number(sent.n), bounced: Number(bounced.n) };
}

export interface EmailSendingUpdate {
  status?: string;
  startedAt?: string | null;
  endedAt?: string | null;
  /**
   * Merged into the stored counters: keys given replace theirs, the others stay. `counters_json.jobId` names
   * the job that owns the send (the FTPZIP job, or the retry that took it over), and `takeOverStoppedSending`
   * hands a stopped send on only from its owner: a run's result written over it would leave a sending with no
   * owner, which any retry could take.
   */
  counters?: Record<string, unknown>;
  scheduledAt?: string | null;
}

export async function updateEmailSending(db: Db, id: number, u: EmailSendingUpdate): Promise<void> {
  const set: Record<string, unknown> = {};
  if (u.status !== undefined) set.status = u.status;
  if (u.startedAt !== undefined) set.started_at = u.startedAt;
  if (u.endedAt !== undefined) set.ended_at = u.endedAt;
  if (u.scheduledAt !== undefined) set.scheduled_at = u.scheduledAt;
  if (u.counters === undefined) {
    if (Object.keys(set).length === 0) return;
    await db.updateTable('sendings').set(set).where('id', '=', id).execute();
    return;
  }
  // Read, merge, and write only if the counters are still what was read (the compare-and-set the take-over
  // uses), so a concurrent change of the owner is never written over; on a lost race, merge again. Portable
  // where a JSON merge in SQL is not (json_patch vs jsonb ||).
  for (;;) {
    const row = await db
      .selectFrom('sendings')
      .select('counters_json')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return;
    const stored = JSON.parse(row.counters_json ?? '{}') as Record<string, unknown>;
    const r = await db
      .updateTable('sendings')
      .set({ ...set, counters_json: JSON.stringify({ ...stored, ...u.counters }) })
      .where('id', '=', id)
      .where((eb) =>
        row.counters_json === null
          ? eb('counters_json', 'is', null)
          : eb('counters_json', '=', row.counters_json),
      )
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 1) return;
  }
}

/** Email sendings whose scheduled time has come (status `queued`, `scheduled_at` ≤ now). */
/**
 * Take a due sending for this process: move it from `from` to `to` only if it is still in `from`. Every worker polls
 * the due sendings, so without this conditional update two workers could both start the same scheduled campaign;
 * the database decides which one wins (one UPDATE is atomic on SQLite and PostgreSQL alike).
 */
export async function claimDueSending(
  db: Db,
  sendingId: number,
  from: string,
  to: string,
  now: Date,
): Promise<boolean> {
  const r = await db
    .updateTable('sendings')
    .set({ status: to, started_at: now.toISOString() })
    .where('id', '=', sendingId)
    .where('status', '=', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Why a stopped sending could not be handed to a new job (see {@link takeOverStoppedSending}). */
export interface SendingOwner {
  status: string;
  sendingNumber: number;
  /** The job the sending's `counters_json.jobId` names (null when its counters lost it). */
  jobId: string | null;
}

/**
 * Hand a stopped sending (status `failed`, email or SMS) from the job that stopped it to the job that will
 * resume it (`jobs retry`): `counters_json.jobId` becomes `toJobId`. Compare-and-set on status and counters,
 * so of two retries of the same job only one gets the send, and a sending that is running, waiting, sent, or
 * already taken over by another retry is never handed out: the answer then says who owns it.
 */
export async function takeOverStoppedSending(
  db: Db,
  sendingId: number,
  fromJobId: string,
  toJobId: string,
): Promise<({ taken: boolean } & SendingOwner) | undefined> {
  const row = await db
    .selectFrom('sendings')
    .select(['status', 'sending_number', 'counters_json'])
    .where('id', '=', sendingId)
    .executeTakeFirst();
  if (!row) return undefined;
  const counters = JSON.parse(row.counters_json ?? '{}') as Record<string, unknown>;
  const owner = typeof counters.jobId === 'string' ? counters.jobId : null;
  const refused = {
    taken: false as const,
    status: row.status,
    sendingNumber: row.sending_number,
    jobId: owner,
  };
  if (row.status !== 'failed' || (owner !== null && owner !== fromJobId)) return refused;
  const r = await db
    .updateTable('sendings')
    .set({ counters_json: JSON.stringify({ ...counters, jobId: toJobId }) })
    .where('id', '=', sendingId)
    .where('status', '=', 'failed')
    .where((eb) =>
      row.counters_json === null
        ? eb('counters_json', 'is', null)
        : eb('counters_json', '=', row.counters_json),
    )
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) === 1) return { ...refused, taken: true, jobId: toJobId };
  // Another retry won the race between the read and the update.
  return takeOverStoppedSending(db, sendingId, fromJobId, toJobId);
}

export async function listDueEmailSendings(
  db: Db,
  now: Date,
): Promise<Array<{ id: number; accountId: string; counters: { jobId?: string } | null }>> {
  const rows = await db
    .selectFrom('sendings')
    .innerJoin('messages', 'messages.id', 'sendings.message_id')
    .select(['sendings.id', 'sendings.account_id', 'sendings.counters_json'])
    .where('messages.channel', '=', 'email')
    .where('sendings.status', '=', 'queued')
    .where('sendings.scheduled_at', 'is not', null)
    .where('sendings.scheduled_at', '<=', now.toISOString())
    .orderBy('sendings.scheduled_at')
    .execute();
  // counters_json carries the FTPZIP job that scheduled the send (sendScheduledFtpZip takes the job id).
  return rows.map((r) => ({
    id: r.id,
    accountId: r.account_id,
    counters: r.counters_json ? (JSON.parse(r.counters_json) as { jobId?: string }) : null,
  }));
}
