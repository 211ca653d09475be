/**
 * The COPY path of event exports on PostgreSQL: the server formats every cell and writes the CSV rows
 * (`COPY (…) TO STDOUT`, store/exports-copy.repository.ts), and node only adds the header, turns each row's LF
 * into CRLF when the instance wants it, and feeds the bytes to the same encoder, compression and destination
 * as the cursor path. It exists for speed: parsing rows into objects and writing cells in JS cost more than
 * the whole raw `COPY` of the same rows (bench/RESULTS.md "export").
 *
 * An instance takes this path only when the bytes are certainly the cursor path's (`copyEligible`); anything
 * else keeps the cursor path. test/exports/copy-path.test.ts compares both byte for byte.
 */
import {
  copyEventExport,
  supportsCopyExport,
  type CopyCell,
  type CopyDateFormat,
  type CopyOffsetPeriod,
  type CopyRead,
} from '../store/exports-copy.repository.js';
import type { Db } from '../store/index.js';
import { csvWriter } from './csv-encoder.js';
import { datePatternParts, zoneOffsetFn } from './date-format.js';
import type { ResolvedColumn } from './export-columns.js';
import type { ExportInstance } from './export-instance.js';
import { eventPageQuery, STATUS_TYPE } from './export-rows.js';
import type { ExportWindow } from './export-window.js';

/**
 * The cell of each column key the COPY path writes, as the cursor path's READERS write it (export-rows.ts).
 * Keys missing here (`status`: its provider-word mapping uses JS's Unicode case rules; `recipient`, `smsId`,
 * `responseDate` of SMS statistics; `groups` of subscribers) keep an instance on the cursor path.
 */
const CELLS: Record<string, CopyCell> = {
  email: { column: 'email' },
  mobile: { column: 'mobile' },
  listId: { column: 'listId' },
  optoutDate: { byKind: { unsubscribe: { date: 'occurredAt' } } },
  subscriptionDate: { date: 'subscribedAt' },
  optoutMessageId: { column: 'messageNumber' },
  optoutType: { byKind: { unsubscribe: { column: 'code' } } },
  sendingId: { column: 'sendingNumber' },
  messageId: { column: 'messageNumber' },
  subject: { column: 'subject' },
  statusType: {
    byKind: Object.fromEntries(Object.entries(STATUS_TYPE).map(([kind, text]) => [kind, { text }])),
  },
  details: { byKind: { click: { column: 'url' }, bounce: { column: 'code' } } },
  statusChange: { date: 'occurredAt' },
  sentDate: { date: 'sentAt' },
  ip: { column: 'ip' },
  userAgent: { column: 'userAgent' },
};

/**
 * Whether an instance's file comes out of the COPY path byte for byte as out of the cursor path: PostgreSQL
 * (outside a transaction), an email event kind, UTF-8 (windows-1252's per-row policy needs every cell in JS),
 * every column in CELLS, and at least two columns (PostgreSQL quotes a lone `\.` value of a one-column row, the
 * end-of-data marker of its text protocol; datasync's encoder does not).
 */
export function copyEligible(db: Db, inst: ExportInstance, columns: readonly ResolvedColumn[]): boolean {
  return (
    (inst.type === 'statistics' ||
      inst.type === 'unsubscribers' ||
      inst.type === 'unsubscribers+statistics') &&
    inst.file.encoding === 'utf-8' &&
    columns.length >= 2 &&
    columns.every((c) => c.fieldId !== undefined || CELLS[c.key] !== undefined) &&
    supportsCopyExport(db)
  );
}

const DAY_MS = 86_400_000;
const QUARTER_MS = 15 * 60_000;
/** First instant of the offset periods handed to SQL; older dates use PostgreSQL's zone data. */
const PERIODS_FROM = Date.UTC(2000, 0, 1);

/**
 * The zone's offset periods from 2000 to at least a year after `to`, as date-format.ts computes offsets (Intl,
 * constant within a quarter hour): a day-by-day walk, then a bisection by quarter hours inside a day whose
 * offset moved. ~120 ms of `Intl` calls, so cached per zone (a cached list reaches a year past its `to`).
 */
const periodCache = new Map<string, { end: number; periods: CopyOffsetPeriod[] }>();
export function offsetPeriods(timeZone: string, to: string): CopyOffsetPeriod[] {
  const needed = (Math.floor(Date.parse(to) / DAY_MS) + 1) * DAY_MS;
  const hit = periodCache.get(timeZone);
  if (hit && hit.end >= needed) return hit.periods;
  const end = needed + 365 * DAY_MS;
  const offset = zoneOffsetFn(timeZone);
  const out: CopyOffsetPeriod[] = [];
  let start = PERIODS_FROM;
  let current = offset(start);
  for (let day = PERIODS_FROM; day < end; day += DAY_MS) {
    const next = offset(day + DAY_MS);
    if (next === current) continue;
    // The first quarter of (day, day + 1 day] whose offset differs from `current`. Two changes within one
    // day (none in the tz database since 2000) would be missed by the walk.
    let lo = day / QUARTER_MS;
    let hi = (day + DAY_MS) / QUARTER_MS;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (offset(mid * QUARTER_MS) === current) lo = mid;
      else hi = mid;
    }
    const at = hi * QUARTER_MS;
    out.push({
      from: new Date(start).toISOString(),
      to: new Date(at).toISOString(),
      offsetSeconds: current / 1000,
    });
    start = at;
    current = offset(at);
  }
  out.push({
    from: new Date(start).toISOString(),
    to: new Date(end).toISOString(),
    offsetSeconds: current / 1000,
  });
  periodCache.set(timeZone, { end, periods: out });
  return out;
}

/**
 * Walks PostgreSQL's CSV bytes row by row: counts the rows and, for `crlf`, writes each row's LF as CRLF. A LF
 * inside a quoted value stays a LF (the cursor path writes values as they are). The quote state carries over
 * from one chunk to the next; a chunk with no quote and no open quoted value takes the fast path (its LFs are
 * all row ends).
 */
export function rowEndScanner(
  quote: string,
  crlf: boolean,
): (chunk: Buffer) => { out: Buffer; rows: number } {
  const q = quote.charCodeAt(0);
  let quoted = false;
  const ends: number[] = [];
  return (chunk) => {
    ends.length = 0;
    let i = 0;
    let nextQuote = quoted ? -2 : chunk.indexOf(q);
    if (nextQuote === -1) {
      for (let lf = chunk.indexOf(10); lf >= 0; lf = chunk.indexOf(10, lf + 1)) ends.push(lf);
    } else {
      while (i < chunk.length) {
        if (quoted) {
          const close = chunk.indexOf(q, i);
          if (close < 0) break;
          quoted = false;
          i = close + 1;
          continue;
        }
        if (nextQuote !== -1 && nextQuote < i) nextQuote = chunk.indexOf(q, i);
        const lf = chunk.indexOf(10, i);
        if (lf >= 0 && (nextQuote === -1 || lf < nextQuote)) {
          ends.push(lf);
          i = lf + 1;
        } else if (nextQuote !== -1) {
          // A doubled quote inside a value closes and reopens: the state stays right.
          quoted = true;
          i = nextQuote + 1;
        } else break;
      }
    }
    if (!crlf || ends.length === 0) return { out: chunk, rows: ends.length };
    const out = Buffer.allocUnsafe(chunk.length + ends.length);
    let from = 0;
    let to = 0;
    for (const lf of ends) {
      to += chunk.copy(out, to, from, lf);
      out[to++] = 13;
      out[to++] = 10;
      from = lf + 1;
    }
    chunk.copy(out, to, from);
    return { out, rows: ends.length };
  };
}

export interface CopyExportOptions {
  /** PostgreSQL `work_mem` of the read (default EXPORT_WORK_MEM). */
  workMem?: string;
  /** Called after each row, with the rows so far (the runner's `onRow`). */
  onRow?: (rows: number) => void | Promise<void>;
}

/** A started COPY export: the CSV text (header included) and, once read, its row count. */
export interface CopyExport {
  /** Whether the window has no row (the first chunk is read before the file is created). */
  readonly empty: boolean;
  /** The file's text: the header (when on), then the rows with the instance's line ending. */
  chunks(header: readonly string[] | null): AsyncGenerator<Buffer>;
  /** The error of the read, if it failed (to tell it from a destination error). */
  readonly error: unknown;
  /** After `chunks` ended: waits for the statement's end and returns the rows COPY wrote. */
  finish(): Promise<number>;
  /** Releases the connection; harmless after `finish`. */
  close(): void;
}

/** Starts the COPY of an eligible instance (`copyEligible`) and reads its first chunk. */
export async function startCopyExport(
  db: Db,
  inst: ExportInstance,
  columns: readonly ResolvedColumn[],
  win: ExportWindow,
  opts: CopyExportOptions = {},
): Promise<CopyExport> {
  const cells = columns.map((c) => (c.fieldId !== undefined ? { field: c.fieldId } : CELLS[c.key]!));
  const date: CopyDateFormat = {
    parts: datePatternParts(inst.file.dateFormat),
    periods: offsetPeriods(inst.file.timeZone, win.to),
    timeZone: inst.file.timeZone,
  };
  const read: CopyRead = await copyEventExport(
    db,
    eventPageQuery(inst, win, [], []),
    cells,
    date,
    { separator: inst.file.separator, quote: inst.file.quote },
    { workMem: opts.workMem },
  );
  const it = read.data[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let error: unknown;
  let first: IteratorResult<Buffer>;
  try {
    first = await it.next();
  } catch (e) {
    read.abort();
    throw e;
  }
  const scan = rowEndScanner(inst.file.quote, inst.file.lineEnding === 'crlf');
  let rows = 0;
  return {
    empty: first.done === true,
    get error() {
      return error;
    },
    async *chunks(header) {
      if (header) yield Buffer.from(csvWriter(inst.file)([header]), 'utf8');
      try {
        for (let c = first; !c.done; c = await it.next()) {
          const { out, rows: n } = scan(c.value);
          if (opts.onRow) for (let k = 0; k < n; k++) await opts.onRow(++rows);
          yield out;
        }
      } catch (e) {
        error = e;
        throw e;
      }
    },
    finish: () => read.finish(),
    close: () => read.abort(),
  };
}
