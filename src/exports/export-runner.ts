/**
 * One export run (reference §3, invariant 5), the plain function the scheduler, the queue and the CLI call:
 *
 *   job record `running` → window (from the watermark) → rows streamed page by page into a temporary file →
 *   rename to the final name → in one transaction: file record, watermark, job `succeeded` → retention.
 *
 * The watermark moves only after the rename, so a run that fails anywhere before leaves it where it was and
 * the next run covers the same events again: none lost, none in two consecutive files. A crash between the
 * rename and the commit is the one case that can repeat a window (at-least-once; docs/exports.md).
 */
import type { Readable } from 'node:stream';
import type { Clock } from '../clock.js';
import { DatasyncError, NotFoundError, isDatasyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { HostedSpaces } from '../spaces/index.js';
import {
  findInstance,
  findJob,
  insertJob,
  listFields,
  markSupersededEvents,
  updateJob,
  type Db,
  type JobRecord,
  type JobTrigger,
} from '../store/index.js';
import {
  getExportWatermark,
  insertExportFile,
  listExportFiles,
  markExportFileRemoved,
  nextExportSeq,
  setExportWatermark,
} from '../store/exports-files.repository.js';
import { encodeCsv, encodeCsvText, rowPolicy } from './csv-encoder.js';
import { copyEligible, startCopyExport, type CopyExport } from './export-copy.js';
import { resolveColumns } from './export-columns.js';
import {
  defaultDestinationResolver,
  type DestinationResolver,
  type ExportDestination,
} from './export-destination.js';
import { parseExportInstance, type ExportInstance } from './export-instance.js';
import { disambiguated, exportFileNames, temporaryName } from './export-naming.js';
import { rowSource, usesLatestAction, type SourceOptions } from './export-rows.js';
import { resolveWindow, type ExportWindow, type WindowOverride } from './export-window.js';

export interface RunExportOptions {
  /** The open store (only `db` is used). */
  store: { db: Db };
  /** Hosted spaces, for `hosted` destinations. Give this or `destinations`. */
  spaces?: HostedSpaces;
  /** Destination resolver (the jobs capability passes one that also knows remote spaces). */
  destinations?: DestinationResolver;
  instanceId: string;
  trigger: JobTrigger;
  /** One-off window (`--from/--to`): the watermark does not move. */
  window?: WindowOverride;
  /** A job record the queue already created (status `queued`); otherwise one is created. */
  jobId?: string;
  clock: Clock;
  logger: Logger;
  /** Test/benchmark knob: rows per database page. */
  source?: SourceOptions;
  /** Observer called after each data row is handed to the CSV stream (tests use it to act "during a run"). */
  onRow?: (rows: number) => void | Promise<void>;
}

export interface ExportRunResult {
  job: JobRecord;
  status: 'succeeded' | 'skipped';
  /** Final file name in the destination folder (absent when skipped). */
  file?: string;
  destination?: string;
  rows: number;
  /** Rows with characters windows-1252 cannot hold (replaced or skipped per `file.unmappable`). */
  unmappableRows: number;
  bytes: number;
  window: ExportWindow;
}

/** Runs of one instance in this process are serialised; across nodes the queue's singleton keys do it. */
const running = new Set<string>();

export async function runExport(o: RunExportOptions): Promise<ExportRunResult> {
  const { db } = o.store;
  const rec = await findInstance(db, o.instanceId);
  if (!rec || rec.kind !== 'export')
    throw new NotFoundError(`export instance "${o.instanceId}" does not exist`, {
      code: 'DS_EXPORT_NO_INSTANCE',
    });
  if (running.has(rec.id))
    throw new DatasyncError('DS_EXPORT_BUSY', `export instance "${rec.id}" is already running`);
  running.add(rec.id);
  try {
    return await runLocked(o, rec.definition, rec.accountId);
  } finally {
    running.delete(rec.id);
  }
}

async function startJob(o: RunExportOptions, accountId: string, now: Date): Promise<JobRecord> {
  const { db } = o.store;
  if (o.jobId) {
    const j = await findJob(db, o.jobId);
    if (j) {
      await updateJob(db, j.id, {
        status: 'running',
        started_at: now.toISOString(),
        attempts: j.attempts + 1,
      });
      return { ...j, status: 'running', startedAt: now.toISOString(), attempts: j.attempts + 1 };
    }
  }
  const job = await insertJob(
    db,
    {
      id: o.jobId,
      accountId,
      instanceId: o.instanceId,
      kind: 'export',
      trigger: o.trigger,
      status: 'running',
    },
    now,
  );
  await updateJob(db, job.id, { started_at: now.toISOString(), attempts: 1 });
  return { ...job, startedAt: now.toISOString(), attempts: 1 };
}

async function runLocked(
  o: RunExportOptions,
  definition: unknown,
  accountId: string,
): Promise<ExportRunResult> {
  const { db } = o.store;
  const started = o.clock.now();
  const job = await startJob(o, accountId, started);
  const log = o.logger.child({ component: 'exports', instance: o.instanceId, job: job.id });
  let dest: ExportDestination | undefined;
  let temp: string | undefined;
  let rows = 0;
  let unmappableRows = 0;
  // Closed on every way out: on PostgreSQL an unfinished source holds a cursor and its transaction.
  let source: AsyncGenerator<string[][]> | undefined;
  let copy: CopyExport | undefined;
  try {
    const inst = parseExportInstance(definition, o.instanceId);
    const win = resolveWindow(inst, started, await getExportWatermark(db, inst.id), o.window);
    const fieldNames = new Map((await listFields(db, inst.accountId)).map((f) => [f.fieldId, f.name]));
    const columns = resolveColumns(inst.type, inst.columns, inst.fields, inst.headers, fieldNames);
    const policy = rowPolicy(inst.file, () => unmappableRows++);

    // The latest-action rule reads superseded marks: bring them up to the window's end first (usually a
    // minute of events: a worker keeps them marked, superseded-marks.ts). Never past now: events not yet
    // recorded would be skipped by later passes.
    if (usesLatestAction(inst)) {
      const now = started.toISOString();
      await markSupersededEvents(db, inst.accountId, win.to < now ? win.to : now);
    }
    // PostgreSQL writes the rows itself (COPY) when its bytes are certainly the cursor path's (export-copy.ts).
    if (o.source?.copy !== false && copyEligible(db, inst, columns))
      copy = await startCopyExport(db, inst, columns, win, { workMem: o.source?.workMem, onRow: o.onRow });
    // Read the first page before creating any file: an empty window with `emptyFile: skip` writes nothing.
    const pages = copy ? undefined : (source = rowSource(db, inst, columns, win, o.source));
    const first = await pages?.next();
    if ((copy ? copy.empty : first!.done) && inst.emptyFile === 'skip') {
      if (copy) await copy.finish();
      return await finish(o, job, inst, win, { status: 'skipped', rows: 0, unmappableRows: 0, bytes: 0 });
    }
    let sourceError: unknown;
    async function* data(): AsyncGenerator<string[][]> {
      try {
        for (let p: IteratorResult<string[][]> = first!; !p.done; p = await pages!.next()) {
          const out: string[][] = [];
          for (const r of p.value) {
            const row = policy(r);
            if (row === null) continue;
            rows++;
            out.push(row);
            if (o.onRow) await o.onRow(rows);
          }
          if (out.length > 0) yield out;
        }
      } catch (e) {
        sourceError = e;
        throw e;
      }
    }

    dest = await (o.destinations ?? defaultDestinationResolver(requireSpaces(o)))(inst);
    const seq = await nextExportSeq(db, inst.id);
    const names = exportFileNames(inst, started, seq);
    temp = temporaryName(names.name, job.id);
    const header = inst.file.header ? columns.map((c) => c.header) : null;
    let bytes: number;
    try {
      const stream: Readable = copy
        ? encodeCsvText(copy.chunks(header), inst.file, names.csvName, started)
        : encodeCsv(data(), header, inst.file, names.csvName, started);
      bytes = await dest.writeFile(temp, stream);
    } catch (e) {
      throw sourceError ?? copy?.error ?? destinationError('write', e);
    }
    // COPY's row count arrives with the end of its statement (the file has no per-row loop to count in).
    if (copy) rows = await copy.finish();
    let name = names.name;
    try {
      await dest.rename(temp, name);
    } catch (e) {
      if (!dest.isExists(e)) throw destinationError('rename', e);
      // Two runs in the same second with a pattern without {seq}: keep both files.
      name = disambiguated(names.name, seq);
      try {
        await dest.rename(temp, name);
      } catch (e2) {
        throw destinationError('rename', e2);
      }
    }
    temp = undefined; // renamed: nothing to clean up any more
    log.info(
      { file: name, rows, bytes, from: win.from, to: win.to, read: copy ? 'copy' : 'cursor' },
      'export file written',
    );
    const result = await finish(o, job, inst, win, {
      status: 'succeeded',
      rows,
      unmappableRows,
      bytes,
      file: { name, seq, destination: dest.label },
    });
    await applyRetention(o, inst, dest, log);
    return result;
  } catch (e) {
    const err = isDatasyncError(e)
      ? e
      : new DatasyncError(
          'DS_EXPORT_FAILED',
          'the export stopped on an unexpected error; see the server log',
          {
            cause: e,
          },
        );
    if (!isDatasyncError(e)) log.error({ err: e }, 'export failed');
    else log.warn({ code: err.code, msg: err.message }, 'export failed');
    if (dest && temp) await dest.remove(temp).catch(() => undefined);
    await updateJob(db, job.id, {
      status: 'failed',
      ended_at: o.clock.now().toISOString(),
      error_code: err.code,
      error_message: err.message,
      counters_json: JSON.stringify({ rows, unmappableRows }),
    }).catch((e2: unknown) => log.error({ err: e2 }, 'could not record the failed export job'));
    throw err;
  } finally {
    await source?.return(undefined).catch(() => undefined);
    copy?.close();
  }
}

function requireSpaces(o: RunExportOptions): HostedSpaces {
  if (!o.spaces)
    throw new DatasyncError('DS_EXPORT_DESTINATION', 'no hosted spaces given to the export runner');
  return o.spaces;
}

function destinationError(step: string, e: unknown): DatasyncError {
  if (isDatasyncError(e)) return e;
  return new DatasyncError(
    'DS_EXPORT_DESTINATION',
    `the export file could not be ${step === 'write' ? 'written' : 'renamed'}`,
    {
      cause: e,
    },
  );
}

async function finish(
  o: RunExportOptions,
  job: JobRecord,
  inst: ExportInstance,
  win: ExportWindow,
  r: {
    status: 'succeeded' | 'skipped';
    rows: number;
    unmappableRows: number;
    bytes: number;
    file?: { name: string; seq: number; destination: string };
  },
): Promise<ExportRunResult> {
  const ended = o.clock.now();
  const counters = { rows: r.rows, unmappableRows: r.unmappableRows, bytes: r.bytes };
  const result = {
    file: r.file?.name ?? null,
    destination: r.file?.destination ?? null,
    window: { from: win.from, to: win.to, mode: win.mode },
  };
  // File record, watermark and job outcome commit together: a reader never sees a moved watermark without
  // the file that covers it.
  await o.store.db.transaction().execute(async (trx) => {
    if (r.file)
      await insertExportFile(trx, {
        instanceId: inst.id,
        seq: r.file.seq,
        accountId: inst.accountId,
        jobId: job.id,
        name: r.file.name,
        destination: r.file.destination,
        rows: r.rows,
        bytes: r.bytes,
        windowFrom: win.from,
        windowTo: win.to,
        createdAt: ended.toISOString(),
      });
    if (win.moveWatermark) await setExportWatermark(trx, inst.id, win.to, ended);
    await updateJob(trx, job.id, {
      status: r.status,
      ended_at: ended.toISOString(),
      counters_json: JSON.stringify(counters),
      result_json: JSON.stringify(result),
      input_name: r.file?.name ?? null,
    });
  });
  const done = (await findJob(o.store.db, job.id))!;
  return {
    job: done,
    status: r.status,
    file: r.file?.name,
    destination: r.file?.destination,
    rows: r.rows,
    unmappableRows: r.unmappableRows,
    bytes: r.bytes,
    window: win,
  };
}

/**
 * Retention: only files this instance wrote (export_files) are removed, never a customer's own file in the
 * folder. Failures are logged: a file left behind is retried at the next run.
 */
async function applyRetention(
  o: RunExportOptions,
  inst: ExportInstance,
  dest: ExportDestination,
  log: Logger,
): Promise<void> {
  const { keepFiles, maxAgeDays } = inst.retention;
  if (keepFiles === undefined && maxAgeDays === undefined) return;
  const now = o.clock.now();
  const cutoff =
    maxAgeDays !== undefined ? new Date(now.getTime() - maxAgeDays * 86_400_000).toISOString() : null;
  const files = (await listExportFiles(o.store.db, inst.id)).filter((f) => f.destination === dest.label);
  for (const [i, f] of files.entries()) {
    const tooMany = keepFiles !== undefined && i >= keepFiles;
    const tooOld = cutoff !== null && f.createdAt < cutoff;
    if (!tooMany && !tooOld) continue;
    try {
      await dest.remove(f.name);
      await markExportFileRemoved(o.store.db, inst.id, f.seq, now);
    } catch (e) {
      log.warn({ err: e, file: f.name }, 'retention could not remove an export file');
    }
  }
}
