/** Types shared by the CSV2SMS job, its send and its result files: options, counters, summary, plan. */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { HostedSpaces } from '../spaces/index.js';
import type { JobStatus, JobTrigger, Store } from '../store/index.js';
import type { Csv2SmsHeader } from './csv2sms-header.js';
import type { InputLocation, RejectedLine } from './csv2sms-files.js';
import type { DeliveryReportRecorder } from './delivery-report.js';
import type { OutboxItem } from './sms-sender.js';
import type { SmsProvider } from './sms-provider.js';

export interface Csv2SmsOptions {
  /** Largest number of parts per message. Default 3. */
  maxSegments?: number;
  /** List used when header row 5 is empty. Default 1. */
  defaultListId?: number;
  trigger?: JobTrigger;
  instanceId?: string | null;
  /** Use this job id (when the queue created the id already). */
  jobId?: string;
  /** Messages per commit while sending. Default 500. */
  commitEvery?: number;
}

export interface Csv2SmsDeps {
  store: Store;
  spaces: HostedSpaces;
  clock: Clock;
  logger: Logger;
  provider: SmsProvider;
  /** The long-lived recorder from `attachDeliveryReports`; without it one is attached for the send only. */
  reports?: DeliveryReportRecorder;
  options?: Csv2SmsOptions;
}

export interface Csv2SmsCounters {
  /** Message rows read (empty rows and the `#` trailer excluded). */
  rows: number;
  /** Rows that passed validation. */
  accepted: number;
  rejected: number;
  /** Numbers not subscribed on the SMS channel of the list: not messaged. */
  skippedUnsubscribed: number;
  recipientsCreated: number;
  /** Messages to send (accepted − skipped). */
  toSend: number;
  sent: number;
  /** Messages the provider refused (NACK). */
  refused: number;
  /** SMS parts sent. */
  parts: number;
}

export interface Csv2SmsSummary {
  jobId: string;
  status: JobStatus;
  error: { code: string; message: string } | null;
  /** `sent`, `scheduled` (waits for `sendAt`), `queued` (action A), `stopped` (resumable), or null (no send). */
  send: 'sent' | 'scheduled' | 'queued' | 'stopped' | null;
  sendAt: string | null;
  idSMS: number | null;
  idInvio: number | null;
  counters: Csv2SmsCounters;
  /** Space paths. */
  inputPath: string | null;
  resultPath: string | null;
  rejectedPath: string | null;
}

/** What the job's checkpoint holds between intake and send. */
export interface Csv2SmsPlan {
  v: 1;
  loc: InputLocation;
  inputPath: string;
  eol: '\n' | '\r\n';
  columns: string[];
  header: Csv2SmsHeader;
  listId: number;
  campaign: string;
  messageId: number;
  idSMS: number;
  sendingId: number;
  idInvio: number;
  sendAt: string | null;
  counters: Csv2SmsCounters;
  /** Rejected and skipped rows (they go to rejected.csv). */
  rejections: RejectedLine[];
  outbox: OutboxItem[];
  /** Set by `jobs retry`: the job whose stopped send this job resumes (its input stays in that job's name). */
  resumes?: string;
}

export const emptyCounters = (): Csv2SmsCounters => ({
  rows: 0,
  accepted: 0,
  rejected: 0,
  skippedUnsubscribed: 0,
  recipientsCreated: 0,
  toSend: 0,
  sent: 0,
  refused: 0,
  parts: 0,
});
