/** Types of an FTPZIP job and its send: options, dependencies, counters, summary, and the plan it keeps. */
import type { Clock } from '../clock.js';
import type { EmailTransport, HostedImages, RenderOptions, SendRate } from '../email/index.js';
import type { TrackingLinks } from '../http/index.js';
import type { Logger } from '../logger.js';
import type { HostedSpaces } from '../spaces/index.js';
import type { JobStatus, JobTrigger, Store } from '../store/index.js';
import type { ArchiveLocation } from './ftpzip-files.js';
import type { FtpZipNotifier } from './ftpzip-notify.js';
import type { FtpZipSettings } from './settings-xml.js';
import type { ZipLimits } from './zip-reader.js';

export interface FtpZipOptions {
  /** The queued job record to run (the upload router wrote it); default: a new record. */
  jobId?: string;
  trigger?: JobTrigger;
  limits?: ZipLimits;
  /** Total size of `Attachments/`. Default 3 MB (reference §5.4). */
  maxAttachmentBytes?: number;
  rate?: SendRate;
}

export interface FtpZipDeps {
  store: Store;
  spaces: HostedSpaces;
  clock: Clock;
  logger: Logger;
  transport: EmailTransport;
  links: TrackingLinks;
  /**
   * Where `EmbeddedImages=false` images are stored and the URL they are served at (`<dataDir>/media`,
   * `http.publicUrl`); none = such archives fail with DS_FTPZIP_UNSUPPORTED.
   */
  media?: HostedImages;
  /** Mails the job record to NotifyEmail when the job ends; none = no notifications. */
  notifier?: FtpZipNotifier;
  options?: FtpZipOptions;
}

export interface FtpZipCounters {
  rows: number;
  /** Massive: rows imported into the list. Transactional: 0 (nothing is imported). */
  imported: number;
  /** Rows refused (bad address, bad values). */
  rejected: number;
  /** Transactional: rows dropped as repeats of an earlier address (`KeepDuplicates=false`). */
  duplicates: number;
  /** Transactional: rows whose address is unsubscribed from the list, not mailed. */
  skipped: number;
  sent: number;
  bounced: number;
}

export interface FtpZipSummary {
  jobId: string;
  status: JobStatus;
  error: { code: string; message: string } | null;
  action: FtpZipSettings['action'] | null;
  /** `idNl` of the message created or sent; `idInvio` of the sending. */
  idNl: number | null;
  idInvio: number | null;
  /** `sent`, `scheduled` (at `sendAt`), or null (save, or failed before sending). */
  send: 'sent' | 'scheduled' | null;
  sendAt: string | null;
  counters: FtpZipCounters;
  rejected: Array<{ line: number; code: string; reason: string }>;
  inputPath: string | null;
  resultPath: string | null;
  /** The job whose stopped send this one resumes (`jobs retry`). */
  resumes?: string;
}

/**
 * What a massive send needs (kept in the job's checkpoint from the end of the intake): a scheduled send is
 * sent from it later, and a send that stopped is resumed from it (a worker taking the job over, `jobs retry`).
 */
export interface FtpZipPlan {
  v: 1;
  loc: ArchiveLocation;
  sendingId: number;
  render: RenderOptions;
  summary: FtpZipSummary;
  /** Where the end-of-job notification goes (NotifyEmail). */
  notify?: string[];
  /** Set by `jobs retry`: the job whose stopped send this job resumes. */
  resumes?: string;
}
