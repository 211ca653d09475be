/**
 * Read side of the exports (reference §3.4): keyset pages over the events of a window and over the current
 * subscribers. Pages, not one long cursor: a page releases its connection when it is read, so an export of a
 * million rows never holds SQLite's single connection (or a pool slot) for its whole length, and memory stays
 * at one page whatever the size of the result. Both keysets follow an index of migration 0003, so page N costs
 * what page 1 costs.
 */
import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from './accounts.js';
import type { Channel, EventKind } from './tables.js';

/** One event of an export window with what its columns need from recipients, messages and sendings. */
export interface EventExportRow {
  id: number;
  kind: EventKind;
  recordedAt: string;
  occurredAt: string;
  listId: number | null;
  url: string | null;
  code: string | null;
  detail: string | null;
  ip: string | null;
  userAgent: string | null;
  recipientId: number;
  email: string | null;
  mobile: string | null;
  erased: boolean;
  /** Field id → value for the fields asked for. */
  fields: Record<number, string | null>;
  /** `idNl` / `idSMS`. */
  messageNumber: number | null;
  subject: string | null;
  /** `idInvio`. */
  sendingNumber: number | null;
  /** When the sending started (or was created), for `sentDate`. */
  sentAt: string | null;
  /** Subscription date of the recipient on the event's list and channel (unsubscribers' registration date). */
  subscribedAt: string | null;
}

export interface EventPageQuery {
  accountId: string;
  channel: Channel;
  kinds: readonly EventKind[];
  lists: readonly number[];
  /** Window start, inclusive; null = from the beginning. */
  from: string | null;
  /** Window end, exclusive. */
  to: string;
  /** Keyset cursor: the last row of the previous page. */
  after?: { recordedAt: string; id: number };
  limit: number;
  fieldIds: readonly number[];
  /** Require an email (email channel) or a mobile number (SMS channel) on the recipient. */
  requireKey: 'email' | 'mobile';
  /**
   * Reference §3.4.2 "latest action per recipient and link": drop an open when the same recipient clicked
   * the same message (and sending) in the window or opened it again later; a click when the same link was
   * clicked again later; a bounce or a sent row when a later one exists.
   */
  latestOnly: boolean;
}

type FieldCol = `f${number}`;

function windowBounds(col: string, from: string | null, to: string): Expression<SqlBool> {
  return from === null
    ? sql<SqlBool>`${sql.ref(col)} < ${to}`
    : sql<SqlBool>`${sql.ref(col)} >= ${from} and ${sql.ref(col)} < ${to}`;
}

export async function eventExportPage(db: Db, q: EventPageQuery): Promise<EventExportRow[]> {
  let query = db
    .selectFrom('events as e')
    .innerJoin('recipients as r', 'r.id', 'e.recipient_id')
    .leftJoin('messages as m', 'm.id', 'e.message_id')
    .leftJoin('sendings as sd', 'sd.id', 'e.sending_id')
    .leftJoin('subscriptions as sub', (j) =>
      j
        .onRef('sub.recipient_id', '=', 'e.recipient_id')
        .onRef('sub.list_id', '=', 'e.list_id')
        .onRef('sub.channel', '=', 'e.channel'),
    )
    .select([
      'e.id',
      'e.kind',
      'e.recorded_at',
      'e.occurred_at',
      'e.list_id',
      'e.url',
      'e.code',
      'e.detail',
      'e.ip',
      'e.user_agent',
      'e.recipient_id',
      'r.email',
      'r.mobile',
      'r.erased_at',
      'm.message_number',
      'm.subject',
      'sd.sending_number',
      'sd.started_at',
      'sd.created_at as sending_created_at',
      'sub.subscribed_at',
    ])
    .select(q.fieldIds.map((f) => `r.f${f}` as `r.${FieldCol & 'f1'}`))
    .where('e.account_id', '=', q.accountId)
    .where('e.channel', '=', q.channel)
    .where(windowBounds('e.recorded_at', q.from, q.to))
    .where('e.kind', 'in', [...q.kinds])
    .where('e.list_id', 'in', [...q.lists])
    .where(q.requireKey === 'email' ? 'r.email' : 'r.mobile', 'is not', null);
  if (q.after) {
    const { recordedAt, id } = q.after;
    // `recorded_at >= x` first gives both planners an index range to start from; the OR alone makes SQLite scan.
    query = query
      .where('e.recorded_at', '>=', recordedAt)
      .where((eb) => eb.or([eb('e.recorded_at', '>', recordedAt), eb('e.id', '>', id)]));
  }
  if (q.latestOnly) {
    // A later event of the same recipient, message and sending in the same window supersedes this one.
    // Plain SQL both dialects run; the probe follows events_recipient_message_ix. No account or channel test:
    // recipient and message ids already imply both, and naming them lets SQLite pick the window index instead,
    // which turns each probe into a scan of the whole window.
    const later = sql`(s.occurred_at > e.occurred_at or (s.occurred_at = e.occurred_at and s.id > e.id))`;
    query = query.where(
      sql<SqlBool>`not exists (select 1 from events s
        where s.recipient_id = e.recipient_id and s.message_id = e.message_id
          and coalesce(s.sending_id, 0) = coalesce(e.sending_id, 0)
          and ${windowBounds('s.recorded_at', q.from, q.to)}
          and ((e.kind = 'open' and (s.kind = 'click' or (s.kind = 'open' and ${later})))
            or (e.kind = 'click' and s.kind = 'click' and s.url = e.url and ${later})
            or (e.kind in ('bounce', 'sent') and s.kind = e.kind and ${later})))`,
    );
  }
  const rows = await query.orderBy('e.recorded_at').orderBy('e.id').limit(q.limit).execute();
  return rows.map((r) => {
    const raw = r as unknown as Record<string, string | null>;
    const fields: Record<number, string | null> = {};
    for (const f of q.fieldIds) fields[f] = raw[`f${f}`] ?? null;
    return {
      id: r.id,
      kind: r.kind,
      recordedAt: r.recorded_at,
      occurredAt: r.occurred_at,
      listId: r.list_id,
      url: r.url,
      code: r.code,
      detail: r.detail,
      ip: r.ip,
      userAgent: r.user_agent,
      // Inner join on recipients: never null here.
      recipientId: r.recipient_id!,
      email: r.email,
      mobile: r.mobile,
      erased: r.erased_at !== null,
      fields,
      messageNumber: r.message_number,
      subject: r.subject,
      sendingNumber: r.sending_number,
      sentAt: r.started_at ?? r.sending_created_at,
      subscribedAt: r.subscribed_at,
    };
  });
}

/** One current subscription of the subscribers export. */
export interface SubscriberExportRow {
  recipientId: number;
  listId: number;
  email: string | null;
  mobile: string | null;
  erased: boolean;
  subscribedAt: string | null;
  fields: Record<number, string | null>;
}

export interface SubscriberPageQuery {
  accountId: string;
  channel: Channel;
  lists: readonly number[];
  /** Only subscriptions completed in [from, to) (new subscribers); omitted for a snapshot. */
  subscribedWindow?: { from: string | null; to: string };
  after?: { listId: number; recipientId: number };
  limit: number;
  fieldIds: readonly number[];
}

export async function subscriberExportPage(db: Db, q: SubscriberPageQuery): Promise<SubscriberExportRow[]> {
  let query = db
    .selectFrom('subscriptions as s')
    .innerJoin('recipients as r', 'r.id', 's.recipient_id')
    .select(['s.recipient_id', 's.list_id', 's.subscribed_at', 'r.email', 'r.mobile', 'r.erased_at'])
    .select(q.fieldIds.map((f) => `r.f${f}` as `r.${FieldCol & 'f1'}`))
    .where('s.account_id', '=', q.accountId)
    .where('s.channel', '=', q.channel)
    .where('s.status', '=', 'subscribed')
    .where('s.list_id', 'in', [...q.lists])
    .where(q.channel === 'email' ? 'r.email' : 'r.mobile', 'is not', null);
  if (q.subscribedWindow)
    query = query.where(windowBounds('s.subscribed_at', q.subscribedWindow.from, q.subscribedWindow.to));
  if (q.after) {
    const { listId, recipientId } = q.after;
    query = query
      .where('s.list_id', '>=', listId)
      .where((eb) => eb.or([eb('s.list_id', '>', listId), eb('s.recipient_id', '>', recipientId)]));
  }
  const rows = await query.orderBy('s.list_id').orderBy('s.recipient_id').limit(q.limit).execute();
  return rows.map((r) => {
    const raw = r as unknown as Record<string, string | null>;
    const fields: Record<number, string | null> = {};
    for (const f of q.fieldIds) fields[f] = raw[`f${f}`] ?? null;
    return {
      recipientId: r.recipient_id,
      listId: r.list_id,
      email: r.email,
      mobile: r.mobile,
      erased: r.erased_at !== null,
      subscribedAt: r.subscribed_at,
      fields,
    };
  });
}

/** Group names of some recipients in some lists: `${recipientId}:${listId}` → names in name order. */
export async function groupNamesOf(
  db: Db,
  accountId: string,
  recipientIds: readonly number[],
  lists: readonly number[],
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (recipientIds.length === 0) return out;
  const rows = await db
    .selectFrom('group_members as gm')
    .innerJoin('groups as g', 'g.id', 'gm.group_id')
    .select(['gm.recipient_id', 'g.list_id', 'g.name'])
    .where('g.account_id', '=', accountId)
    .where('g.list_id', 'in', [...lists])
    .where('gm.recipient_id', 'in', [...recipientIds])
    .orderBy('g.name')
    .execute();
  for (const r of rows) {
    const k = `${r.recipient_id}:${r.list_id}`;
    const arr = out.get(k);
    if (arr) arr.push(r.name);
    else out.set(k, [r.name]);
  }
  return out;
}
