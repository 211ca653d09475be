/**
 * Row sources of the export kinds: keyset pages from the store, turned into the columns of the instance.
 * Each source is an async generator, so the CSV stream pulls a page only when it has written the last one.
 */
import {
  eventExportPage,
  groupNamesOf,
  subscriberExportPage,
  type EventExportRow,
  type SubscriberExportRow,
} from '../store/exports-rows.repository.js';
import type { SMS_STATUSES} from '../store/index.js';
import { type Db, type EventKind } from '../store/index.js';
import { dateFormatter } from './date-format.js';
import type { ResolvedColumn } from './export-columns.js';
import type { ExportInstance } from './export-instance.js';
import type { ExportWindow } from './export-window.js';

/** Rows per page: large enough that per-query overhead vanishes, small enough to keep memory flat. */
export const PAGE_ROWS = 5000;

const STATUS_TYPE: Partial<Record<EventKind, string>> = {
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
export function smsStatus(detail: string | null, code: string | null): string {
  const word = (detail ?? code ?? '').trim().toUpperCase();
  // Provider codes such as `FAILED_AT_004` keep their outcome prefix.
  return SMS_SYNONYMS[word] ?? SMS_SYNONYMS[word.split(/[_\s:]/)[0] ?? ''] ?? 'UNKNOWN';
}

const s = (v: string | number | null | undefined): string => (v === null || v === undefined ? '' : String(v));

type Cell<R> = (row: R) => string;

function eventCell(
  key: string,
  fmt: (iso: string | null) => string,
  col: ResolvedColumn,
): Cell<EventExportRow> {
  if (col.fieldId !== undefined) {
    const id = col.fieldId;
    // Erased recipients (right to be forgotten) never get their personal data back through an export.
    return (r) => (r.erased ? '' : s(r.fields[id]));
  }
  switch (key) {
    case 'email':
      return (r) => s(r.email);
    case 'mobile':
    case 'recipient':
      return (r) => s(r.mobile);
    case 'listId':
      return (r) => s(r.listId);
    case 'optoutDate':
      return (r) => (r.kind === 'unsubscribe' ? fmt(r.occurredAt) : '');
    case 'subscriptionDate':
      return (r) => fmt(r.subscribedAt);
    case 'optoutMessageId':
      return (r) => s(r.messageNumber);
    case 'optoutType':
      return (r) => (r.kind === 'unsubscribe' ? s(r.code) : '');
    case 'sendingId':
      return (r) => s(r.sendingNumber);
    case 'messageId':
    case 'smsId':
      return (r) => s(r.messageNumber);
    case 'subject':
      return (r) => s(r.subject);
    case 'statusType':
      return (r) => STATUS_TYPE[r.kind] ?? '';
    case 'details':
      return (r) => (r.kind === 'click' ? s(r.url) : r.kind === 'bounce' ? s(r.code) : '');
    case 'statusChange':
    case 'responseDate':
      return (r) => fmt(r.occurredAt);
    case 'sentDate':
      return (r) => fmt(r.sentAt);
    case 'ip':
      return (r) => s(r.ip);
    case 'userAgent':
      return (r) => s(r.userAgent);
    case 'status':
      return (r) => smsStatus(r.detail, r.code);
    case 'statusCode':
      return (r) => s(r.code);
    default:
      return () => '';
  }
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

/** A page size override for tests and the benchmark. */
export interface SourceOptions {
  pageRows?: number;
}

function fieldIdsOf(columns: ResolvedColumn[]): number[] {
  return columns.filter((c) => c.fieldId !== undefined).map((c) => c.fieldId!);
}

/** Event-based kinds: unsubscribers, statistics, both, SMS statistics. */
export async function* eventRows(
  db: Db,
  inst: ExportInstance,
  columns: ResolvedColumn[],
  win: ExportWindow,
  opts: SourceOptions = {},
): AsyncGenerator<string[]> {
  const fmt = dateFormatter(inst.file.dateFormat, inst.file.timeZone);
  const cells = columns.map((c) => eventCell(c.key, fmt, c));
  const kinds = kindsOf(inst);
  const fieldIds = fieldIdsOf(columns);
  let after: { recordedAt: string; id: number } | undefined;
  const limit = opts.pageRows ?? PAGE_ROWS;
  for (;;) {
    const page = await eventExportPage(db, {
      accountId: inst.accountId,
      channel: inst.channel,
      kinds,
      lists: inst.lists,
      from: win.from,
      to: win.to,
      after,
      limit,
      fieldIds,
      requireKey: inst.channel === 'sms' ? 'mobile' : 'email',
      latestOnly: inst.type === 'statistics' || inst.type === 'unsubscribers+statistics',
    });
    for (const r of page) yield cells.map((c) => c(r));
    if (page.length < limit) return;
    const last = page[page.length - 1]!;
    after = { recordedAt: last.recordedAt, id: last.id };
  }
}

function subscriberCell(
  key: string,
  fmt: (iso: string | null) => string,
  col: ResolvedColumn,
  groups: () => Map<string, string[]>,
): Cell<SubscriberExportRow> {
  if (col.fieldId !== undefined) {
    const id = col.fieldId;
    return (r) => (r.erased ? '' : s(r.fields[id]));
  }
  switch (key) {
    case 'email':
      return (r) => s(r.email);
    case 'mobile':
      return (r) => s(r.mobile);
    case 'listId':
      return (r) => s(r.listId);
    case 'subscriptionDate':
      return (r) => fmt(r.subscribedAt);
    case 'groups':
      return (r) => (groups().get(`${r.recipientId}:${r.listId}`) ?? []).join(',');
    default:
      return () => '';
  }
}

/** Subscribers: a snapshot of current subscriptions, or those completed in the window. */
export async function* subscriberRows(
  db: Db,
  inst: ExportInstance,
  columns: ResolvedColumn[],
  win: ExportWindow,
  opts: SourceOptions = {},
): AsyncGenerator<string[]> {
  const fmt = dateFormatter(inst.file.dateFormat, inst.file.timeZone);
  let groups = new Map<string, string[]>();
  const cells = columns.map((c) => subscriberCell(c.key, fmt, c, () => groups));
  const wantsGroups = columns.some((c) => c.key === 'groups');
  const fieldIds = fieldIdsOf(columns);
  const limit = opts.pageRows ?? PAGE_ROWS;
  let after: { listId: number; recipientId: number } | undefined;
  for (;;) {
    const page = await subscriberExportPage(db, {
      accountId: inst.accountId,
      channel: 'email',
      lists: inst.lists,
      subscribedWindow: win.mode === 'snapshot' ? undefined : { from: win.from, to: win.to },
      after,
      limit,
      fieldIds,
    });
    if (wantsGroups)
      groups = await groupNamesOf(
        db,
        inst.accountId,
        [...new Set(page.map((r) => r.recipientId))],
        inst.lists,
      );
    for (const r of page) yield cells.map((c) => c(r));
    if (page.length < limit) return;
    const last = page[page.length - 1]!;
    after = { listId: last.listId, recipientId: last.recipientId };
  }
}

export function rowSource(
  db: Db,
  inst: ExportInstance,
  columns: ResolvedColumn[],
  win: ExportWindow,
  opts: SourceOptions = {},
): AsyncGenerator<string[]> {
  return inst.type === 'subscribers'
    ? subscriberRows(db, inst, columns, win, opts)
    : eventRows(db, inst, columns, win, opts);
}
