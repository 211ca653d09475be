/**
 * The start of a job that runs from one dropped file and keeps a send plan in its checkpoint (CSV2SMS, FTPZIP):
 * the same steps for both, whatever the kind's plan looks like.
 *
 * 1. The record: the queue may have written it already (`enqueueJob`, `jobs retry`); then this run only marks
 *    it running, else it is inserted. `attempts` counts this run.
 * 2. A record whose intake is done (its checkpoint holds the plan, `v: 1`) never reads its file again: a worker
 *    taking it over, or a `jobs retry` of a stopped send, resumes the send of the campaign it already created.
 *    {@link startFileJob} then hands back the plan and leaves the record to the kind's resume.
 * 3. Otherwise the input is located (`HostedSpaces.jobInput`): an upload still in the customer's space, or the
 *    job's own processing file (taken by an earlier attempt, or copied there by `jobs retry`).
 *    {@link takeFileJobInput} moves an upload out of the customer's reach (invariant 2) and
 *    {@link readFileJobInput} reads it and records its size and SHA-256.
 *
 * The take and the read run inside the kind's own `try`, so each kind turns a failure into its own error code
 * and places the file in `failed/` as it always did.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { findJob, insertJob, newJobId, updateJob, type Database, type JobTrigger } from '../store/index.js';

/** The part of `HostedSpaces` (spaces/) a file job starts with. */
export interface FileJobSpaces {
  jobInput(
    accountId: string,
    jobId: string,
    file: string,
    o: { name: string | null | undefined; folder: string },
  ): { spacePath: string; folder: string; name: string; taken: string | null };
  resolveOnDisk(accountId: string, spacePath: string): Promise<string>;
  processingFile(accountId: string, jobId: string, name: string): string;
}

/** Where a file job's files are: the drop folder (space path), the file name as uploaded, and the job. */
export interface FileJobLocation {
  accountId: string;
  folder: string;
  name: string;
  jobId: string;
}

/** What a file job is run with (the kind's own deps carry these). */
export interface FileJobRun {
  store: { db: Kysely<Database> };
  spaces: FileJobSpaces;
  clock: Clock;
  accountId: string;
  /** The upload's space path, or the job's processing file (see `HostedSpaces.jobInput`). */
  file: string;
  options?: {
    /** The queued record to run; default: a new record. */
    jobId?: string;
    /** Default `upload`. */
    trigger?: JobTrigger;
    instanceId?: string | null;
  };
}

/** A job whose intake is done: resume its plan, as attempt `attempt`. */
export interface ResumedFileJob<Plan> {
  resume: Plan;
  attempt: number;
}

/** A job that runs its intake: the record is `running`, the input not yet taken. */
export interface StartedFileJob {
  resume: null;
  loc: FileJobLocation;
  /** The input as the customer sees it (`/sms/offers.csv`). */
  spacePath: string;
  /** The disk path when the input is in the processing area already; null for an upload still to take. */
  taken: string | null;
  started: Date;
}

/** Marks the record running (inserting it when new), or hands back the plan of a job whose intake is done. */
export async function startFileJob<Plan extends { v: number }>(
  run: FileJobRun,
  kind: 'csv2sms' | 'ftpzip',
  /** The kind's drop folder (`/sms`, `/import_zip`): where a processing file stands for. */
  folder: string,
): Promise<ResumedFileJob<Plan> | StartedFileJob> {
  const { spaces, clock, accountId } = run;
  const db = run.store.db;
  const opts = run.options ?? {};
  const started = clock.now();
  const jobId = opts.jobId ?? newJobId(started);
  const existing = opts.jobId ? await findJob(db, jobId) : undefined;
  const plan = existing?.checkpoint as Plan | null | undefined;
  if (existing && plan?.v === 1) return { resume: plan, attempt: existing.attempts + 1 };
  const input = spaces.jobInput(accountId, jobId, run.file, { name: existing?.inputName, folder });
  const loc: FileJobLocation = { accountId, folder: input.folder, name: input.name, jobId };
  if (existing) await updateJob(db, jobId, { status: 'running', input_name: loc.name });
  else
    await insertJob(
      db,
      {
        id: jobId,
        accountId,
        instanceId: opts.instanceId ?? null,
        kind,
        trigger: opts.trigger ?? 'upload',
        status: 'running',
        inputName: loc.name,
        inputPath: input.spacePath,
      },
      started,
    );
  await updateJob(db, jobId, {
    started_at: started.toISOString(),
    attempts: (existing?.attempts ?? 0) + 1,
  });
  return { resume: null, loc, spacePath: input.spacePath, taken: input.taken, started };
}

/**
 * The input's disk path in the processing area (`<spaces root>/.processing/<account>/<jobId>_<name>`): an
 * upload is renamed there first, out of the customer's reach, so what they upload meanwhile is a new file.
 */
export async function takeFileJobInput(spaces: FileJobSpaces, job: StartedFileJob): Promise<string> {
  if (job.taken) return job.taken;
  const { accountId, jobId, name } = job.loc;
  const from = await spaces.resolveOnDisk(accountId, job.spacePath);
  const to = spaces.processingFile(accountId, jobId, name);
  await fs.mkdir(path.dirname(to), { recursive: true, mode: 0o750 });
  await fs.rename(from, to);
  return to;
}

/** The taken input's bytes; its disk path, size and SHA-256 go on the record (what `jobs retry` copies back). */
export async function readFileJobInput(
  db: Kysely<Database>,
  jobId: string,
  procPath: string,
): Promise<Buffer> {
  const content = await fs.readFile(procPath);
  await updateJob(db, jobId, {
    input_path: procPath,
    input_sha256: createHash('sha256').update(content).digest('hex'),
    input_size: content.length,
  });
  return content;
}
