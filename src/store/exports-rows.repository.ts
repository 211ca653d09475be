/**
 * Read side of the exports (reference §3.4): the events of a window and the current subscribers, as pages of
 * rows. How a page is read depends on the dialect:
 *
 * - PostgreSQL: one query on a server-side cursor (`DECLARE … CURSOR` in a read-only transaction, `FETCH` a
 *   page at a time). One plan, one snapshot, one sort for the whole export; the transaction holds one pool
 *   connection and the rest of the pool keeps serving.
 * - SQLite: keyset pages (each page is a query of its own). better-sqlite3 has one connection, and an open
 *   cursor would hold it, with every import and tracking write behind it, for the whole export; a page
 *   releases it when read. Both keysets follow an index of migration 0003, so page N costs what page 1 costs.
 *
 * Only the columns (and joins) an export writes are read: a statistics file without `subscriptionDate` never
 * touches subscriptions.
 */
import { sql, PostgresAdapter, type Expression, type Kysely, type RawBuilder } from 'kysely';
import type { Db } from './accounts.js';
import type { Channel, Database, EventKind } from './tables.js';

/** Whether the store behind `db` is PostgreSQL. */
export function isPostgres(db: Db): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** `f<fieldId>`: an appended recipient field, as the row property that holds it. */
export type FieldKey = `f${number}`;

/**
 * One event of an export window. `id`, `kind` and `recordedAt` are always there; the other properties only when
 * asked for (`EventPageQuery.columns`), and `f<id>` for each field in `fieldIds`.
 */
export interface EventExportRow {
  id: number;
  kind: EventKind;
  recordedAt: string;
  occurredAt?: string;
  listId?: number | null;
  url?: string | null;
  code?: string | null;
  detail?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  recipientId?: number;
  email?: string | null;
  mobile?: string | null;
  /** 1 when the recipient was erased (right to be forgotten), else 0. */
  erased?: number;
  /** `idNl` / `idSMS`. */
  messageNumber?: number | null;
  subject?: string | null;
  /** `idInvio`. */
  sendingNumber?: number | null;
  /** When the sending started (or was created), for `sentDate`. */
  sentAt?: string | null;
  /** Subscription date of the recipient on the event's list and channel (unsubscribers' registration date). */
  subscribedAt?: string | null;
  [field: FieldKey]: string | null | undefined;
}

export type EventExportColumn = Exclude<keyof EventExportRow, 'id' | 'kind' | 'recordedAt' | FieldKey>;

/** SQL of each optional column, and the join it needs (`r` = recipients is always joined). */
const EVENT_COLUMNS: Record<EventExportColumn, { sql: string; join?: 'm' | 'sd' | 'sub' }> = {
  occurredAt: { sql: 'e.occurred_at' },
  listId: { sql: 'e.list_id' },
  url: { sql: 'e.url' },
  code: { sql: 'e.code' },
  detail: { sql: 'e.detail' },
  ip: { sql: 'e.ip' },
  userAgent: { sql: 'e.user_agent' },
  recipientId: { sql: 'e.recipient_id' },
  email: { sql: 'r.email' },
  mobile: { sql: 'r.mobile' },
  erased: { sql: 'case when r.erased_at is null then 0 else 1 end' },
  messageNumber: { sql: 'm.message_number', join: 'm' },
  subject: { sql: 'm.subject', join: 'm' },
  sendingNumber: { sql: 'sd.sending_number', join: 'sd' },
  sentAt: { sql: 'coalesce(sd.started_at, sd.created_at)', join: 'sd' },
  subscribedAt: { sql: 'sub.subscribed_at', join: 'sub' },
};

const JOINS = {
  m: 'left join messages m on m.id = e.message_id',
  sd: 'left join sendings sd on sd.id = e.sending_id',
  sub: `left join subscriptions sub
    on sub.recipient_id = e.recipient_id and sub.list_id = e.list_id and sub.channel = e.channel`,
} as const;

export interface EventPageQuery {
  accountId: string;
  channel: Channel;
  kinds: readonly EventKind[];
  lists: readonly number[];
  /** Window start, inclusive; null = from the beginning. */
  from: string | null;
  /** Window end, exclusive. */
  to: string;
  /** The optional columns to read. */
  columns: readonly EventExportColumn[];
  fieldIds: readonly number[];
  /** Require an email (email channel) or a mobile number (SMS channel) on the recipient. */
  requireKey: 'email' | 'mobile';
  /**
   * Reference §3.4.2 "latest action per recipient and link": drop an event that something recorded before the
   * window's end supersedes (a click or a later open supersedes an open; a later click on the same link a
   * click; a later bounce or sent one of its kind). Read from the marks of superseded-marks.ts: the caller
   * runs `markSupersededEvents` up to `to` first.
   */
  latestOnly: boolean;
}

/** The latest-action filter of an event query on `events e` (empty unless `q.latestOnly`). */
export function latestFilter(q: Pick<EventPageQuery, 'latestOnly' | 'to'>): RawBuilder<unknown> {
  return q.latestOnly ? sql`and (e.superseded_at is null or e.superseded_at >= ${q.to})` : sql``;
}

function windowBounds(col: string, from: string | null, to: string): RawBuilder<unknown> {
  return from === null
    ? sql`${sql.ref(col)} < ${to}`
    : sql`${sql.ref(col)} >= ${from} and ${sql.ref(col)} < ${to}`;
}

function inList<T>(values: readonly T[]): RawBuilder<unknown> {
  return sql.join(values.map((v) => sql`${v}`));
}

/** The statement reading a window's events, ordered by (recorded_at, id), from `after` on at most `limit`. */
function eventQuery(
  q: EventPageQuery,
  after?: { recordedAt: string; id: number },
  limit?: number,
): RawBuilder<EventExportRow> {
  const cols = [...new Set(q.columns)];
  const select = [
    'e.id as "id"',
    'e.kind as "kind"',
    'e.recorded_at as "recordedAt"',
    ...cols.map((c) => `${EVENT_COLUMNS[c].sql} as "${c}"`),
    ...q.fieldIds.map((f) => `r.f${Number(f)} as "f${Number(f)}"`),
  ].join(', ');
  const joins = (['m', 'sd', 'sub'] as const)
    .filter((j) => cols.some((c) => EVENT_COLUMNS[c].join === j))
    .map((j) => JOINS[j])
    .join('\n');
  const filters = sql`e.account_id = ${q.accountId} and e.channel = ${q.channel}
    and ${windowBounds('e.recorded_at', q.from, q.to)}
    and e.kind in (${inList(q.kinds)}) and e.list_id in (${inList(q.lists)})`;
  const key = sql.raw(q.requireKey === 'email' ? 'r.email' : 'r.mobile');
  const keyset = after
    ? // `recorded_at >= x` first gives both planners an index range to start from; the OR alone makes SQLite scan.
      sql`and e.recorded_at >= ${after.recordedAt}
        and (e.recorded_at > ${after.recordedAt} or e.id > ${after.id})`
    : sql``;
  const tail = sql`order by e.recorded_at, e.id ${limit === undefined ? sql`` : sql`limit ${limit}`}`;

  const latest = latestFilter(q);
  return sql<EventExportRow>`select ${sql.raw(select)}
    from events e
    join recipients r on r.id = e.recipient_id
    ${sql.raw(joins)}
    where ${filters} and ${key} is not null ${keyset} ${latest}
    ${tail}`;
}

/**
 * PostgreSQL `work_mem` of an export's read transaction (`SET LOCAL`, so only that transaction). The server
 * default, 4 MB, splits the recipients hash join of a big window into batches and sends any sort the planner
 * picks past ~20,000 rows to disk; 64 MB per running export keeps a daily window in memory.
 */
export const EXPORT_WORK_MEM = '64MB';

/** Dialect knobs of an export read. */
export interface ExportReadOptions {
  /** PostgreSQL `work_mem` for the read transaction (e.g. `64MB`); default EXPORT_WORK_MEM. */
  workMem?: string;
}

/** A window's events, page by page, in (recorded_at, id) order. */
export function eventExportPages(
  db: Db,
  q: EventPageQuery,
  pageRows: number,
  opts: ExportReadOptions = {},
): AsyncGenerator<EventExportRow[]> {
  return isPostgres(db)
    ? cursorPages(db, eventQuery(q), pageRows, opts)
    : keysetPages(db, pageRows, (after: { recordedAt: string; id: number } | undefined) =>
        eventQuery(q, after, pageRows),
      );
}

/** SQLite: one query per page, each starting after the last row of the previous one (its keyset). */
async function* keysetPages<R, K>(
  db: Db,
  pageRows: number,
  page: (after: K | undefined) => RawBuilder<R & K>,
): AsyncGenerator<R[]> {
  let after: K | undefined;
  for (;;) {
    const { rows } = await page(after).execute(db);
    if (rows.length > 0) yield rows;
    if (rows.length < pageRows) return;
    after = rows[rows.length - 1]!;
  }
}

let cursorSeq = 0;

/**
 * Pages of a PostgreSQL query through a server-side cursor in a read-only transaction (or inside the caller's
 * transaction). The next FETCH is sent before a page is handed over, so the server reads page N+1 while the
 * export writes page N. The cursor closes when the consumer stops early too: the generator's `finally` runs on
 * `return()`, which the export runner calls on every exit.
 */
async function* cursorPages<R>(
  db: Db,
  query: Expression<unknown>,
  pageRows: number,
  opts: ExportReadOptions,
): AsyncGenerator<R[]> {
  const own = db.isTransaction
    ? undefined
    : await (db as Kysely<Database>).startTransaction().setAccessMode('read only').execute();
  const trx: Db = own ?? db;
  const name = sql.raw(`ds_export_${++cursorSeq}`);
  const fetch = () => sql<R>`fetch forward ${sql.raw(String(pageRows))} from ${name}`.execute(trx);
  let next: Promise<{ rows: R[] }> | undefined;
  try {
    // Settings local to our own transaction only (a caller's transaction keeps its own). JIT off: compiling
    // the query's expressions took longer than it saved on a streamed read (its plan is costed as a big one).
    if (own)
      await sql`select set_config('work_mem', ${opts.workMem ?? EXPORT_WORK_MEM}, true),
        set_config('jit', 'off', true)`.execute(own);
    await sql`declare ${name} no scroll cursor for ${query}`.execute(trx);
    next = fetch();
    for (;;) {
      const page: { rows: R[] } = await next;
      const rows = page.rows;
      next = rows.length < pageRows ? undefined : fetch();
      if (rows.length > 0) yield rows;
      if (!next) return;
    }
  } finally {
    // A FETCH still in flight when the consumer stopped: let it end before the transaction does.
    await next?.catch(() => undefined);
    if (own) await own.rollback().execute();
    else await sql`close ${name}`.execute(trx);
  }
}

/** One current subscription of the subscribers export (same property names as `EventExportRow`). */
export interface SubscriberExportRow {
  recipientId: number;
  listId: number;
  email: string | null;
  mobile: string | null;
  /** 1 when the recipient was erased, else 0. */
  erased: number;
  subscribedAt: string | null;
  [field: FieldKey]: string | null | undefined;
}

export interface SubscriberPageQuery {
  accountId: string;
  channel: Channel;
  lists: readonly number[];
  /** Only subscriptions completed in [from, to) (new subscribers); omitted for a snapshot. */
  subscribedWindow?: { from: string | null; to: string };
  fieldIds: readonly number[];
}

/**
 * The subscriptions of `q`, by list and recipient; with `page`, one list's from a recipient on (SQLite's keyset:
 * `list_id = ? and recipient_id > ?` is a plain range of subscriptions_export_ix whatever the planner's
 * statistics say, where a keyset over a list of lists made SQLite, after ANALYZE, scan and sort a whole list
 * per page).
 */
function subscriberQuery(
  q: SubscriberPageQuery,
  page?: { listId: number; after: { recipientId: number } | undefined; limit: number },
): RawBuilder<SubscriberExportRow> {
  const fields = q.fieldIds.map((f) => `, r.f${Number(f)} as "f${Number(f)}"`).join('');
  const win = q.subscribedWindow
    ? sql`and ${windowBounds('s.subscribed_at', q.subscribedWindow.from, q.subscribedWindow.to)}`
    : sql``;
  const lists = page
    ? sql`s.list_id = ${page.listId} ${page.after ? sql`and s.recipient_id > ${page.after.recipientId}` : sql``}`
    : sql`s.list_id in (${inList(q.lists)})`;
  return sql<SubscriberExportRow>`select s.recipient_id as "recipientId", s.list_id as "listId",
      s.subscribed_at as "subscribedAt", r.email as "email", r.mobile as "mobile",
      case when r.erased_at is null then 0 else 1 end as "erased"${sql.raw(fields)}
    from subscriptions s join recipients r on r.id = s.recipient_id
    where s.account_id = ${q.accountId} and s.channel = ${q.channel} and s.status = 'subscribed'
      and ${lists} and ${sql.raw(q.channel === 'email' ? 'r.email' : 'r.mobile')} is not null ${win}
    order by s.list_id, s.recipient_id ${page ? sql`limit ${page.limit}` : sql``}`;
}

/** Current subscriptions of some lists (or those completed in a window), page by page, by list and recipient. */
export async function* subscriberExportPages(
  db: Db,
  q: SubscriberPageQuery,
  pageRows: number,
  opts: ExportReadOptions = {},
): AsyncGenerator<SubscriberExportRow[]> {
  if (isPostgres(db)) {
    yield* cursorPages<SubscriberExportRow>(db, subscriberQuery(q), pageRows, opts);
    return;
  }
  for (const listId of [...new Set(q.lists)].sort((a, b) => a - b))
    yield* keysetPages(db, pageRows, (after: { recipientId: number } | undefined) =>
      subscriberQuery(q, { listId, after, limit: pageRows }),
    );
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
