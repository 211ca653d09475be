/**
 * The mark pass: keeps `events.superseded_at` (migration 0010) so that a statistics export applies §3.4.2's
 * "latest action per recipient and link" as a plain filter, `superseded_at is null or superseded_at >= to`,
 * instead of comparing every event of its window with its group (bench/RESULTS.md "export").
 *
 * Supersession, within one recipient, message and sending ("group"): any click, or a later open, supersedes an
 * open; a later click on the same link supersedes a click; a later bounce a bounce; a later sent a sent.
 * "Later" = greater (occurred_at, id). Unsubscribes, SMS statuses and events without a message never are.
 * `superseded_at` = the least `recorded_at` of an event's superseders, so a window [from, to) drops exactly the
 * events that something recorded before `to` superseded (docs/exports.md "Latest action").
 *
 * Why a pass and not a write-time update: tracking writes one event per request through group commit, and
 * maintaining marks there cost the tracking benchmark half its throughput. The pass runs instead (a) before
 * a statistics export reads its window, up to the window's end, and (b) every minute on a worker
 * (`startMarkTimer`), so the export itself rarely has more than a minute of events to mark.
 *
 * Incremental and exact: each pass takes the groups that have an event recorded in [horizon, to) and
 * recomputes the whole group (every event recorded before `to`) with one window function: the least
 * `recorded_at` of the later events of its chain, and for an open the least `recorded_at` of the group's
 * clicks. A mark only ever decreases (an update writes only a smaller value), so passes commute and a crash
 * between passes loses nothing: the horizon moves in the same transaction as the marks. Per-group cost is
 * one sort of the group, never a comparison of every pair (a bot opening one message 100,000 times costs one
 * sort of 100,000 rows per pass, not 10^10 probes).
 *
 * What it assumes, as the export watermarks do (`window.settleSeconds`): an event is committed by the time a
 * pass moves the horizon past its `recorded_at`. One committed later is never marked and never marks others
 * (its file may then carry one row that a superseder would have hidden): never a lost row.
 */
import { sql, type Kysely } from 'kysely';
import type { Db } from './accounts.js';
import { isPostgres } from './exports-rows.repository.js';
import type { Database } from './tables.js';

/** The kinds that supersede and are superseded. */
const MARKED_KINDS = sql`('open', 'click', 'bounce', 'sent')`;

export interface MarkPassResult {
  /** The horizon before the pass ('' = never marked). */
  from: string;
  /** The horizon after the pass. */
  to: string;
  /** Events whose mark was written (set or lowered). */
  marked: number;
}

/**
 * Marks the account's events recorded before `to` (exclusive) that earlier passes have not seen. A `to` at or
 * before the account's horizon does nothing. Runs in its own transaction (or the caller's); on PostgreSQL the
 * horizon row is locked, so two passes of one account run one after the other.
 */
export async function markSupersededEvents(db: Db, accountId: string, to: string): Promise<MarkPassResult> {
  if (!db.isTransaction)
    return (db as Kysely<Database>).transaction().execute((trx) => markSupersededEvents(trx, accountId, to));
  const pg = isPostgres(db);
  const now = new Date().toISOString();
  await db
    .insertInto('event_mark_horizons')
    .values({ account_id: accountId, marked_to: '', updated_at: now })
    .onConflict((oc) => oc.column('account_id').doNothing())
    .execute();
  const lock = db.selectFrom('event_mark_horizons').select('marked_to').where('account_id', '=', accountId);
  const { marked_to: from } = await (pg ? lock.forUpdate() : lock).executeTakeFirstOrThrow();
  if (to <= from) return { from, to: from, marked: 0 };

  // `case` instead of least(): PostgreSQL's least() skips nulls, SQLite's min(a, b) returns null.
  const result = await sql`
    with g as (
      select distinct n.recipient_id, n.message_id from events n
      where n.account_id = ${accountId} and n.kind in ${MARKED_KINDS}
        and n.recorded_at >= ${from} and n.recorded_at < ${to}
        and n.message_id is not null and n.recipient_id is not null
    ),
    m as (
      select e.id, e.superseded_at as old,
        case when e.kind = 'click' and e.url is null then null else
          min(e.recorded_at) over (
            partition by e.recipient_id, e.message_id, coalesce(e.sending_id, 0), e.kind,
              case when e.kind = 'click' then e.url end
            order by e.occurred_at desc, e.id desc
            rows between unbounded preceding and 1 preceding)
        end as later,
        case when e.kind = 'open' then
          min(case when e.kind = 'click' then e.recorded_at end) over (
            partition by e.recipient_id, e.message_id, coalesce(e.sending_id, 0))
        end as clicked
      from g join events e on e.recipient_id = g.recipient_id and e.message_id = g.message_id
      where e.kind in ${MARKED_KINDS} and e.recorded_at < ${to}
    ),
    x as (
      select id, old,
        case when later is null then clicked when clicked is null or later < clicked then later else clicked end
          as mark
      from m
    )
    update events set superseded_at = x.mark
    from x
    where events.id = x.id and x.mark is not null and (x.old is null or x.mark < x.old)`.execute(db);

  await db
    .updateTable('event_mark_horizons')
    .set({ marked_to: to, updated_at: now })
    .where('account_id', '=', accountId)
    .execute();
  return { from, to, marked: Number(result.numAffectedRows ?? 0) };
}

/**
 * The accounts a periodic pass should keep marked: those with an enabled export instance that applies the
 * latest-action rule.
 */
export async function accountsWithStatisticsExports(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('instances')
    .select(['account_id', 'definition_json'])
    .where('kind', '=', 'export')
    .where('enabled', '=', 1)
    .execute();
  // The same test as exports/export-rows.ts `usesLatestAction` (the store does not import capabilities).
  const accounts = new Set<string>();
  for (const r of rows) {
    const type = (JSON.parse(r.definition_json) as { type?: string }).type;
    if (type === 'statistics' || type === 'unsubscribers+statistics') accounts.add(r.account_id);
  }
  return [...accounts];
}
