/**
 * PostgreSQL `COPY (…) TO STDOUT` of an event export (reference §3.4): the server selects the rows of the
 * window, formats every cell in SQL and writes the CSV itself, so the client only moves bytes. It reads the
 * same rows, in the same order, as `eventQuery` (exports-rows.repository.ts); what each cell holds is decided
 * by the exports capability (exports/export-copy.ts) and described here as data (`CopyCell`).
 *
 * Two rules of PostgreSQL's CSV writer shape the SQL:
 *
 * - An empty string is written quoted (`""`, to tell it from NULL) where datasync's encoder writes nothing: every
 *   text cell is `nullif(…, '')`, and NULL is written as nothing.
 * - COPY takes no bind parameters: the statement is built with Kysely's `sql` and its parameters are then
 *   written into the text as escaped literals (`inlineParameters`).
 *
 * Dates are stored as fixed-width ISO text (`toISOString()`, UTC). A zone of offset 0 formats them by cutting
 * the text (`substr`, no cast); any other zone adds the offset the exports capability computed with the same
 * `Intl` data the JS path uses (a `case` on the text per offset period) and formats with `to_char`. Instants
 * outside those periods fall back to PostgreSQL's own zone data (`at time zone`).
 */
import { sql, type RawBuilder } from 'kysely';
import { to as copyTo } from 'pg-copy-streams';
import type { Readable } from 'node:stream';
import type { Db } from './accounts.js';
import { pgPoolOf } from './connection.js';
import {
  EXPORT_WORK_MEM,
  latestFilter,
  type EventExportColumn,
  type EventPageQuery,
} from './exports-rows.repository.js';
import type { EventKind } from './tables.js';

/** A date token of an export date pattern (exports/date-format.ts). */
export type CopyDateToken = 'YYYY' | 'MM' | 'DD' | 'hh' | 'mm' | 'ss' | 'SSS';

/** One period of a zone's UTC offset: instants in [from, to) (ISO text) are `offsetSeconds` from UTC. */
export interface CopyOffsetPeriod {
  from: string;
  to: string;
  offsetSeconds: number;
}

/** How the date cells of an export are written. */
export interface CopyDateFormat {
  /** The pattern, split into literal texts and tokens. */
  parts: readonly (string | { token: CopyDateToken })[];
  /** Consecutive offset periods of the zone (ascending, contiguous). */
  periods: readonly CopyOffsetPeriod[];
  /** IANA name of the zone, for instants outside `periods`. */
  timeZone: string;
}

/** Date columns of an event row. */
export type CopyDateColumn = 'occurredAt' | 'sentAt' | 'subscribedAt';

/** A value a cell can hold: an event row's column, a formatted date, or a fixed text. */
export type CopyValue =
  | { column: Exclude<EventExportColumn, CopyDateColumn | 'erased' | 'recipientId'> }
  | { date: CopyDateColumn }
  | { text: string };

/**
 * One cell of the CSV row: a value; a value only on rows of some kinds (empty on the others); or an appended
 * recipient field (empty for an erased recipient).
 */
export type CopyCell = CopyValue | { byKind: Partial<Record<EventKind, CopyValue>> } | { field: number };

export interface CopyCsvOptions {
  separator: string;
  quote: string;
}

/** SQL of the plain (non-date) columns; the join each needs (`r` = recipients is always joined). */
const COLUMN_SQL: Record<
  Exclude<EventExportColumn, CopyDateColumn | 'erased' | 'recipientId'>,
  { sql: string; join?: 'm' | 'sd'; text: boolean }
> = {
  listId: { sql: 'e.list_id', text: false },
  url: { sql: 'e.url', text: true },
  code: { sql: 'e.code', text: true },
  detail: { sql: 'e.detail', text: true },
  ip: { sql: 'e.ip', text: true },
  userAgent: { sql: 'e.user_agent', text: true },
  email: { sql: 'r.email', text: true },
  mobile: { sql: 'r.mobile', text: true },
  messageNumber: { sql: 'm.message_number', join: 'm', text: false },
  subject: { sql: 'm.subject', join: 'm', text: true },
  sendingNumber: { sql: 'sd.sending_number', join: 'sd', text: false },
};

const TO_CHAR: Record<CopyDateToken, string> = {
  YYYY: 'YYYY',
  MM: 'MM',
  DD: 'DD',
  hh: 'HH24',
  mm: 'MI',
  ss: 'SS',
  SSS: 'MS',
};

/** Where each token sits in `YYYY-MM-DDThh:mm:ss.SSSZ` (1-based start, length). */
const ISO_SPAN: Record<CopyDateToken, [number, number]> = {
  YYYY: [1, 4],
  MM: [6, 2],
  DD: [9, 2],
  hh: [12, 2],
  mm: [15, 2],
  ss: [18, 2],
  SSS: [21, 3],
};

/** The SQL of a date pattern over an ISO text expression (null and '' stay null). */
function dateSql(x: string, f: CopyDateFormat): RawBuilder<unknown> {
  const textCut = sql.raw(
    f.parts
      .map((p) =>
        typeof p === 'string' ? literal(p) : `substr(${x}, ${ISO_SPAN[p.token][0]}, ${ISO_SPAN[p.token][1]})`,
      )
      .join(' || ') || "''",
  );
  // Literal text double-quoted (backslash before `"` and `\`), and `""` between two tokens: `DDDD` would
  // otherwise read as to_char's day of year.
  const fmt = f.parts
    .map((p) => (typeof p === 'string' ? `"${p.replace(/[\\"]/g, '\\$&')}"` : `${TO_CHAR[p.token]}""`))
    .join('');
  const periods = f.periods;
  // PostgreSQL's zone data outside the periods the caller computed (their bounds cover the data in practice).
  const fallback = sql`to_char((${sql.raw(x)})::timestamptz at time zone ${f.timeZone}, ${fmt})`;
  if (periods.length === 0) return sql`nullif(${fallback}, '')`;
  const lo = periods[0]!.from;
  const hi = periods[periods.length - 1]!.to;
  const inRange = periods.every((p) => p.offsetSeconds === 0)
    ? textCut
    : sql`to_char((${sql.raw(x)})::timestamp + case ${sql.join(
        // Newest period first: most rows are recent, and `case` stops at the first match.
        [...periods]
          .reverse()
          .map(
            (p) =>
              sql`when ${sql.raw(x)} collate "C" >= ${p.from} then interval '${sql.raw(String(p.offsetSeconds))} seconds'`,
          ),
        sql` `,
      )} end, ${fmt})`;
  // `collate "C"`: ISO texts compare as times byte by byte, whatever the database's collation.
  return sql`case when ${sql.raw(x)} = '' then null
    when ${sql.raw(x)} collate "C" >= ${lo} and ${sql.raw(x)} collate "C" < ${hi} then ${inRange}
    else ${fallback} end`;
}

/** The SQL of one value (`text` = whether it is text, so that '' becomes NULL). */
function valueSql(
  v: CopyValue,
  dates: Record<CopyDateColumn, RawBuilder<unknown>>,
  joins: Set<string>,
): RawBuilder<unknown> {
  if ('text' in v) return v.text === '' ? sql`null` : sql`${v.text}::text`;
  if ('date' in v) {
    if (v.date === 'sentAt') joins.add('sd');
    if (v.date === 'subscribedAt') joins.add('sub');
    return dates[v.date];
  }
  const c = COLUMN_SQL[v.column];
  if (c.join) joins.add(c.join);
  return c.text ? sql.raw(`nullif(${c.sql}, '')`) : sql.raw(c.sql);
}

/** The `COPY (…) TO STDOUT` statement of an event export, parameters not yet inlined. */
export function eventCopyStatement(
  q: EventPageQuery,
  cells: readonly CopyCell[],
  date: CopyDateFormat,
  csv: CopyCsvOptions,
): RawBuilder<unknown> {
  const joins = new Set<string>();
  // sentDate is the same for every row of a sending: formatted once per sending (the `offset 0` keeps the
  // subquery from being flattened, which would format it again for every row).
  const dates: Record<CopyDateColumn, RawBuilder<unknown>> = {
    occurredAt: dateSql('e.occurred_at', date),
    sentAt: sql.raw('sd.sent_text'),
    subscribedAt: dateSql('sub.subscribed_at', date),
  };
  const select = cells.map((cell) => {
    if ('field' in cell)
      return sql.raw(`case when r.erased_at is null then nullif(r.f${Number(cell.field)}, '') end`);
    if ('byKind' in cell) {
      const arms = Object.entries(cell.byKind).map(
        ([kind, v]) => sql`when ${kind} then ${valueSql(v, dates, joins)}`,
      );
      return sql`case e.kind ${sql.join(arms, sql` `)} end`;
    }
    return valueSql(cell, dates, joins);
  });
  const from = [
    joins.has('m') ? sql`left join messages m on m.id = e.message_id` : sql``,
    joins.has('sd')
      ? sql`left join (select s.id, s.sending_number,
            ${dateSql('coalesce(s.started_at, s.created_at)', date)} as sent_text
          from sendings s where s.account_id = ${q.accountId} offset 0) sd on sd.id = e.sending_id`
      : sql``,
    joins.has('sub')
      ? sql`left join subscriptions sub
          on sub.recipient_id = e.recipient_id and sub.list_id = e.list_id and sub.channel = e.channel`
      : sql``,
  ];
  const window =
    q.from === null
      ? sql`e.recorded_at < ${q.to}`
      : sql`e.recorded_at >= ${q.from} and e.recorded_at < ${q.to}`;
  const key = sql.raw(q.requireKey === 'email' ? 'r.email' : 'r.mobile');
  const query = sql`select ${sql.join(select)}
    from events e
    join recipients r on r.id = e.recipient_id
    ${sql.join(from, sql` `)}
    where e.account_id = ${q.accountId} and e.channel = ${q.channel} and ${window}
      and e.kind in (${sql.join([...q.kinds])}) and e.list_id in (${sql.join([...q.lists])})
      and ${key} is not null ${latestFilter(q)}
    order by e.recorded_at, e.id`;
  return sql`copy (${query}) to stdout (format csv, delimiter ${csv.separator}, quote ${csv.quote}, header false)`;
}

/** A string as a PostgreSQL literal (the escaping of pg's `escapeLiteral`). */
function literal(s: string): string {
  const body = s.replace(/'/g, "''");
  return s.includes('\\') ? ` E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}

/**
 * A compiled statement with its `$n` placeholders replaced by literals, for statements that take no
 * parameters (COPY). Placeholders inside quoted literals or identifiers are left alone.
 */
export function inlineParameters(text: string, parameters: readonly unknown[]): string {
  const lit = (v: unknown): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`cannot inline ${v}`);
      return String(v);
    }
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (typeof v === 'string') return literal(v);
    throw new Error(`cannot inline a parameter of type ${typeof v}`);
  };
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = text.indexOf(c, i + 1);
      if (end < 0) throw new Error('unterminated quote in a statement');
      out += text.slice(i, end + 1);
      i = end + 1;
    } else if (c === '$' && /[0-9]/.test(text[i + 1] ?? '')) {
      let j = i + 1;
      while (j < text.length && /[0-9]/.test(text[j]!)) j++;
      const n = Number(text.slice(i + 1, j));
      if (n < 1 || n > parameters.length) throw new Error(`no parameter $${n}`);
      out += lit(parameters[n - 1]);
      i = j;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** A running COPY: its bytes, and its row count once they have all been read. */
export interface CopyRead {
  /** The CSV rows as PostgreSQL writes them (LF after each row). */
  readonly data: Readable;
  /**
   * Waits for the end of the statement and ends the read-only transaction; resolves the rows COPY wrote.
   * Call after `data` ended.
   */
  finish(): Promise<number>;
  /** Gives the connection up without waiting (an unfinished COPY cannot be stopped on the wire). */
  abort(): void;
}

/** Knobs of the read transaction (as the cursor path's). */
export interface CopyReadOptions {
  /** `work_mem` of the transaction; default EXPORT_WORK_MEM. */
  workMem?: string;
}

/** Whether `db` can run `copyEventExport` (a PostgreSQL store, outside a transaction). */
export function supportsCopyExport(db: Db): boolean {
  return !db.isTransaction && pgPoolOf(db) !== undefined;
}

/**
 * Starts the COPY of an event export on a connection of its own, in a read-only transaction with the settings
 * of the cursor path (`work_mem`, JIT off: bench/RESULTS.md "export").
 */
export async function copyEventExport(
  db: Db,
  q: EventPageQuery,
  cells: readonly CopyCell[],
  date: CopyDateFormat,
  csv: CopyCsvOptions,
  opts: CopyReadOptions = {},
): Promise<CopyRead> {
  const pool = pgPoolOf(db);
  if (!pool || db.isTransaction)
    throw new Error('COPY exports need a PostgreSQL store outside a transaction');
  const compiled = eventCopyStatement(q, cells, date, csv).compile(db);
  const text = inlineParameters(compiled.sql, compiled.parameters);
  const client = await pool.connect();
  let released = false;
  const release = (err?: Error) => {
    if (released) return;
    released = true;
    client.release(err);
  };
  try {
    await client.query('begin transaction read only');
    await client.query(`select set_config('work_mem', $1, true), set_config('jit', 'off', true)`, [
      opts.workMem ?? EXPORT_WORK_MEM,
    ]);
  } catch (e) {
    release(e as Error);
    throw e;
  }
  const data = client.query(copyTo(text));
  // A failed statement ends the stream with the error; the connection is then discarded.
  data.on('error', (e) => release(e));
  return {
    data,
    async finish() {
      try {
        // The command tag (COPY n) is read before the reply to the next statement.
        await client.query('commit');
        const rows = data.rowCount;
        release();
        return rows;
      } catch (e) {
        release(e as Error);
        throw e;
      }
    },
    abort() {
      // Discarding the connection ends the statement and the transaction on the server.
      release(new Error('export COPY aborted'));
    },
  };
}
