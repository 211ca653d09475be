/**
 * The hosted flow (INTERFACES.md "Hosted space"; invariants 1–3): a "file ready" event for a file in an
 * instance's folder creates a job and moves the file out of the customer's reach at once, into the work area
 * `<workDir>/<account>/<jobId>/`. When the job ends, the input lands in `<folder>/done/` (or `failed/`) as
 * `<jobId>_<name>`, with `<jobId>_<name>.result.json` and, when rows were rejected, `<jobId>_<name>.rejected.csv`.
 *
 * Crash safety: the job record is written before the move, and on start every import job still in the work
 * area is queued again — it resumes from its checkpoint, or is only finalised when it had already ended.
 */
import fs from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import { findJob, insertJob, newJobId, updateJob, type Store } from '../store/index.js';
import { matchInstance } from './file-match.js';
import { runImportJob, silentLogger, type ImportLogger, type ImportSummary } from './import-job.service.js';
import { InProcessImportRunner, type ImportJobRef, type ImportRunner } from './import-runner.js';
import { listImportInstances } from './instances.service.js';
import { writeFileAtomic } from './result-files.js';
import { loadImportInstance } from './import-context.js';

/** The event of `spaces/` (structural, so tests and other emitters need not import the bus). */
export interface FileReadyEvent {
  accountId: string;
  path: string;
  size: number;
  sha256: string;
  at: Date;
}

export interface HostedImportsDeps {
  store: Store;
  /** `HostedSpaces` of spaces/: the jailed disk path of a space path. */
  spaces: { resolve(accountId: string, spacePath: string): string };
  /** `FileReadyBus` of spaces/. */
  bus: { on(listener: (e: FileReadyEvent) => void | Promise<void>): () => void };
  /** Processing area outside every space (e.g. `<dataDir>/work/imports`). */
  workDir: string;
  logger?: ImportLogger;
  /** Default: an in-process runner, one import at a time per account. */
  runner?: ImportRunner;
  clock?: Clock;
  batchSize?: number;
}

export interface HostedImports {
  /** Resolves when no event is being handled and no import is queued or running (tests, shutdown). */
  idle(): Promise<void>;
  /** Stop listening and let running imports finish. Idempotent. */
  stop(): Promise<void>;
  /** Handle one event (what the bus listener calls); resolves when the file is queued (not imported). */
  handle(e: FileReadyEvent): Promise<string | null>;
}

function moveFile(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o750 });
  try {
    fs.renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    fs.copyFileSync(from, to);
    fs.rmSync(from);
  }
}

/** What running one hosted import job needs (a worker of the jobs queue builds it once). */
export type HostedImportJobDeps = Pick<HostedImportsDeps, 'store' | 'spaces' | 'batchSize'> & {
  logger: ImportLogger;
  clock: Clock;
};

/**
 * Run (or resume) one recorded hosted import job and finalise it: the input, `.result.json` and
 * `.rejected.csv` go to `<folder>/done/` or `<folder>/failed/`, and the work folder is removed. This is what
 * the in-process runner and the jobs queue's import handler both call.
 */
export async function runHostedImportJob(
  deps: HostedImportJobDeps,
  ref: ImportJobRef,
): Promise<ImportSummary> {
  const { store, logger, clock } = deps;
  const job = await findJob(store.db, ref.jobId);
  if (!job || !job.inputPath || !job.instanceId) throw new Error(`import job ${ref.jobId} has no input`);
  const workFile = job.inputPath;
  const name = job.inputName ?? path.basename(workFile);
  const rejectedWork = path.join(path.dirname(workFile), `${ref.jobId}_${name}.rejected.csv`);
  let validateOnly = false;
  let folder = '/import';
  try {
    const instance = await loadImportInstance(store.db, job.instanceId);
    validateOnly = instance.validateOnly;
    folder = instance.folder;
  } catch {
    // runImportJob records the instance problem on the job
  }
  const summary = await runImportJob(store, ref.jobId, {
    skipIfProcessed: true,
    validateOnly,
    rejectedCsvPath: rejectedWork,
    workDir: path.dirname(workFile),
    logger,
    clock,
    batchSize: deps.batchSize,
  });
  // Finalise: input, result and rejected rows go back to the customer's space, then the work folder goes.
  const destFolder = `${folder === '/' ? '' : folder}/${summary.status === 'failed' ? 'failed' : 'done'}`;
  const base = `${ref.jobId}_${name}`;
  const destDisk = deps.spaces.resolve(ref.accountId, destFolder);
  fs.mkdirSync(destDisk, { recursive: true, mode: 0o750 });
  const resultFiles: Record<string, string> = {
    input: `${destFolder}/${base}`,
    result: `${destFolder}/${base}.result.json`,
  };
  const hasRejected = fs.existsSync(rejectedWork) && fs.statSync(rejectedWork).size > 0;
  if (hasRejected) resultFiles.rejected = `${destFolder}/${base}.rejected.csv`;
  const result = {
    ...summary,
    validateOnly,
    resultFiles,
    rejectedFile: hasRejected ? resultFiles.rejected! : null,
  };
  if (hasRejected) moveFile(rejectedWork, path.join(destDisk, `${base}.rejected.csv`));
  writeFileAtomic(path.join(destDisk, `${base}.result.json`), JSON.stringify(result, null, 2) + '\n');
  if (fs.existsSync(workFile)) moveFile(workFile, path.join(destDisk, base));
  // Remove the job's own work folder (`work/imports/<account>/<jobId>/`) — and nothing else, whatever a
  // damaged or hand-edited job record says its input path is.
  if (path.basename(path.dirname(workFile)) === ref.jobId)
    fs.rmSync(path.dirname(workFile), { recursive: true, force: true });
  await updateJob(store.db, ref.jobId, {
    input_path: resultFiles.input,
    result_json: JSON.stringify(result),
  });
  return result;
}

export function startHostedImports(deps: HostedImportsDeps): HostedImports {
  const { store } = deps;
  const logger = deps.logger ?? silentLogger;
  const clock = deps.clock ?? systemClock;
  const workRoot = path.resolve(deps.workDir);
  const handling = new Set<Promise<unknown>>();
  let stopped = false;

  const runner: ImportRunner =
    deps.runner ?? new InProcessImportRunner((job) => runHostedImportJob({ ...deps, logger, clock }, job));

  async function handle(e: FileReadyEvent): Promise<string | null> {
    const name = path.posix.basename(e.path);
    const folder = path.posix.dirname(e.path);
    const instances = await listImportInstances(store, e.accountId);
    const instance = matchInstance(instances, e.path);
    if (!instance) {
      // Files of other folders (/sms, /import_zip, /export…) belong to other capabilities.
      if (folder !== '/import' && !instances.some((i) => i.folder === folder)) return null;
      // Left where it is, and visible to the operator as a skipped job (reference §7.3 decision).
      logger.warn({ accountId: e.accountId, path: e.path }, 'no import instance matches the file');
      const job = await insertJob(
        store.db,
        {
          accountId: e.accountId,
          kind: 'import',
          trigger: 'upload',
          status: 'skipped',
          inputName: name,
          inputPath: e.path,
          inputSha256: e.sha256,
          inputSize: e.size,
        },
        clock.now(),
      );
      await updateJob(store.db, job.id, {
        error_code: 'DS_IMPORT_NO_INSTANCE',
        error_message: `no import instance matches ${e.path}`,
        ended_at: clock.now().toISOString(),
      });
      return null;
    }
    const jobId = newJobId(clock.now());
    const workFile = path.join(workRoot, e.accountId, jobId, name);
    await insertJob(
      store.db,
      {
        id: jobId,
        accountId: e.accountId,
        instanceId: instance.id,
        kind: 'import',
        trigger: 'upload',
        inputName: name,
        inputPath: workFile,
        inputSha256: e.sha256,
        inputSize: e.size,
      },
      clock.now(),
    );
    try {
      moveFile(deps.spaces.resolve(e.accountId, e.path), workFile);
    } catch (err) {
      await updateJob(store.db, jobId, {
        status: 'failed',
        error_code: 'DS_IMPORT_FILE_UNREADABLE',
        error_message: 'the file could not be moved to the processing area',
        ended_at: clock.now().toISOString(),
      });
      logger.error({ jobId, err }, 'import file could not be moved');
      return jobId;
    }
    logger.info({ jobId, accountId: e.accountId, path: e.path, instanceId: instance.id }, 'import queued');
    runner
      .enqueue({ jobId, accountId: e.accountId })
      .catch((err: unknown) => logger.error({ jobId, err }, 'import job crashed'));
    return jobId;
  }

  const track = <T>(p: Promise<T>): Promise<T> => {
    handling.add(p);
    void p.finally(() => handling.delete(p)).catch(() => {});
    return p;
  };

  const off = deps.bus.on((e) => {
    if (stopped) return;
    return track(handle(e)).then(() => undefined);
  });

  // Recovery: jobs left in the work area by a crash or a stop run (resume) or are finalised.
  track(
    (async () => {
      const rows = await store.db
        .selectFrom('jobs')
        .select(['id', 'account_id', 'input_path'])
        .where('kind', '=', 'import')
        .where('trigger', '=', 'upload')
        .where('input_path', 'like', `${workRoot}%`)
        .orderBy('id')
        .execute();
      for (const r of rows) {
        if (!r.input_path || !fs.existsSync(path.dirname(r.input_path))) continue;
        logger.info({ jobId: r.id }, 'resuming import job');
        runner
          .enqueue({ jobId: r.id, accountId: r.account_id })
          .catch((err: unknown) => logger.error({ jobId: r.id, err }, 'import job crashed'));
      }
    })().catch((err: unknown) => logger.error({ err }, 'import recovery failed')),
  );

  return {
    handle: (e) => track(handle(e)),
    async idle() {
      while (handling.size > 0) await Promise.all([...handling]);
      await runner.idle();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      off();
      while (handling.size > 0) await Promise.all([...handling]);
      await runner.stop();
    },
  };
}
