/**
 * Aggregates for the dashboard charts and the per-message events summary. Each is one grouped query on an
 * index (migration 0009, and 0001's `events_window_ix`), so its cost follows the rows of the chart's window
 * or of the one message, never the size of the tables:
 * - rows imported per day: `jobs (account_id, kind, created_at)`;
 * - opens and clicks per message, message summary: `events (message_id, kind, recipient_id)`;
 * - SMS delivery outcomes: `events (account_id, kind, recorded_at)`.
 */
import { sql } from 'kysely';
import type { Db } from './accounts.js';
import type { EventKind } from './tables.js';

export type DialectName = 'sqlite' | 'postgres';

const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** A numeric field of a job's `counters_json`, as SQL (JSON functions differ by dialect). */
function counter(dialect: DialectName, key: 'valid' | 'rejected') {
  return dialect === 'postgres'
    ? sql<number | string>`coalesce(sum((counters_json::jsonb ->> ${sql.lit(key)})::bigint), 0)`
    : sql<number | string>`coalesce(sum(json_extract(counters_json, ${sql.lit('$.' + key)})), 0)`;
}

export interface ImportDay {
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  jobs: number;
  /** Rows written to the lists (`counters.valid`). */
  imported: number;
  rejected: number;
}

/**
 * Import jobs of one account created in [from, to), grouped by UTC day of creation. Only finished jobs with
 * counters count (a running job's counters are not final). Days without imports are absent.
 */
export async function importRowsPerDay(
  db: Db,
  dialect: DialectName,
  accountId: string,
  from: string,
  to: string,
): Promise<ImportDay[]> {
  const day = sql<string>`substr(created_at, 1, 10)`;
  const rows = await db
    .selectFrom('jobs')
    .select([
      day.as('day'),
      (eb) => eb.fn.countAll().as('jobs'),
      counter(dialect, 'valid').as('imported'),
      counter(dialect, 'rejected').as('rejected'),
    ])
    .where('account_id', '=', accountId)
    .where('kind', '=', 'import')
    .where('created_at', '>=', from)
    .where('created_at', '<', to)
    .where('status', 'in', ['succeeded', 'partial'])
    .groupBy(day)
    .orderBy(day)
    .execute();
  return rows.map((r) => ({ day: r.day, jobs: n(r.jobs), imported: n(r.imported), rejected: n(r.rejected) }));
}

export interface KindCount {
  kind: EventKind;
  events: number;
  /** Distinct recipients with at least one such event. */
  recipients: number;
}

/** Events of some messages (internal ids) by message and kind, with distinct recipients. */
export async function eventCountsByMessage(
  db: Db,
  messageIds: number[],
  kinds?: EventKind[],
): Promise<Map<number, KindCount[]>> {
  const out = new Map<number, KindCount[]>();
  if (!messageIds.length) return out;
  let q = db
    .selectFrom('events')
    .select([
      'message_id',
      'kind',
      (eb) => eb.fn.countAll().as('events'),
      (eb) => eb.fn.count('recipient_id').distinct().as('recipients'),
    ])
    .where('message_id', 'in', messageIds);
  if (kinds) q = q.where('kind', 'in', kinds);
  const rows = await q.groupBy(['message_id', 'kind']).execute();
  for (const r of rows) {
    const list = out.get(r.message_id!) ?? [];
    list.push({ kind: r.kind, events: n(r.events), recipients: n(r.recipients) });
    out.set(r.message_id!, list);
  }
  return out;
}

export interface LinkClicks {
  url: string;
  clicks: number;
  recipients: number;
}

/** Clicks of one message per URL, most clicked first. */
export async function clicksPerLink(db: Db, messageId: number, limit = 100): Promise<LinkClicks[]> {
  const rows = await db
    .selectFrom('events')
    .select([
      'url',
      (eb) => eb.fn.countAll().as('clicks'),
      (eb) => eb.fn.count('recipient_id').distinct().as('recipients'),
    ])
    .where('message_id', '=', messageId)
    .where('kind', '=', 'click')
    .where('url', 'is not', null)
    .groupBy('url')
    .orderBy(sql`count(*)`, 'desc')
    .orderBy('url')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ url: r.url!, clicks: n(r.clicks), recipients: n(r.recipients) }));
}

/** Events of one message and kind by their `detail` (bounce: hard/soft; sms_status: the status word). */
export async function eventDetails(
  db: Db,
  messageId: number,
  kind: 'bounce' | 'sms_status',
): Promise<{ detail: string; events: number }[]> {
  const rows = await db
    .selectFrom('events')
    .select(['detail', (eb) => eb.fn.countAll().as('events')])
    .where('message_id', '=', messageId)
    .where('kind', '=', kind)
    .groupBy('detail')
    .orderBy('detail')
    .execute();
  return rows.map((r) => ({ detail: r.detail ?? 'unknown', events: n(r.events) }));
}

/** SMS delivery reports (`sms_status` events) of one account recorded in [from, to), by status. */
export async function smsOutcomes(
  db: Db,
  accountId: string,
  from: string,
  to: string,
): Promise<{ status: string; reports: number }[]> {
  const rows = await db
    .selectFrom('events')
    .select(['detail', (eb) => eb.fn.countAll().as('reports')])
    .where('account_id', '=', accountId)
    .where('kind', '=', 'sms_status')
    .where('recorded_at', '>=', from)
    .where('recorded_at', '<', to)
    .groupBy('detail')
    .orderBy('detail')
    .execute();
  return rows.map((r) => ({ status: r.detail ?? 'UNKNOWN', reports: n(r.reports) }));
}
