/**
 * The import engine: streams a scanned file through the column plan, the row validator and the batch planner,
 * and commits each batch with the job's checkpoint in one transaction (invariant 4).
 *
 * Passes over the file (each a fresh stream, so memory stays flat):
 * - `guard` (only when a guard needs the whole file: `maxRejectedRatio`, or a full import): validate and plan
 *   against the store without writing, then check the guards — a tripped guard fails the job before anything
 *   is applied;
 * - `apply`: the real thing. After a crash it starts again from the top, *replaying* the rows before the
 *   checkpoint (no writes) only to rebuild the in-memory duplicate and "seen" sets, then applies the rest;
 * - `dry`: `--dry-run` and validate-only instances: the guard pass, reported as the result.
 * A full import then runs its missing rule over the list(s), also checkpointed.
 */
import type { Clock } from '../clock.js';
import { ImportFileError } from '../errors.js';
import { prepareImportBatch, saveImportCheckpoint } from '../store/import-batch.repository.js';
import type { Store } from '../store/index.js';
import {
  createBatchApplier,
  newPassState,
  planRejectProblem,
  type PassState,
  type ProtectKey,
} from './batch-apply.js';
import type { BatchPlan } from './batch-planner.js';
import { buildColumnPlan, type ColumnPlan } from './column-mapping.js';
import { openRecords, type FileScan } from './csv-source.js';
import type { AccountContext } from './import-context.js';
import { addCounters, emptyCounters, type ImportCounters, type RowRejection } from './import-counters.js';
import type { ImportInstance } from './import-instance.js';
import { applyMissingRule, checkFullGuard } from './import-missing.js';
import type { RejectedCsvWriter } from './result-files.js';
import { createRowValidator, type ImportRow, type RowProblem } from './row-validator.js';

/** Rejections kept in the checkpoint and the result file (the rejected CSV has them all). */
export const REJECTED_SAMPLE_SIZE = 100;

export interface ImportCheckpoint {
  v: 1;
  phase: 'apply' | 'missing';
  /** Data items (records and unreadable records, header excluded) already applied: resume at nextItem. */
  nextItem: number;
  rejectedBytes: number;
  sample: RowRejection[];
  listsSeen: number[];
  guardPassed: boolean;
  missing?: { listIndex: number; channelIndex: number; afterId: number };
}

export interface ImportProgress {
  phase: 'guard' | 'apply' | 'dry' | 'missing';
  rows: number;
  bytes: number;
  totalBytes: number;
  rowsPerSecond: number;
  etaSeconds: number | null;
}

export interface EngineInput {
  store: Store;
  instance: ImportInstance;
  account: AccountContext;
  file: string;
  scan: FileScan;
  jobId: string | null;
  dryRun: boolean;
  checkpoint: ImportCheckpoint | null;
  counters: ImportCounters | null;
  /** Opens the rejected-rows writer (null: do not write one); `resumeAt` is the checkpointed length. */
  openRejected: ((header: string[] | null, resumeAt: number) => RejectedCsvWriter) | null;
  batchSize: number;
  /** Folder for the duplicate counter's spill file (the job's work folder); default the system's temp folder. */
  workDir?: string;
  /** Memory cap of the duplicate counter, in hash slots (tests use a tiny one to exercise the spill). */
  keyMemorySlots?: number;
  clock: Clock;
  onProgress?: (p: ImportProgress) => void;
  onRejected?: (r: RowRejection) => void;
}

export interface EngineResult {
  counters: ImportCounters;
  sample: RowRejection[];
  /** Path of the rejected CSV when one was written and holds rows. */
  rejectedPath: string | null;
  header: string[] | null;
}

interface Pending {
  fields: string[];
  line: number;
  problem: RowProblem | { code: string; reason: string; malformed?: boolean };
}

function freshCheckpoint(): ImportCheckpoint {
  return {
    v: 1,
    phase: 'apply',
    nextItem: 1,
    rejectedBytes: 0,
    sample: [],
    listsSeen: [],
    guardPassed: false,
  };
}

export async function runImportEngine(input: EngineInput): Promise<EngineResult> {
  const { store, instance, account, file, scan, clock } = input;
  const db = store.db;
  const full = instance.mode === 'full';
  const started = Date.now();
  let plan: ColumnPlan | null = null;
  let header: string[] | null = null;
  let validate: ReturnType<typeof createRowValidator> | null = null;
  let writer: RejectedCsvWriter | null = null;
  const applier = createBatchApplier({
    dialect: store.dialect,
    instance,
    account,
    fieldIds: () => plan!.fields.map((f) => f.fieldId),
    now: () => clock.now().toISOString(),
  });
  const missingCtx = { store, instance, account, clock };
  // Every pass state's duplicate counter may own a spill file: all are closed (and removed) when the engine ends.
  const states: PassState[] = [];
  const passState = (): PassState => {
    const st = newPassState({ spillDir: input.workDir, memorySlots: input.keyMemorySlots });
    states.push(st);
    return st;
  };

  const progress = (phase: ImportProgress['phase'], rows: number, bytes: number) => {
    if (!input.onProgress) return;
    const secs = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = bytes / secs;
    input.onProgress({
      phase,
      rows,
      bytes,
      totalBytes: scan.size,
      rowsPerSecond: Math.round(rows / secs),
      etaSeconds: rate > 0 ? Math.max(0, Math.round((scan.size - bytes) / rate)) : null,
    });
  };

  const charge = (counters: ImportCounters, p: Pending['problem']) => {
    counters.rejected++;
    if ('malformed' in p && p.malformed) counters.malformed++;
    const rp = p as RowProblem;
    if (rp.channel) counters[rp.channel][rp.kind === 'syntax' ? 'invalidSyntax' : 'invalidMapping']++;
  };

  /** One pass over the file. Items before `cp.nextItem` are replayed (apply after a crash). */
  async function pass(
    kind: 'guard' | 'apply' | 'dry',
    counters: ImportCounters,
    state: PassState,
    cp: ImportCheckpoint,
  ): Promise<void> {
    const src = openRecords(file, scan, { separator: instance.file.separator, quote: instance.file.quote });
    let item = 0;
    let sawAny = false;
    let rows: ImportRow[] = [];
    let rejects: Pending[] = [];
    let protectKeys: ProtectKey[] = [];
    let replaying = cp.nextItem > 1;

    // Counted while reading; merged into `counters` when the batch is applied, so a checkpoint never counts rows
    // of a batch that is not committed yet.
    let delta = emptyCounters();
    // Double buffering: the next batch is read and validated while the previous one is written (on PostgreSQL
    // the database works on another core meanwhile). At most one batch is in flight.
    let inflight: Promise<void> | null = null;

    const flush = async () => {
      // Rows of one batch are all replayed or all applied (the switch happens right after a flush).
      const dups = state.keys.takeDuplicates();
      if (!replaying) delta.duplicated += dups;
      const batchRows = rows;
      const batchRejects = rejects;
      const batchProtect = protectKeys;
      const d = delta;
      const wasReplaying = replaying;
      rows = [];
      rejects = [];
      protectKeys = [];
      delta = emptyCounters();
      const lastItem = item;
      const prev = inflight;
      const job = (async () => {
        if (prev) await prev;
        if (wasReplaying) await applier.replay(db, batchRows, batchProtect, state);
        else {
          addCounters(counters, d);
          await applyBatch(kind, batchRows, batchRejects, batchProtect, counters, state, cp, lastItem);
        }
        progress(kind, counters.processed, src.bytesRead());
      })();
      job.catch(() => {}); // awaited below or by the next flush; this only marks it handled
      inflight = job;
      if (prev) await prev;
    };

    try {
      let skipHeader = instance.file.header;
      for await (const it of src.items) {
        sawAny = true;
        if (skipHeader) {
          skipHeader = false; // read and mapped by primeHeader()
          continue;
        }
        item++;
        if (replaying && item >= cp.nextItem) {
          await flush();
          replaying = false;
        }
        if (!replaying) delta.processed++;
        if (it.kind === 'error') {
          const p = { code: 'DS_IMPORT_CSV_MALFORMED', reason: it.reason, malformed: true };
          if (!replaying) {
            charge(delta, p);
            rejects.push({ fields: [], line: it.line, problem: p });
          }
        } else {
          const r = validate!(it.fields, it.line);
          if (r.ok) {
            const row = r.row;
            state.keys.addRow(row.email, row.mobile);
            state.listsSeen.add(row.listId);
            rows.push(row);
          } else {
            if (!replaying) {
              charge(delta, r.problem);
              rejects.push({ fields: it.fields, line: it.line, problem: r.problem });
            }
            if (full && (r.problem.email || r.problem.mobile))
              protectKeys.push({ email: r.problem.email ?? null, mobile: r.problem.mobile ?? null });
          }
        }
        if (rows.length + rejects.length >= input.batchSize) await flush();
      }
      if (!sawAny) throw new ImportFileError('DS_IMPORT_FILE_EMPTY', 'the file is empty', {});
      await flush();
      await inflight;
    } finally {
      if (inflight) await (inflight as Promise<void>).catch(() => {});
      src.destroy();
    }
  }

  /** Rejections found while planning (key conflicts) join the batch's rejects, counted. */
  function addPlanRejects(bp: BatchPlan, rejects: Pending[], counters: ImportCounters) {
    for (const rj of bp.rejects) {
      const problem = planRejectProblem(rj);
      charge(counters, problem);
      rejects.push({ fields: rj.row.raw, line: rj.row.line, problem });
    }
  }

  async function applyBatch(
    kind: 'guard' | 'apply' | 'dry',
    rows: ImportRow[],
    rejects: Pending[],
    protect: ProtectKey[],
    counters: ImportCounters,
    state: PassState,
    cp: ImportCheckpoint,
    lastItem: number,
  ) {
    const report = () => {
      rejects.sort((a, b) => a.line - b.line);
      for (const p of rejects) {
        const r = { line: p.line, code: p.problem.code, reason: p.problem.reason };
        if (cp.sample.length < REJECTED_SAMPLE_SIZE) cp.sample.push(r);
        writer?.add(p.fields, p.line, r.code, r.reason, plan?.columnCount ?? p.fields.length);
        input.onRejected?.(r);
      }
    };
    if (rows.length === 0) await applier.protectOnly(db, protect, state);
    if (kind !== 'apply') {
      if (rows.length > 0) {
        const bp = await applier.plan(db, rows, protect, counters, state);
        addPlanRejects(bp, rejects, counters);
        applier.markSeen(state, bp.seen);
      }
      report();
      return;
    }
    const now = clock.now().toISOString();
    let seen: BatchPlan['seen'] = [];
    await db.transaction().execute(async (trx) => {
      if (rows.length > 0) {
        await prepareImportBatch(trx, store.dialect);
        const bp = await applier.plan(trx, rows, protect, counters, state);
        await applier.write(trx, bp, now);
        addPlanRejects(bp, rejects, counters);
        seen = bp.seen;
      }
      report();
      if (writer && rejects.length > 0) writer.sync();
      cp.nextItem = lastItem + 1;
      cp.rejectedBytes = writer?.length ?? 0;
      cp.listsSeen = [...state.listsSeen];
      await saveImportCheckpoint(trx, input.jobId!, cp, counters);
    });
    applier.markSeen(state, seen);
  }

  function checkRejectGuard(counters: ImportCounters) {
    const max = instance.guards.maxRejectedRatio;
    if (max === undefined || counters.processed === 0) return;
    if (counters.rejected / counters.processed > max)
      throw new ImportFileError(
        'DS_IMPORT_REJECT_RATIO',
        `${counters.rejected} of ${counters.processed} rows were rejected (more than ${Math.round(max * 100)}%); nothing was applied`,
        {
          details: {
            rejected: counters.rejected,
            processed: counters.processed,
            maxRejectedRatio: max,
            counters,
          },
        },
      );
  }

  const openWriter = (resumeAt: number) => {
    writer?.close();
    writer = input.openRejected ? input.openRejected(header, resumeAt) : null;
  };
  const result = (counters: ImportCounters, cp: ImportCheckpoint): EngineResult => ({
    counters,
    sample: cp.sample,
    rejectedPath: writer && counters.rejected > 0 ? (writer as RejectedCsvWriter).path : null,
    header,
  });
  const missingRule = full && instance.fullMissingRule !== 'none';

  try {
    // Dry runs and validate-only: one read-only pass, the guards reported as the outcome.
    if (input.dryRun) {
      const counters = emptyCounters();
      const cp = freshCheckpoint();
      const state = passState();
      await primeHeader();
      openWriter(0);
      await pass('dry', counters, state, cp);
      checkRejectGuard(counters);
      if (missingRule) await checkFullGuard(missingCtx, state, counters);
      return result(counters, cp);
    }

    let cp = input.checkpoint ?? freshCheckpoint();
    let counters = input.counters ?? emptyCounters();
    await primeHeader();
    const needGuard = instance.guards.maxRejectedRatio !== undefined || missingRule;
    if (needGuard && !cp.guardPassed) {
      const gc = emptyCounters();
      const gs = passState();
      openWriter(0);
      await pass('guard', gc, gs, freshCheckpoint());
      // Neither its spill file nor (once out of scope) its 36 MB memory table is needed by the apply pass.
      gs.keys.close();
      states.splice(states.indexOf(gs), 1);
      checkRejectGuard(gc);
      if (missingRule) await checkFullGuard(missingCtx, gs, gc);
      cp = freshCheckpoint();
      cp.guardPassed = true;
      counters = emptyCounters();
    }
    const state = passState();
    openWriter(cp.rejectedBytes);
    if (cp.phase === 'apply') {
      await pass('apply', counters, state, cp);
      cp.phase = 'missing';
    } else {
      // Resuming the missing rule: rebuild the "seen" sets by replaying the whole file.
      await pass('apply', emptyCounters(), state, { ...cp, nextItem: Number.MAX_SAFE_INTEGER });
    }
    if (missingRule)
      await applyMissingRule(missingCtx, state, cp, counters, input.jobId!, () =>
        progress('missing', counters.processed, scan.size),
      );
    return result(counters, cp);
  } finally {
    (writer as RejectedCsvWriter | null)?.close();
    for (const st of states) st.keys.close();
  }

  /** Read the header once up front so the rejected writer can start with it. */
  async function primeHeader() {
    if (plan !== null) return;
    if (!instance.file.header) {
      plan = buildColumnPlan(instance, null, account.definedFields);
      validate = createRowValidator({ instance, plan, ...account });
      return;
    }
    const src = openRecords(file, scan, { separator: instance.file.separator, quote: instance.file.quote });
    try {
      for await (const it of src.items) {
        if (it.kind === 'error')
          throw new ImportFileError(
            'DS_IMPORT_HEADER_INVALID',
            `the header row cannot be read: ${it.reason}`,
            {},
          );
        header = it.fields;
        break;
      }
    } finally {
      src.destroy();
    }
    if (header === null) throw new ImportFileError('DS_IMPORT_FILE_EMPTY', 'the file is empty', {});
    plan = buildColumnPlan(instance, header, account.definedFields);
    validate = createRowValidator({ instance, plan, ...account });
  }
}
