/**
 * Delivery reports (DLRs): parsing per provider, and recording as `sms_status` events that the
 * `sms-statistics` export reads (reference §3.4.3).
 *
 * A report is matched to its message through the `sent` event's provider message id. A receipt can arrive
 * before the `sent` event of its message is committed (SMSCs answer submit_sm and send the receipt within
 * milliseconds, while the sender commits events in batches), so `DeliveryReportRecorder` parks unknown ids
 * and retries them after each commit. Recording is idempotent: the event's idempotency key is
 * `dlr:<provider>:<id>:<status>`, so a re-sent report (SMSCs retry deliver_sm) is recorded once.
 */
import { DatasyncError } from '../errors.js';
import { DuplicateError } from '../errors.js';
import {
  findSmsSentEvent,
  findSmsSentEvents,
  insertNewSmsEvents,
  insertSmsEvents,
} from '../store/sms-campaigns.repository.js';
import type { Db, Store } from '../store/index.js';
import type { DeliveryReport, SmsStatus } from './sms-provider.js';

/** SMPP receipt `stat:` words (SMPP 3.4 appendix B) → our vocabulary. */
const SMPP_STAT: Record<string, SmsStatus> = {
  DELIVRD: 'DELIVERED',
  EXPIRED: 'EXPIRED',
  DELETED: 'FAILED',
  UNDELIV: 'UNDELIV',
  ACCEPTD: 'QUEUED',
  ENROUTE: 'QUEUED',
  UNKNOWN: 'UNKNOWN',
  REJECTD: 'REJECTD',
  FAILED: 'FAILED',
};

/** Map any provider status word (SMPP stat, HTTP JSON status) to the vocabulary; unknown words → UNKNOWN. */
export function mapStatusWord(word: string): SmsStatus {
  const w = word.trim().toUpperCase();
  if (w in SMPP_STAT) return SMPP_STAT[w]!;
  if (['DELIVERED', 'QUEUED', 'FAILED', 'UNKNOWN', 'NACK', 'UNDELIV', 'REJECTD', 'EXPIRED'].includes(w))
    return w as SmsStatus;
  if (w === 'UNDELIVERED' || w === 'UNDELIVERABLE') return 'UNDELIV';
  if (w === 'REJECTED') return 'REJECTD';
  if (w === 'SENT' || w === 'ACCEPTED' || w === 'BUFFERED' || w === 'PENDING') return 'QUEUED';
  return 'UNKNOWN';
}

/** SMPP `message_state` TLV values (SMPP 3.4 §5.2.28) → status, for receipts without a parsable text. */
const MESSAGE_STATE: Record<number, SmsStatus> = {
  1: 'QUEUED',
  2: 'DELIVERED',
  3: 'EXPIRED',
  4: 'FAILED',
  5: 'UNDELIV',
  6: 'QUEUED',
  7: 'UNKNOWN',
  8: 'REJECTD',
};
export const messageStateToStatus = (state: number): SmsStatus => MESSAGE_STATE[state] ?? 'UNKNOWN';

export interface SmppReceiptText {
  id: string;
  stat: string;
  err: string | null;
  /** `done date:` as a Date (UTC, YYMMDDhhmm[ss]). */
  doneAt: Date | null;
}

/**
 * Parse the SMPP 3.4 receipt text `id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
 * stat:DDDDDDD err:E text:…`. Keys are matched case-insensitively; only `id` and `stat` are required.
 */
export function parseSmppReceiptText(text: string): SmppReceiptText | null {
  const get = (key: string): string | null => {
    const m = new RegExp(`(?:^|\\s)${key}:(\\S*)`, 'i').exec(text);
    return m ? m[1]! : null;
  };
  const id = get('id');
  const stat = get('stat');
  if (!id || !stat) return null;
  const done = get('done date');
  return { id, stat: stat.toUpperCase(), err: get('err'), doneAt: done ? parseSmppDate(done) : null };
}

function parseSmppDate(s: string): Date | null {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(s);
  if (!m) return null;
  const [yy, mo, d, h, mi, ss] = m.slice(1).map((x) => Number(x ?? 0)) as number[];
  const t = new Date(Date.UTC(2000 + yy!, mo! - 1, d!, h!, mi!, ss!));
  return Number.isNaN(t.getTime()) ? null : t;
}

/** Where the fields of an HTTP provider's delivery-report JSON are (dot paths). */
export interface HttpDlrMapping {
  /** Default `id`. */
  idPath: string;
  /** Default `status`. */
  statusPath: string;
  /** Default `error`. */
  errorPath: string;
  /** ISO time of the final state. Default `doneAt`. */
  timePath: string;
}

export const DEFAULT_HTTP_DLR_MAPPING: HttpDlrMapping = {
  idPath: 'id',
  statusPath: 'status',
  errorPath: 'error',
  timePath: 'doneAt',
};

function pick(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/**
 * Parse the JSON body of a delivery-report webhook (`/hooks/sms/http`, `/hooks/sms/log`): one report object,
 * an array of them, or `{ "reports": [...] }`. Throws DS_SMS_DLR_INVALID (HTTP 400) when a report lacks its id
 * or status.
 */
export function parseJsonDeliveryReports(
  provider: string,
  payload: unknown,
  mapping: HttpDlrMapping = DEFAULT_HTTP_DLR_MAPPING,
): DeliveryReport[] {
  const items = Array.isArray(payload)
    ? payload
    : payload && typeof payload === 'object' && Array.isArray((payload as { reports?: unknown }).reports)
      ? (payload as { reports: unknown[] }).reports
      : [payload];
  return items.map((item, i) => {
    const id = pick(item, mapping.idPath);
    const status = pick(item, mapping.statusPath);
    if ((typeof id !== 'string' && typeof id !== 'number') || String(id) === '' || typeof status !== 'string')
      throw new DatasyncError(
        'DS_SMS_DLR_INVALID',
        `delivery report ${i + 1}: "${mapping.idPath}" (message id) and "${mapping.statusPath}" (status) are required`,
      );
    const err = pick(item, mapping.errorPath);
    const time = pick(item, mapping.timePath);
    const doneAt = typeof time === 'string' && !Number.isNaN(Date.parse(time)) ? new Date(time) : null;
    return {
      provider,
      providerMessageId: String(id),
      status: mapStatusWord(status),
      detail: err === undefined || err === null ? status : `${status}:${String(err)}`,
      doneAt,
    };
  });
}

export type RecordOutcome = 'recorded' | 'duplicate' | 'unknown';

/** Record one report as an `sms_status` event, copying recipient, list, message and sending from `sent`. */
export async function recordDeliveryReport(db: Db, report: DeliveryReport, at: Date): Promise<RecordOutcome> {
  const sent = await findSmsSentEvent(db, report.providerMessageId);
  if (!sent) return 'unknown';
  try {
    await insertSmsEvents(db, [
      {
        account_id: sent.accountId,
        kind: 'sms_status',
        channel: 'sms',
        recipient_id: sent.recipientId,
        list_id: sent.listId,
        message_id: sent.messageId,
        sending_id: sent.sendingId,
        url: null,
        code: report.status,
        detail: report.detail,
        provider_message_id: report.providerMessageId,
        ip: null,
        user_agent: null,
        idempotency_key: `dlr:${report.provider}:${report.providerMessageId}:${report.status}`,
        occurred_at: (report.doneAt ?? at).toISOString(),
        recorded_at: at.toISOString(),
      },
    ]);
    return 'recorded';
  } catch (e) {
    if (e instanceof DuplicateError) return 'duplicate';
    throw e;
  }
}

/**
 * Record many reports with two statements (one lookup, one insert) instead of two per report: receipts come
 * at the sending rate. Returns the counts and the reports whose `sent` event is not (yet) there.
 */
export async function recordDeliveryReports(
  db: Db,
  reports: DeliveryReport[],
  at: Date,
): Promise<{ recorded: number; duplicates: number; unknown: DeliveryReport[] }> {
  const sent = await findSmsSentEvents(db, [...new Set(reports.map((r) => r.providerMessageId))]);
  const unknown: DeliveryReport[] = [];
  const rows = [];
  const keys = new Set<string>();
  let duplicates = 0;
  for (const report of reports) {
    const s = sent.get(report.providerMessageId);
    if (!s) {
      unknown.push(report);
      continue;
    }
    const key = `dlr:${report.provider}:${report.providerMessageId}:${report.status}`;
    if (keys.has(`${s.accountId}\n${key}`)) {
      duplicates++;
      continue;
    }
    keys.add(`${s.accountId}\n${key}`);
    rows.push({
      account_id: s.accountId,
      kind: 'sms_status' as const,
      channel: 'sms' as const,
      recipient_id: s.recipientId,
      list_id: s.listId,
      message_id: s.messageId,
      sending_id: s.sendingId,
      url: null,
      code: report.status,
      detail: report.detail,
      provider_message_id: report.providerMessageId,
      ip: null,
      user_agent: null,
      idempotency_key: key,
      occurred_at: (report.doneAt ?? at).toISOString(),
      recorded_at: at.toISOString(),
    });
  }
  const inserted = rows.length ? await insertNewSmsEvents(db, rows) : 0;
  return { recorded: inserted, duplicates: duplicates + rows.length - inserted, unknown };
}

export interface HandleResult {
  recorded: number;
  duplicates: number;
  /** Reports whose message id matches no sent SMS (another system's, or too old). */
  unknown: number;
}

/**
 * The webhook entry point the HTTP layer mounts at `/hooks/sms/{provider}`: parse the JSON body with the
 * provider's parser and record every report. Throws DS_SMS_DLR_INVALID for an unreadable body.
 */
export async function handleDeliveryReport(
  store: Pick<Store, 'db'>,
  provider: string,
  payload: unknown,
  opts: { mapping?: HttpDlrMapping; now?: () => Date } = {},
): Promise<HandleResult> {
  const reports = parseJsonDeliveryReports(provider, payload, opts.mapping);
  const r = await recordDeliveryReports(store.db, reports, (opts.now ?? (() => new Date()))());
  return { recorded: r.recorded, duplicates: r.duplicates, unknown: r.unknown.length };
}

/**
 * Records the reports a provider pushes (SMPP deliver_sm, log provider), parking the ones whose `sent` event
 * is not committed yet. The sender calls `flush()` after each commit; parked reports are retried there and
 * dropped (counted as unknown) after `maxAttempts` flushes.
 */
export class DeliveryReportRecorder {
  private parked: { report: DeliveryReport; attempts: number }[] = [];
  private queue: { report: DeliveryReport; attempts: number }[] = [];
  private draining = false;
  private chain: Promise<void> = Promise.resolve();
  readonly counts: HandleResult = { recorded: 0, duplicates: 0, unknown: 0 };

  constructor(
    private readonly db: Db,
    private readonly now: () => Date,
    private readonly onError: (e: unknown) => void = () => {},
    private readonly maxAttempts = 20,
    private readonly batchSize = 500,
  ) {}

  /** Listener to pass to `SmsProvider.onDeliveryReport`: reports queue up and are recorded in batches. */
  readonly listener = (report: DeliveryReport): void => {
    this.queue.push({ report, attempts: 0 });
    if (!this.draining) {
      this.draining = true;
      this.chain = this.chain.then(() => this.drain()).catch(this.onError);
    }
  };

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.batchSize);
        const r = await recordDeliveryReports(
          this.db,
          batch.map((b) => b.report),
          this.now(),
        );
        this.counts.recorded += r.recorded;
        this.counts.duplicates += r.duplicates;
        const unknown = new Set(r.unknown);
        for (const b of batch)
          if (unknown.has(b.report)) {
            if (b.attempts + 1 < this.maxAttempts)
              this.parked.push({ report: b.report, attempts: b.attempts + 1 });
            else this.counts.unknown++;
          }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Retry parked reports (after the sender committed a batch of `sent` events); resolves when done. */
  flush(): Promise<void> {
    this.queue.push(...this.parked);
    this.parked = [];
    this.draining = true;
    this.chain = this.chain.then(() => this.drain()).catch(this.onError);
    return this.chain;
  }

  /** Reports still waiting for their `sent` event. */
  get parkedCount(): number {
    return this.parked.length;
  }
}
