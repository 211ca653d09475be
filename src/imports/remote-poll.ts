/**
 * Scheduled import from the customer's own SFTP server (reference §1.3, §2.1, §2.10 items 1-2, 6): the
 * scheduler queues a job of an instance with a `remote` block and no input; this run connects (pinned host
 * key), finds the complete files matching the instance, and imports each one, in name order, as a child job
 * (trigger `poll`) exactly like an upload: work area, `runHostedImportJob`, result files in the hosted
 * `<folder>/done|failed/`. Only after a child ends `succeeded`, `partial` or `skipped` is the remote file
 * deleted or moved; after `failed` it stays where it is, and the next poll tries it again.
 *
 * Crash safety: before a file is downloaded the run records it in its own checkpoint. A retried run (lost
 * connection, worker died) first settles those children — an import already downloaded resumes from its
 * checkpoint, a finished one only gets its `afterImport` — and never lists the same remote file twice.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatasyncError, UnrecoverableJobError, publicError } from '../errors.js';
import {
  connectRemoteSpace,
  downloadFile,
  findCompleteFiles,
  finishRemoteFile,
  type Completeness,
  type RemoteFileFound,
  type RemoteSftpSpace,
} from '../spaces/index.js';
import { findJob, insertJob, newJobId, updateJob, type JobRecord, type JobStatus } from '../store/index.js';
import { fileNameMatches } from './file-match.js';
import { runHostedImportJob, type HostedImportJobDeps } from './hosted-imports.js';
import { loadImportInstance } from './import-context.js';
import type { ImportInstance, ImportRemote } from './import-instance.js';

export type RemotePollDeps = HostedImportJobDeps & {
  /** Processing area outside every space, the same as the hosted flow's (`<dataDir>/work/imports`). */
  workDir: string;
  /**
   * Waits between the two looks of `completeness: stable` (time is the caller's: tests take a step here).
   * Default: 10 seconds.
   */
  betweenLooks?: () => Promise<void>;
};

export interface RemotePollOptions {
  /** Aborted (job cancelled, lease lost): no further file is started; the rest waits for the next poll. */
  signal?: AbortSignal;
}

/** What a poll run reports; the jobs worker maps it to its `JobOutcome`. */
export interface RemotePollResult {
  /** `skipped` when no file was ready. */
  status: Extract<JobStatus, 'succeeded' | 'partial' | 'skipped'>;
  /** Files taken; child jobs `succeeded`/`partial`, `failed`, `skipped` (same content already imported). */
  counters: { files: number; imported: number; failed: number; skipped: number };
  /** Child job ids, in the order they ran. */
  result: { jobs: string[] };
}

/** One remote file taken by a run, kept in the run's checkpoint until it is settled. */
interface PolledFile {
  jobId: string;
  found: RemoteFileFound;
  /** The whole file reached the work area (else the remote file is listed again by this run). */
  downloaded: boolean;
  /** The child ended and `afterImport` was applied (or the file was left on failure). */
  settled: boolean;
}

interface PollCheckpoint {
  files: PolledFile[];
}

const SUCCESS: readonly JobStatus[] = ['succeeded', 'partial', 'skipped'];
const TERMINAL: readonly JobStatus[] = ['succeeded', 'partial', 'skipped', 'failed', 'cancelled'];

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function completenessOf(r: ImportRemote): Completeness {
  return r.completeness === 'trigger' ? { mode: 'trigger', suffixes: r.triggerSuffixes } : { mode: 'stable' };
}

/** The instance of a scheduled run, with its remote block; any problem is unrecoverable (retrying cannot fix it). */
async function remoteInstanceOf(
  deps: RemotePollDeps,
  job: JobRecord,
): Promise<ImportInstance & { remote: ImportRemote }> {
  if (!job.instanceId)
    throw new UnrecoverableJobError('DS_IMPORT_NO_INSTANCE', `job ${job.id} names no import instance`);
  let instance: ImportInstance;
  try {
    instance = await loadImportInstance(deps.store.db, job.instanceId);
  } catch (e) {
    const err = publicError(e);
    if (err.code === 'DS_INTERNAL' || err.code === 'DS_DB_UNAVAILABLE') throw e;
    throw new UnrecoverableJobError(err.code, err.message, { cause: e });
  }
  if (!instance.remote)
    throw new UnrecoverableJobError(
      'DS_IMPORT_INSTANCE_INVALID',
      `import instance "${instance.id}" has no remote block: a scheduled import polls the customer's SFTP server`,
    );
  return instance as ImportInstance & { remote: ImportRemote };
}

async function connect(r: ImportRemote): Promise<RemoteSftpSpace> {
  let privateKey: string | undefined;
  if (r.privateKeyFile) {
    try {
      privateKey = await fs.promises.readFile(r.privateKeyFile, 'utf8');
    } catch (e) {
      throw new UnrecoverableJobError(
        'DS_REMOTE_KEY_UNREADABLE',
        `the private key file ${r.privateKeyFile} cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}`,
        { cause: e },
      );
    }
  }
  // Space paths are remote absolute paths: `folder` and `moveTo` name folders on the server as they are.
  return connectRemoteSpace({
    host: r.host,
    port: r.port,
    username: r.username,
    password: r.password,
    privateKey,
    hostKeyFingerprint: r.hostKeyFingerprint,
    root: '/',
  });
}

/**
 * Run one scheduled job of an import instance with a `remote` block. Resolves when every ready file was
 * imported (or failed) and the job record holds the counters; throws a retryable error when the server cannot
 * be reached or a transfer breaks (the queue retries), and an `UnrecoverableJobError` (also written to the
 * record as `failed`) for a wrong host key, an unreadable key file, or an instance without `remote`.
 */
export async function pollRemoteImport(
  deps: RemotePollDeps,
  jobId: string,
  opts: RemotePollOptions = {},
): Promise<RemotePollResult> {
  const { store, clock } = deps;
  const job = await findJob(store.db, jobId);
  if (!job) throw new DatasyncError('DS_JOB_NOT_FOUND', `job ${jobId} does not exist`);
  try {
    return await poll(deps, job, opts);
  } catch (e) {
    if (e instanceof UnrecoverableJobError)
      await updateJob(store.db, jobId, {
        status: 'failed',
        error_code: e.code,
        error_message: e.message,
        ended_at: clock.now().toISOString(),
      });
    throw e;
  }
}

async function poll(
  deps: RemotePollDeps,
  job: JobRecord,
  opts: RemotePollOptions,
): Promise<RemotePollResult> {
  const { store, clock, logger } = deps;
  const instance = await remoteInstanceOf(deps, job);
  const remote = instance.remote;
  const checkpoint: PollCheckpoint = {
    files: ((job.checkpoint as PollCheckpoint | null)?.files ?? []).map((f) => ({ ...f })),
  };
  const saveCheckpoint = () => updateJob(store.db, job.id, { checkpoint_json: JSON.stringify(checkpoint) });
  const counters = { files: 0, imported: 0, failed: 0, skipped: 0 };
  const count = (status: JobStatus) => {
    counters.files++;
    if (status === 'skipped') counters.skipped++;
    else if (status === 'failed' || status === 'cancelled') counters.failed++;
    else counters.imported++;
  };
  const after =
    remote.afterImport === 'move'
      ? { action: 'move' as const, moveTo: remote.moveTo! }
      : { action: 'delete' as const };

  const space = await connect(remote);
  try {
    // Settle what an earlier attempt of this run left half done, in the order it was taken.
    for (const f of checkpoint.files) {
      if (f.settled) {
        count((await findJob(store.db, f.jobId))?.status ?? 'failed');
        continue;
      }
      const status = await settleChild(deps, space, job, f, after);
      count(status);
      f.settled = true;
      await saveCheckpoint();
    }

    // Files imported (or failed) by this run are not taken twice; a broken download is taken again.
    const taken = new Set(checkpoint.files.filter((f) => f.downloaded).map((f) => f.found.path));
    const found = (
      await findCompleteFiles(space, {
        folder: remote.folder,
        match: (name) => fileNameMatches(instance, name),
        completeness: completenessOf(remote),
        betweenLooks: deps.betweenLooks,
      })
    )
      .filter((f) => !taken.has(f.path))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

    for (const f of found) {
      if (opts.signal?.aborted) break;
      const childId = newJobId(clock.now());
      const workFile = path.join(path.resolve(deps.workDir), job.accountId, childId, f.name);
      // Record first (job, then checkpoint), so a crash in the download leaves a trace a retry settles.
      await insertJob(
        store.db,
        {
          id: childId,
          accountId: job.accountId,
          instanceId: instance.id,
          kind: 'import',
          trigger: 'poll',
          inputName: f.name,
          inputPath: workFile,
          inputSize: f.size,
        },
        clock.now(),
      );
      const entry: PolledFile = { jobId: childId, found: f, downloaded: false, settled: false };
      checkpoint.files.push(entry);
      await saveCheckpoint();
      await fs.promises.mkdir(path.dirname(workFile), { recursive: true, mode: 0o750 });
      try {
        const size = await downloadFile(space, f.path, workFile);
        await updateJob(store.db, childId, { input_size: size, input_sha256: await sha256Of(workFile) });
        entry.downloaded = true;
        await saveCheckpoint();
      } catch (e) {
        await failChild(deps, childId, workFile, e, `download of ${f.path} failed`);
        entry.settled = true;
        await saveCheckpoint();
        count('failed');
        // The connection is likely gone: the queue retries the run, which lists the file again.
        throw e;
      }
      logger.info(
        { jobId: childId, parentJobId: job.id, remotePath: f.path, instanceId: instance.id },
        'remote file downloaded',
      );
      count(await settleChild(deps, space, job, entry, after));
      entry.settled = true;
      await saveCheckpoint();
    }
  } finally {
    space.end();
  }

  const result: RemotePollResult = {
    // `partial` when a file failed, so the instance's `notify: on: [partial]` tells the customer.
    status: counters.files === 0 ? 'skipped' : counters.failed > 0 ? 'partial' : 'succeeded',
    counters,
    result: { jobs: checkpoint.files.map((f) => f.jobId) },
  };
  await updateJob(store.db, job.id, {
    status: result.status,
    counters_json: JSON.stringify(result.counters),
    result_json: JSON.stringify(result.result),
    ended_at: clock.now().toISOString(),
  });
  return result;
}

/** Marks a child whose input never arrived complete as failed, and removes its work folder. */
async function failChild(
  deps: RemotePollDeps,
  childId: string,
  workFile: string,
  e: unknown,
  what: string,
): Promise<void> {
  const err = publicError(e);
  await updateJob(deps.store.db, childId, {
    status: 'failed',
    error_code: err.code === 'DS_INTERNAL' ? 'DS_REMOTE_IO' : err.code,
    error_message: `${what}: ${err.message}`,
    ended_at: deps.clock.now().toISOString(),
  });
  await fs.promises.rm(path.dirname(workFile), { recursive: true, force: true });
}

/**
 * Import (or resume, or only finalise) a child whose input is in the work area, then apply `afterImport` on
 * the remote file when it succeeded. Returns the child's final status.
 */
async function settleChild(
  deps: RemotePollDeps,
  space: RemoteSftpSpace,
  parent: JobRecord,
  f: PolledFile,
  after: { action: 'delete' } | { action: 'move'; moveTo: string },
): Promise<JobStatus> {
  const child = await findJob(deps.store.db, f.jobId);
  if (!child) return 'failed';
  const workFile = child.inputPath ?? '';
  // The work folder exists until runHostedImportJob finalised the child (its input_path then names done/).
  const inWorkArea = workFile !== '' && fs.existsSync(path.dirname(workFile));
  let status = child.status;
  if (!f.downloaded) {
    // A crash between record and the end of the download: the remote file is still there, and this run's
    // listing takes it again as a new child.
    if (!TERMINAL.includes(status))
      await failChild(deps, f.jobId, workFile, undefined, 'download interrupted');
    return 'failed';
  }
  if (inWorkArea)
    status = (await runHostedImportJob(deps, { jobId: f.jobId, accountId: parent.accountId })).status;
  if (SUCCESS.includes(status)) {
    try {
      await finishRemoteFile(space, f.found, after);
    } catch (e) {
      // Already moved or deleted by an attempt that died right after: nothing left to do.
      if (!space.isNotFound(e)) throw e;
    }
  } else
    deps.logger.warn(
      { jobId: f.jobId, parentJobId: parent.id, remotePath: f.found.path, status },
      'remote import failed; the remote file stays for the next poll',
    );
  return status;
}
