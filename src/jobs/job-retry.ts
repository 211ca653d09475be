/**
 * `datasync jobs retry` (and the API's retry): a failed or cancelled job runs again as a new job; the old
 * record stays as history. Succeeded, partial and skipped jobs are refused: their data is in, and for CSV2SMS
 * and FTPZIP their campaign was sent (or waits to be), so running them again would message people twice.
 *
 * A job that reads a file (an import, a CSV2SMS file, an FTPZIP archive) needs its input back: when the job
 * ended, the worker moved the file to its folder's `done/` or `failed/` in the customer's space and
 * `input_path` names that space path; a cancelled job that never ran still has it where it was taken to. The
 * retry copies the file from wherever it is to where the new job starts from — an import's work folder
 * (`<dataDir>/work/imports/<account>/<newJobId>/<name>`, where an upload goes), the processing area of a
 * CSV2SMS or FTPZIP job (`HostedSpaces.processingFile`, where their uploads are taken to) — so the new job runs
 * exactly like a fresh upload and its own results land in `done/` or `failed/` as `<newJobId>_<name>`. The
 * file is copied, not moved: the old job's result files keep pointing at the input they describe. A file the
 * customer (or retention) removed since is `DS_JOB_INPUT_GONE`, and no job is created.
 *
 * A CSV2SMS or FTPZIP job that got past its intake (numbers or recipients imported, campaign and sending
 * created: its checkpoint holds the send plan) is never run from its file again — that would create a second
 * campaign and message everyone again. If its send stopped (sending `failed`), the new job resumes that same
 * sending from the plan: recipients that already have a `sent` (or refused) event are skipped. The sending is
 * handed over with a compare-and-set, so two retries never send the same campaign at once. Any other state of
 * the sending (sent, running, waiting for its time, taken over by another retry), and an FTPZIP transactional
 * send (not resumable: no plan), are refused with `DS_JOB_STATE`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { DatasyncError, NotFoundError } from '../errors.js';
import {
  findJob,
  insertJob,
  newJobId,
  takeOverStoppedSending,
  updateJob,
  type Database,
  type JobRecord,
} from '../store/index.js';
import type { JobQueue } from './job-queue.js';
import { enqueueJob, sendJobMessage } from './job-records.js';

/** Where a retried job finds its input and puts the copy. */
export interface RetryFiles {
  /** The data directory (`config.dataDir`): the work area is `<dataDir>/work/imports`. */
  dataDir: string;
  /**
   * `HostedSpaces` of spaces/: the jailed disk path of a space path (refuses symlinks), and the processing
   * area of CSV2SMS and FTPZIP jobs.
   */
  spaces: {
    resolveOnDisk(accountId: string, spacePath: string): Promise<string>;
    processingFile(accountId: string, jobId: string, name: string): string;
  };
}

export interface RetryOptions {
  /**
   * Needed to retry a job that reads a file (see the module comment). Without it the new job gets the old
   * input path as it is, which only suits jobs whose input is not moved when they end.
   */
  files?: RetryFiles;
}

export interface RetryReport {
  /** The new job, `queued`. */
  job: JobRecord;
  /** The old job it retries. */
  retryOf: string;
  /** For a job that reads a file: where the input was copied from (the old `input_path`) and to (a disk path). */
  input: { from: string; to: string } | null;
  /** For a CSV2SMS or FTPZIP job whose send stopped: the sending (`idInvio`) the new job resumes. */
  resumesSending: number | null;
}

/** Kinds whose input a retry copies back, and whose copy goes to the work area or the processing area. */
const FILE_KINDS: readonly JobRecord['kind'][] = ['import', 'csv2sms', 'ftpzip'];

/**
 * What a CSV2SMS or FTPZIP checkpoint holds once the intake is done (Csv2SmsPlan, FtpZipPlan): where the job's
 * files are (`loc`) and the sending it sends. `resumes` names the job whose stopped send this one resumes.
 */
interface SendPlan {
  v: 1;
  loc: { accountId: string; folder: string; name: string; jobId: string };
  sendingId: number;
  resumes?: string;
}

function sendPlanOf(job: JobRecord): SendPlan | null {
  const c = job.checkpoint as Partial<SendPlan> | null;
  return c && c.v === 1 && typeof c.sendingId === 'number' && c.loc ? (c as SendPlan) : null;
}

const RETRYABLE_STATES: readonly JobRecord['status'][] = ['failed', 'cancelled'];

const inside = (root: string, p: string) => p === root || p.startsWith(root + path.sep);

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * The disk file of a job's input: a disk path in the data directory (work area), else a space path of the
 * account (`/import/failed/<id>_<name>`), else — only for a job an operator started with `datasync import
 * FILE` — the operator's own absolute path.
 */
async function locateInput(job: JobRecord, files: RetryFiles): Promise<string> {
  const p = job.inputPath!;
  const root = path.resolve(files.dataDir);
  const candidates: string[] = [];
  if (path.isAbsolute(p) && inside(root, path.resolve(p))) candidates.push(path.resolve(p));
  try {
    candidates.push(await files.spaces.resolveOnDisk(job.accountId, p));
  } catch {
    // not a valid space path of the account, or a symlink planted in the space: not a candidate
  }
  if (job.trigger === 'cli' && path.isAbsolute(p)) candidates.push(p);
  for (const c of candidates) if (await isFile(c)) return c;
  throw new DatasyncError(
    'DS_JOB_INPUT_GONE',
    `job ${job.id} cannot run again: its input file ${p} is no longer stored (removed from the space or ` +
      `by retention); upload the file again instead`,
  );
}

/** Runs a failed or cancelled job again as a new job with the same input; says what it did. */
export async function retryJobWithReport(
  db: Kysely<Database>,
  queue: JobQueue,
  jobId: string,
  at = new Date(),
  opts: RetryOptions = {},
): Promise<RetryReport> {
  const job = await findJob(db, jobId);
  if (!job) throw new NotFoundError(`job ${jobId} does not exist`, { code: 'DS_JOB_NOT_FOUND' });
  if (!RETRYABLE_STATES.includes(job.status))
    throw new DatasyncError(
      'DS_JOB_STATE',
      `job ${jobId} is ${job.status}; only ${RETRYABLE_STATES.join(' or ')} jobs can be retried`,
    );
  const base = {
    accountId: job.accountId,
    instanceId: job.instanceId,
    kind: job.kind,
    trigger: 'cli' as const,
    inputName: job.inputName,
    inputSha256: job.inputSha256,
    inputSize: job.inputSize,
  };
  if (job.kind === 'csv2sms' || job.kind === 'ftpzip') {
    const plan = sendPlanOf(job);
    if (plan) return resumeSend(db, queue, job, plan, base, at);
    const idInvio = (job.result as { idInvio?: unknown } | null)?.idInvio;
    if (idInvio !== undefined && idInvio !== null)
      throw new DatasyncError(
        'DS_JOB_STATE',
        `job ${jobId} created its campaign and started sending ${String(idInvio)}, which cannot be resumed ` +
          `(a transactional send: its values exist only in the archive); running the file again would mail ` +
          `its recipients twice. Its sent events say who got the message; send the others as a new archive`,
      );
    if (job.inputPath === null)
      // A file or archive that could not even be taken: there is nothing to run again.
      throw new DatasyncError(
        'DS_JOB_INPUT_GONE',
        `job ${job.id} cannot run again: it never took its input file; upload the file again instead`,
      );
  }
  if (!FILE_KINDS.includes(job.kind) || job.inputPath === null || !opts.files) {
    // No input file to bring back (a scheduled poll, an export) or no data directory to bring it back to.
    const record = await enqueueJob(db, queue, { ...base, inputPath: job.inputPath }, {}, at);
    return { job: record, retryOf: job.id, input: null, resumesSending: null };
  }
  const from = await locateInput(job, opts.files);
  const id = newJobId(at);
  const name = path.basename(job.inputName ?? from);
  const copy =
    job.kind === 'import'
      ? path.join(path.resolve(opts.files.dataDir), 'work', 'imports', job.accountId, id, name)
      : opts.files.spaces.processingFile(job.accountId, id, name);
  // An import's work folder is the new job's own (removed whole on failure); the processing area is shared.
  const cleanup = job.kind === 'import' ? path.dirname(copy) : copy;
  await fs.promises.mkdir(path.dirname(copy), { recursive: true, mode: 0o750 });
  try {
    // copyFile streams in the kernel (or clones): flat memory whatever the size.
    await fs.promises.copyFile(from, copy);
  } catch (e) {
    await fs.promises.rm(cleanup, { recursive: true, force: true });
    throw new DatasyncError(
      'DS_JOB_INPUT_GONE',
      `job ${job.id} cannot run again: its input file ${job.inputPath} could not be copied ` +
        `(${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: e },
    );
  }
  // From here the file is where the new job starts: a record whose send failed stays `failed` and retryable.
  const record = await enqueueJob(db, queue, { ...base, id, inputPath: copy }, {}, at);
  return { job: record, retryOf: job.id, input: { from: job.inputPath, to: copy }, resumesSending: null };
}

/**
 * The new job takes over the old one's stopped sending (compare-and-set) and gets its plan, in one
 * transaction: either the new job exists and owns the send, or nothing changed. Its files are named after the
 * new job (`<newJobId>_<name>.result.json` in `done/`); the input stays where the old job left it.
 */
async function resumeSend(
  db: Kysely<Database>,
  queue: JobQueue,
  job: JobRecord,
  plan: SendPlan,
  base: Omit<Parameters<typeof insertJob>[1], 'id'>,
  at: Date,
): Promise<RetryReport> {
  const id = newJobId(at);
  const next: SendPlan = { ...plan, loc: { ...plan.loc, jobId: id }, resumes: job.id };
  const { record, sendingNumber } = await db.transaction().execute(async (trx) => {
    const t = await takeOverStoppedSending(trx, plan.sendingId, job.id, id);
    if (!t) throw new DatasyncError('DS_JOB_STATE', `job ${job.id}: its sending no longer exists`);
    if (!t.taken) throw sendNotStopped(job, t);
    const r = await insertJob(trx, { ...base, id, inputPath: job.inputPath, status: 'queued' }, at);
    await updateJob(trx, id, { checkpoint_json: JSON.stringify(next) });
    return { record: r, sendingNumber: t.sendingNumber };
  });
  await sendJobMessage(db, queue, record, {}, at);
  return { job: record, retryOf: job.id, input: null, resumesSending: sendingNumber };
}

function sendNotStopped(
  job: JobRecord,
  t: { status: string; sendingNumber: number; jobId: string | null },
): DatasyncError {
  const what = `job ${job.id}'s sending ${t.sendingNumber}`;
  const why =
    t.jobId !== null && t.jobId !== job.id
      ? `was taken over by job ${t.jobId}: retry that job if it stopped too`
      : t.status === 'sent'
        ? 'was sent already; running it again would message its recipients twice'
        : t.status === 'scheduled' || t.status === 'queued'
          ? 'is waiting for its send time or for someone to start it, and was not sent yet'
          : `is ${t.status}: it is being sent now`;
  return new DatasyncError('DS_JOB_STATE', `${what} ${why}`);
}

/** Runs a failed or cancelled job again as a new job with the same input (the old record stays as history). */
export async function retryJob(
  db: Kysely<Database>,
  queue: JobQueue,
  jobId: string,
  at = new Date(),
  opts: RetryOptions = {},
): Promise<JobRecord> {
  return (await retryJobWithReport(db, queue, jobId, at, opts)).job;
}
