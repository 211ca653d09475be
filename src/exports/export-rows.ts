/**
 * Row sources of the export kinds: pages from the store (a cursor on PostgreSQL, keyset pages on SQLite), turned
 * into the columns of the instance. A source is an async generator of pages of rows, so the CSV stream pulls a
 * page only when it has written the last one, and per-row work stays synchronous.
 */
import {
  eventExportPages,
  groupNamesOf,
  subscriberExportPages,
  type EventExportColumn,
  type EventExportRow,
  type EventPageQuery,
  type FieldKey,
  type SubscriberExportRow,
} from '../store/exports-rows.repository.js';
import type { SMS_STATUSES } from '../store/index.js';
import { type Db, type EventKind } from '../store/index.js';
import { dateFormatter, type DateFormatter } from './date-format.js';
import type { ResolvedColumn } from './export-columns.js';
import type { ExportInstance } from './export-instance.js';
import type { ExportWindow } from './export-window.js';

/**
 * Rows per page (a keyset query on SQLite, a FETCH on PostgreSQL): large enough that per-query overhead
 * vanishes, small enough that a page dies young in V8's new space (5,000-row pages: 311 MB peak RSS in the full-scale
 * statistics benchmark on SQLite; bench/RESULTS.md "export").
 */
export const PAGE_ROWS = 2_000;

export const STATUS_TYPE: Partial<Record<EventKind, string>> = {
  open: 'OPN',
  click: 'CLK',
  bounce: 'NCO',
  sent: 'SNT',
  unsubscribe: 'UNS',
};

const SMS_SYNONYMS: Record<string, (typeof SMS_STATUSES)[number]> = {
  DELIVERED: 'DELIVERED',
  DELIVRD: 'DELIVERED',
  '0': 'DELIVERED',
  QUEUED: 'QUEUED',
  ACCEPTD: 'QUEUED',
  ACCEPTED: 'QUEUED',
  ENROUTE: 'QUEUED',
  BUFFERED: 'QUEUED',
  SENT: 'QUEUED',
  '1': 'QUEUED',
  FAILED: 'FAILED',
  ERROR: 'FAILED',
  '2': 'FAILED',
  UNKNOWN: 'UNKNOWN',
  NACK: 'NACK',
  UNDELIV: 'UNDELIV',
  UNDELIVERABLE: 'UNDELIV',
  UNDELIVERED: 'UNDELIV',
  REJECTD: 'REJECTD',
  REJECTED: 'REJECTD',
  EXPIRED: 'EXPIRED',
};

/** Maps a provider's delivery word (event `detail`, else `code`) onto the export vocabulary. */
export function smsStatus(detail: string | null | undefined, code: string | null | undefined): string {
  const word = (detail ?? code ?? '').trim().toUpperCase();
  // Provider codes such as `FAILED_AT_004` keep their outcome prefix.
  return SMS_SYNONYMS[word] ?? SMS_SYNONYMS[word.split(/[_\s:]/)[0] ?? ''] ?? 'UNKNOWN';
}

const s = (v: string | number | null | undefined): string => (v === null || v === undefined ? '' : String(v));

/**
 * What a cell reads: an event row, or a subscription row (the same property names; no kind). Subscriber
 * layouts only name the columns a subscription row has (export-columns.ts), so `kind` is there when read.
 */
type Row = Omit<EventExportRow, 'id' | 'kind' | 'recordedAt'> & { kind?: EventKind };

interface CellContext {
  /** A date formatter of the instance; one per column, so each keeps its own last-value memo. */
  fmt: () => DateFormatter;
  /** `${recipientId}:${listId}` → group names, for the page being written (subscribers' `groups`). */
  groups: Map<string, string[]>;
}

/** A column's cell and the optional event columns it reads from the store. */
interface ColumnReader {
  reads: EventExportColumn[];
  cell: (ctx: CellContext) => (r: Row) => string;
}

const plain = (col: EventExportColumn): ColumnReader => ({
  reads: [col],
  cell: () => (r) => s(r[col] as string | number | null | undefined),
});
const date = (col: 'occurredAt' | 'sentAt' | 'subscribedAt'): ColumnReader => ({
  reads: [col],
  cell: (ctx) => {
    const fmt = ctx.fmt();
    return (r) => fmt(r[col]);
  },
});

/** Every column key of every kind (export-columns.ts) → how to read and write it. */
const READERS: Record<string, ColumnReader> = {
  email: plain('email'),
  mobile: plain('mobile'),
  recipient: plain('mobile'),
  listId: plain('listId'),
  optoutDate: {
    reads: ['occurredAt'],
    cell: (ctx) => {
      const fmt = ctx.fmt();
      return (r) => (r.kind === 'unsubscribe' ? fmt(r.occurredAt) : '');
    },
  },
  subscriptionDate: date('subscribedAt'),
  optoutMessageId: plain('messageNumber'),
  optoutType: { reads: ['code'], cell: () => (r) => (r.kind === 'unsubscribe' ? s(r.code) : '') },
  sendingId: plain('sendingNumber'),
  messageId: plain('messageNumber'),
  smsId: plain('messageNumber'),
  subject: plain('subject'),
  statusType: { reads: [], cell: () => (r) => STATUS_TYPE[r.kind!] ?? '' },
  details: {
    reads: ['url', 'code'],
    cell: () => (r) => (r.kind === 'click' ? s(r.url) : r.kind === 'bounce' ? s(r.code) : ''),
  },
  statusChange: date('occurredAt'),
  responseDate: date('occurredAt'),
  sentDate: date('sentAt'),
  ip: plain('ip'),
  userAgent: plain('userAgent'),
  status: { reads: ['detail', 'code'], cell: () => (r) => smsStatus(r.detail, r.code) },
  statusCode: plain('code'),
  groups: {
    reads: ['recipientId', 'listId'],
    cell: (ctx) => (r) => (ctx.groups.get(`${r.recipientId}:${r.listId}`) ?? []).join(','),
  },
};

function fieldReader(fieldId: number): ColumnReader {
  const key: FieldKey = `f${fieldId}`;
  // Erased recipients (right to be forgotten) never get their personal data back through an export.
  return { reads: ['erased'], cell: () => (r) => (r.erased ? '' : s(r[key])) };
}

/** The cells of an instance's columns, and the store columns they read. */
function layout(
  inst: ExportInstance,
  columns: ResolvedColumn[],
): { reads: EventExportColumn[]; fieldIds: number[]; ctx: CellContext; cells: ((r: Row) => string)[] } {
  const ctx: CellContext = {
    fmt: () => dateFormatter(inst.file.dateFormat, inst.file.timeZone),
    groups: new Map(),
  };
  const readers = columns.map((c) =>
    c.fieldId !== undefined
      ? fieldReader(c.fieldId)
      : (READERS[c.key] ?? { reads: [], cell: () => () => '' }),
  );
  return {
    reads: [...new Set(readers.flatMap((r) => r.reads))],
    fieldIds: columns.filter((c) => c.fieldId !== undefined).map((c) => c.fieldId!),
    ctx,
    cells: readers.map((r) => r.cell(ctx)),
  };
}

function toCells(page: readonly Row[], cells: ((r: Row) => string)[]): string[][] {
  const out = new Array<string[]>(page.length);
  const n = cells.length;
  for (let i = 0; i < page.length; i++) {
    const r = page[i]!;
    const row = new Array<string>(n);
    for (let j = 0; j < n; j++) row[j] = cells[j]!(r);
    out[i] = row;
  }
  return out;
}

/** The event kinds an export kind reads. */
export function kindsOf(inst: ExportInstance): EventKind[] {
  const stats: EventKind[] = inst.includeSent
    ? ['open', 'click', 'bounce', 'sent']
    : ['open', 'click', 'bounce'];
  switch (inst.type) {
    case 'unsubscribers':
      return ['unsubscribe'];
    case 'statistics':
      return stats;
    case 'unsubscribers+statistics':
      return [...stats, 'unsubscribe'];
    case 'sms-statistics':
      return ['sms_status'];
    case 'subscribers':
      return [];
  }
}

/** A page size override for tests and the benchmark, and PostgreSQL's `work_mem` for the read. */
export interface SourceOptions {
  pageRows?: number;
  /** PostgreSQL `work_mem` of the export's read transaction (default EXPORT_WORK_MEM, 64MB). */
  workMem?: string;
  /**
   * PostgreSQL: `false` keeps an instance the COPY path could write (export-copy.ts) on the cursor path, so
   * tests and the benchmark can compare both. Default true.
   */
  copy?: boolean;
}

/** Whether an export applies §3.4.2's latest-action rule (and so reads the superseded marks). */
export function usesLatestAction(inst: Pick<ExportInstance, 'type'>): boolean {
  return inst.type === 'statistics' || inst.type === 'unsubscribers+statistics';
}

/** The store query of an event export: which events of which window, and the columns read. */
export function eventPageQuery(
  inst: ExportInstance,
  win: ExportWindow,
  columns: EventExportColumn[],
  fieldIds: number[],
): EventPageQuery {
  return {
    accountId: inst.accountId,
    channel: inst.channel,
    kinds: kindsOf(inst),
    lists: inst.lists,
    from: win.from,
    to: win.to,
    columns,
    fieldIds,
    requireKey: inst.channel === 'sms' ? 'mobile' : 'email',
    latestOnly: usesLatestAction(inst),
  };
}

/** Event-based kinds: unsubscribers, statistics, both, SMS statistics. */
export async function* eventRows(
  db: Db,
  inst: ExportInstance,
  columns: ResolvedColumn[],
  win: ExportWindow,
  opts: SourceOptions = {},
): AsyncGenerator<string[][]> {
  const { reads, fieldIds, cells } = layout(inst, columns);
  const pages = eventExportPages(db, eventPageQuery(inst, win, reads, fieldIds), opts.pageRows ?? PAGE_ROWS, {
    workMem: opts.workMem,
  });
  for await (const page of pages) yield toCells(page, cells);
}

/** Subscribers: a snapshot of current subscriptions, or those completed in the window. */
export async function* subscriberRows(
  db: Db,
  inst: ExportInstance,
  columns: ResolvedColumn[],
  win: ExportWindow,
  opts: SourceOptions = {},
): AsyncGenerator<string[][]> {
  const { fieldIds, ctx, cells } = layout(inst, columns);
  const wantsGroups = columns.some((c) => c.key === 'groups');
  const pages = subscriberExportPages(
    db,
    {
      accountId: inst.accountId,
      channel: 'email',
      lists: inst.lists,
      subscribedWindow: win.mode === 'snapshot' ? undefined : { from: win.from, to: win.to },
      fieldIds,
    },
    opts.pageRows ?? PAGE_ROWS,
    { workMem: opts.workMem },
  );
  for await (const page of pages as AsyncGenerator<SubscriberExportRow[]>) {
    if (wantsGroups)
      ctx.groups = await groupNamesOf(
        db,
        inst.accountId,
        [...new Set(page.map((r) => r.recipientId))],
        inst.lists,
      );
    yield toCells(page, cells);
  }
}

export function rowSource(
  db: Db,
  inst: ExportInstance,
  columns: ResolvedColumn[],
  win: ExportWindow,
  opts: SourceOptions = {},
): AsyncGenerator<string[][]> {
  return inst.type === 'subscribers'
    ? subscriberRows(db, inst, columns, win, opts)
    : eventRows(db, inst, columns, win, opts);
}
