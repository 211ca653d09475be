/**
 * `datasync jobs retry` (and the API's retry): a failed or cancelled job runs again as a new job; the old
 * record stays as history.
 *
 * A file import (an upload, a file fetched from a remote server, a CLI import) needs its input back: when the
 * job ended, the worker moved the file to the instance's `done/` or `failed/` folder in the customer's space
 * and `input_path` names that space path; a cancelled job that never ran still has it in the work area. The
 * retry copies the file from wherever it is into the new job's work folder
 * (`<dataDir>/work/imports/<account>/<newJobId>/<name>`, the same place an upload goes), so the new job runs
 * exactly like a fresh upload and its own results land in `done/` or `failed/` as `<newJobId>_<name>`. The file
 * is copied, not moved: the old job's result files keep pointing at the input they describe. A file the
 * customer (or retention) removed since is `DS_JOB_INPUT_GONE`, and no job is created.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Kysely } from 'kysely';
import { DatasyncError, NotFoundError } from '../errors.js';
import { findJob, newJobId, type Database, type JobRecord } from '../store/index.js';
import type { JobQueue } from './job-queue.js';
import { enqueueJob } from './job-records.js';

/** Where a retried file import finds its input. */
export interface RetryFiles {
  /** The data directory (`config.dataDir`): the work area is `<dataDir>/work/imports`. */
  dataDir: string;
  /** `HostedSpaces` of spaces/ (the jailed disk path of a space path; refuses symlinks). */
  spaces: { resolveOnDisk(accountId: string, spacePath: string): Promise<string> };
}

export interface RetryOptions {
  /**
   * Needed to retry a file import (see the module comment). Without it the new job gets the old input path as
   * it is, which only suits jobs whose input is not moved when they end.
   */
  files?: RetryFiles;
}

export interface RetryReport {
  /** The new job, `queued`. */
  job: JobRecord;
  /** The old job it retries. */
  retryOf: string;
  /** For a file import: where the input was copied from (the old `input_path`) and to (a disk path). */
  input: { from: string; to: string } | null;
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
  if (job.kind !== 'import' || job.inputPath === null || !opts.files) {
    // No input file to bring back (a scheduled poll, an export) or no data directory to bring it back to.
    const record = await enqueueJob(db, queue, { ...base, inputPath: job.inputPath }, {}, at);
    return { job: record, retryOf: job.id, input: null };
  }
  const from = await locateInput(job, opts.files);
  const id = newJobId(at);
  const name = path.basename(job.inputName ?? from);
  const workFile = path.join(path.resolve(opts.files.dataDir), 'work', 'imports', job.accountId, id, name);
  await fs.promises.mkdir(path.dirname(workFile), { recursive: true, mode: 0o750 });
  try {
    // copyFile streams in the kernel (or clones): flat memory whatever the size.
    await fs.promises.copyFile(from, workFile);
  } catch (e) {
    await fs.promises.rm(path.dirname(workFile), { recursive: true, force: true });
    throw new DatasyncError(
      'DS_JOB_INPUT_GONE',
      `job ${job.id} cannot run again: its input file ${job.inputPath} could not be copied ` +
        `(${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: e },
    );
  }
  // From here the file is in the work area: a record whose send failed stays `failed` and retryable.
  const record = await enqueueJob(db, queue, { ...base, id, inputPath: workFile }, {}, at);
  return { job: record, retryOf: job.id, input: { from: job.inputPath, to: workFile } };
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
