/**
 * Import jobs: the job record around the engine (INTERFACES.md "Jobs"). `importFile` is what the CLI calls;
 * `runImportJob` runs or resumes a recorded job (the in-process runner and, later, the jobs queue call it).
 * Every outcome ends in the job record — status, counters, error code and message (invariants 3 and 6).
 */
import fs from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import { DatasyncError, isDatasyncError } from '../errors.js';
import { importBatchRows, isFileProcessed, markFileProcessed } from '../store/import-batch.repository.js';
import {
  findJob,
  insertJob,
  updateJob,
  type JobRecord,
  type JobStatus,
  type JobTrigger,
  type Store,
} from '../store/index.js';
import { scanFile, type FileScan } from './csv-source.js';
import { loadAccountContext, loadImportInstance } from './import-context.js';
import { emptyCounters, type ImportCounters, type RowRejection } from './import-counters.js';
import { runImportEngine, type ImportCheckpoint, type ImportProgress } from './import-engine.js';
import { RejectedCsvWriter } from './result-files.js';

/** The structural subset of a pino logger the imports use. */
export interface ImportLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: ImportLogger = { info() {}, warn() {}, error() {} };

/**
 * Rows per batch transaction on SQLite (PostgreSQL: 5,000, see `defaultBatchSize`): the raw-limit benchmark's
 * transaction size. Key sets travel as one parameter
 * (store/import-batch.repository.ts), so no parameter limit caps it; two batches in memory stay a few MB.
 */
export const DEFAULT_BATCH_SIZE = 10_000;

/** The dialect's default (store/import-batch-sql.ts): 5,000 rows on PostgreSQL, whose peak RSS it bounds. */
function defaultBatchSize(store: Store): number {
  return importBatchRows(store.dialect);
}

export interface RunImportOptions {
  /** Called after each batch. */
  onProgress?: (p: ImportProgress) => void;
  /** Called for every rejected row, in file order (the CLI's --dry-run lists them). */
  onRejected?: (r: RowRejection) => void;
  /** Write the rejected rows there (input dialect + `_line,_code,_reason`); removed again when none. */
  rejectedCsvPath?: string;
  /** Validate only: no data change (dry run with a job record, for validate-only instances). */
  validateOnly?: boolean;
  /** Skip (status `skipped`) when this instance already imported the same content, unless it allows reprocessing. */
  skipIfProcessed?: boolean;
  batchSize?: number;
  /**
   * The job's work folder: the duplicate counter spills its keys there beyond its memory cap (files past 1M
   * rows), removed when the import ends. Default the system's temporary folder (`datasync import FILE`).
   */
  workDir?: string;
  /** Memory cap of the duplicate counter in hash slots (a power of two; tests make it tiny). */
  keyMemorySlots?: number;
  clock?: Clock;
  logger?: ImportLogger;
}

export interface ImportSummary {
  jobId: string | null;
  instanceId: string;
  accountId: string;
  /** Input file name (no folder). */
  file: string;
  status: JobStatus;
  dryRun: boolean;
  sha256: string | null;
  size: number | null;
  encoding: FileScan['encoding'] | null;
  counters: ImportCounters;
  /** The first rejected rows (all of them are in the rejected CSV). */
  rejected: RowRejection[];
  rejectedFile: string | null;
  error: { code: string; message: string } | null;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  rowsPerSecond: number;
}

export interface ImportFileInput extends RunImportOptions {
  /** Path of the CSV on disk. */
  file: string;
  instanceId: string;
  /** Validate and report without changing anything and without a job record. */
  dryRun?: boolean;
  trigger?: JobTrigger;
}

function statusOf(counters: ImportCounters): JobStatus {
  return counters.rejected > 0 ? 'partial' : 'succeeded';
}

function summarize(
  base: { jobId: string | null; instanceId: string; accountId: string; file: string; dryRun: boolean },
  scan: FileScan | null,
  status: JobStatus,
  counters: ImportCounters,
  rejected: RowRejection[],
  rejectedFile: string | null,
  error: { code: string; message: string } | null,
  startedAt: Date,
  endedAt: Date,
): ImportSummary {
  const durationMs = endedAt.getTime() - startedAt.getTime();
  return {
    ...base,
    status,
    sha256: scan?.sha256 ?? null,
    size: scan?.size ?? null,
    encoding: scan?.encoding ?? null,
    counters,
    rejected,
    rejectedFile,
    error,
    startedAt: startedAt.toISOString(),
    endedAt: endedAt.toISOString(),
    durationMs,
    rowsPerSecond: durationMs > 0 ? Math.round((counters.processed * 1000) / durationMs) : counters.processed,
  };
}

function errorOf(e: unknown): { code: string; message: string } {
  if (isDatasyncError(e)) return { code: e.code, message: e.message };
  return {
    code: 'DS_IMPORT_INTERRUPTED',
    message: 'the import stopped on an unexpected error; it resumes from its last batch when retried',
  };
}

function readCheckpoint(job: JobRecord): { cp: ImportCheckpoint | null; counters: ImportCounters | null } {
  const cp = job.checkpoint as ImportCheckpoint | null;
  if (!cp || cp.v !== 1) return { cp: null, counters: null };
  return { cp, counters: (job.counters as unknown as ImportCounters) ?? emptyCounters() };
}

/** The summary a finished job record describes (for idempotent re-runs of terminal jobs). */
export function summaryFromJob(job: JobRecord): ImportSummary {
  const r = (job.result ?? {}) as Partial<ImportSummary>;
  return {
    jobId: job.id,
    instanceId: job.instanceId ?? '',
    accountId: job.accountId,
    file: job.inputName ?? '',
    status: job.status,
    dryRun: false,
    sha256: job.inputSha256,
    size: job.inputSize,
    encoding: r.encoding ?? null,
    counters: (job.counters as unknown as ImportCounters) ?? emptyCounters(),
    rejected: r.rejected ?? [],
    rejectedFile: r.rejectedFile ?? null,
    error: job.error,
    startedAt: job.startedAt ?? job.createdAt,
    endedAt: job.endedAt ?? job.createdAt,
    durationMs: r.durationMs ?? 0,
    rowsPerSecond: r.rowsPerSecond ?? 0,
  };
}

const TERMINAL: JobStatus[] = ['succeeded', 'partial', 'failed', 'skipped', 'cancelled'];

/**
 * Import a file from disk with a stored instance (the CLI's `datasync import FILE --instance ID [--dry-run]`).
 * A dry run validates every row against the store and reports, without a job record or any change.
 */
export async function importFile(store: Store, input: ImportFileInput): Promise<ImportSummary> {
  const clock = input.clock ?? systemClock;
  const file = path.resolve(input.file);
  const instance = await loadImportInstance(store.db, input.instanceId);
  if (input.dryRun) {
    const started = clock.now();
    const base = {
      jobId: null,
      instanceId: instance.id,
      accountId: instance.accountId,
      file: path.basename(file),
      dryRun: true,
    };
    let scan: FileScan | null = null;
    try {
      const account = await loadAccountContext(store.db, instance);
      scan = await scanFile(file, instance.file.encoding);
      const res = await runImportEngine({
        store,
        instance,
        account,
        file,
        scan,
        jobId: null,
        dryRun: true,
        checkpoint: null,
        counters: null,
        openRejected: input.rejectedCsvPath
          ? rejectedOpener(input.rejectedCsvPath, scan, instance.file)
          : null,
        batchSize: input.batchSize ?? defaultBatchSize(store),
        workDir: input.workDir,
        keyMemorySlots: input.keyMemorySlots,
        clock,
        onProgress: input.onProgress,
        onRejected: input.onRejected,
      });
      cleanupRejected(input.rejectedCsvPath, res.counters);
      return summarize(
        base,
        scan,
        statusOf(res.counters),
        res.counters,
        res.sample,
        res.rejectedPath,
        null,
        started,
        clock.now(),
      );
    } catch (e) {
      if (!isDatasyncError(e)) throw e;
      const counters = (e.details?.counters as ImportCounters | undefined) ?? emptyCounters();
      return summarize(base, scan, 'failed', counters, [], null, errorOf(e), started, clock.now());
    }
  }
  let size: number | null = null;
  try {
    size = fs.statSync(file).size;
  } catch {
    // reported by the job as DS_IMPORT_FILE_UNREADABLE
  }
  const job = await insertJob(
    store.db,
    {
      accountId: instance.accountId,
      instanceId: instance.id,
      kind: 'import',
      trigger: input.trigger ?? 'cli',
      inputName: path.basename(file),
      inputPath: file,
      inputSize: size,
    },
    clock.now(),
  );
  return runImportJob(store, job.id, input);
}

function rejectedOpener(p: string, scan: FileScan, file: { separator: string; quote: string | null }) {
  return (header: string[] | null, resumeAt: number) =>
    new RejectedCsvWriter(p, scan, file, header, resumeAt);
}

function cleanupRejected(p: string | undefined, counters: ImportCounters): void {
  if (p && counters.rejected === 0) fs.rmSync(p, { force: true });
}

/**
 * Run (or resume) a recorded import job: its `input_path` is the file. Safe to call again after a crash: the
 * job resumes from its checkpoint; a finished job is returned as it is.
 */
export async function runImportJob(
  store: Store,
  jobId: string,
  opts: RunImportOptions = {},
): Promise<ImportSummary> {
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? silentLogger;
  const job = await findJob(store.db, jobId);
  if (!job) throw new DatasyncError('DS_JOB_NOT_FOUND', `job ${jobId} does not exist`);
  if (TERMINAL.includes(job.status)) return summaryFromJob(job);
  const started = job.startedAt ? new Date(job.startedAt) : clock.now();
  const base = {
    jobId,
    instanceId: job.instanceId ?? '',
    accountId: job.accountId,
    file: job.inputName ?? '',
    dryRun: false,
  };
  await updateJob(store.db, jobId, {
    status: 'running',
    started_at: started.toISOString(),
    attempts: job.attempts + 1,
  });
  let scan: FileScan | null = null;
  let counters = emptyCounters();
  const finish = async (status: JobStatus, summary: ImportSummary) => {
    await updateJob(store.db, jobId, {
      status,
      counters_json: JSON.stringify(summary.counters),
      error_code: summary.error?.code ?? null,
      error_message: summary.error?.message ?? null,
      result_json: JSON.stringify(summary),
      ended_at: summary.endedAt,
      input_sha256: summary.sha256,
      input_size: summary.size,
    });
    logger.info({ jobId, status, counters: summary.counters, error: summary.error }, 'import finished');
    return summary;
  };
  try {
    if (!job.instanceId) throw new DatasyncError('DS_IMPORT_NO_INSTANCE', 'the job names no import instance');
    const instance = await loadImportInstance(store.db, job.instanceId);
    if (!job.inputPath) throw new DatasyncError('DS_IMPORT_FILE_UNREADABLE', 'the job has no input file');
    const account = await loadAccountContext(store.db, instance);
    scan = await scanFile(job.inputPath, instance.file.encoding);
    if (opts.skipIfProcessed && !instance.reprocess && !opts.validateOnly) {
      const earlier = await isFileProcessed(store.db, instance.id, scan.sha256);
      if (earlier && earlier !== jobId) {
        const err = {
          code: 'DS_IMPORT_ALREADY_DONE',
          message: `the same file content was already imported by job ${earlier}`,
        };
        return finish(
          'skipped',
          summarize(base, scan, 'skipped', counters, [], null, err, started, clock.now()),
        );
      }
    }
    const { cp, counters: saved } = readCheckpoint(job);
    const res = await runImportEngine({
      store,
      instance,
      account,
      file: job.inputPath,
      scan,
      jobId,
      dryRun: opts.validateOnly === true,
      checkpoint: cp,
      counters: saved,
      openRejected: opts.rejectedCsvPath ? rejectedOpener(opts.rejectedCsvPath, scan, instance.file) : null,
      batchSize: opts.batchSize ?? defaultBatchSize(store),
      workDir: opts.workDir,
      keyMemorySlots: opts.keyMemorySlots,
      clock,
      onProgress: opts.onProgress,
      onRejected: opts.onRejected,
    });
    counters = res.counters;
    cleanupRejected(opts.rejectedCsvPath, counters);
    const status = statusOf(counters);
    if (!opts.validateOnly)
      await markFileProcessed(
        store.db,
        { instanceId: instance.id, sha256: scan.sha256, accountId: job.accountId, jobId },
        clock.now().toISOString(),
      );
    return finish(
      status,
      summarize(base, scan, status, counters, res.sample, res.rejectedPath, null, started, clock.now()),
    );
  } catch (e) {
    if (!isDatasyncError(e)) logger.error({ jobId, err: e }, 'import failed on an unexpected error');
    const error = errorOf(e);
    // A tripped guard carries the counters of its validation pass; otherwise the last checkpointed ones.
    const guardCounters = isDatasyncError(e)
      ? (e.details?.counters as ImportCounters | undefined)
      : undefined;
    const cp =
      guardCounters ?? ((await findJob(store.db, jobId))?.counters as unknown as ImportCounters | null);
    const rejectedFile =
      opts.rejectedCsvPath &&
      fs.existsSync(opts.rejectedCsvPath) &&
      fs.statSync(opts.rejectedCsvPath).size > 0
        ? opts.rejectedCsvPath
        : null;
    return finish(
      'failed',
      summarize(base, scan, 'failed', cp ?? counters, [], rejectedFile, error, started, clock.now()),
    );
  }
}
