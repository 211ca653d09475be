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
import { DatasyncError, ImportFileError } from '../errors.js';
import {
  addImportedGroupMembers,
  countListSubscribers,
  findGroupMemberships,
  findRecipientsByKeys,
  findSubscriptionStates,
  insertImportEvents,
  insertImportedRecipients,
  pageGroupMembers,
  pageListSubscribers,
  removeImportedGroupMembers,
  saveImportCheckpoint,
  unsubscribeMissing,
  updateImportedRecipients,
  upsertImportedSubscriptions,
} from '../store/import-batch.repository.js';
import type { Channel, Db, Store } from '../store/index.js';
import { IMPORT_OPTOUT_TYPE, planBatch, type RecState } from './batch-planner.js';
import { buildColumnPlan, type ColumnPlan } from './column-mapping.js';
import { openRecords, type FileScan } from './csv-source.js';
import type { AccountContext } from './import-context.js';
import { addCounters, emptyCounters, type ImportCounters, type RowRejection } from './import-counters.js';
import type { ImportInstance } from './import-instance.js';
import { IdBitset, KeySet } from './key-set.js';
import type { RejectedCsvWriter } from './result-files.js';
import { createRowValidator, type ImportRow, type RowProblem } from './row-validator.js';

/** Rejections kept in the checkpoint and the result file (the rejected CSV has them all). */
export const REJECTED_SAMPLE_SIZE = 100;
const MISSING_PAGE = 2000;

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

interface PassState {
  keys: KeySet;
  seen: Map<number, IdBitset>;
  protect: IdBitset;
  listsSeen: Set<number>;
}

function newPassState(): PassState {
  return { keys: new KeySet(), seen: new Map(), protect: new IdBitset(), listsSeen: new Set() };
}

export async function runImportEngine(input: EngineInput): Promise<EngineResult> {
  const { store, instance, account, file, scan, clock } = input;
  const db = store.db;
  const dialect = store.dialect;
  const full = instance.mode === 'full';
  const started = Date.now();
  let plan: ColumnPlan | null = null;
  let header: string[] | null = null;
  let validate: ReturnType<typeof createRowValidator> | null = null;
  const fieldIds = (): number[] => plan!.fields.map((f) => f.fieldId);
  let writer: RejectedCsvWriter | null = null;

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

  /** One pass over the file. `startItem`: items before it are replayed (apply after a crash). */
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
    let protectKeys: { email: string | null; mobile: string | null }[] = [];
    let replaying = cp.nextItem > 1;

    // Counted while reading; merged into `counters` when the batch is applied, so a checkpoint never counts rows
    // of a batch that is not committed yet.
    let delta = emptyCounters();
    // Double buffering: the next batch is read and validated while the previous one is written (on PostgreSQL
    // the database works on another core meanwhile). At most one batch is in flight.
    let inflight: Promise<void> | null = null;

    const flush = async () => {
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
        if (wasReplaying) await replayBatch(batchRows, batchProtect, state);
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
            const dupE = row.email !== null && state.keys.addAndCheck(`e:${row.email}`);
            const dupM = row.mobile !== null && state.keys.addAndCheck(`m:${row.mobile}`);
            if ((dupE || dupM) && !replaying) delta.duplicated++;
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

  async function lookup(
    dbx: Db,
    rows: ImportRow[],
    protect: { email: string | null; mobile: string | null }[],
  ) {
    const emails = new Set<string>();
    const mobiles = new Set<string>();
    for (const r of [...rows, ...protect]) {
      if (r.email !== null) emails.add(r.email);
      if (r.mobile !== null) mobiles.add(r.mobile);
    }
    return findRecipientsByKeys(dbx, dialect, account.accountId, [...emails], [...mobiles], fieldIds());
  }

  function markProtected(
    existing: Awaited<ReturnType<typeof lookup>>,
    protect: { email: string | null; mobile: string | null }[],
    state: PassState,
  ) {
    if (protect.length === 0) return;
    const byE = new Map(existing.filter((e) => e.email !== null).map((e) => [e.email!, e.id]));
    const byM = new Map(existing.filter((e) => e.mobile !== null).map((e) => [e.mobile!, e.id]));
    for (const p of protect) {
      const id =
        (p.email !== null ? byE.get(p.email) : undefined) ??
        (p.mobile !== null ? byM.get(p.mobile) : undefined);
      if (id !== undefined) state.protect.set(id);
    }
  }

  function markSeen(state: PassState, seen: { rec: RecState; listId: number }[]) {
    if (!full) return;
    for (const s of seen) {
      if (s.rec.id === null) continue;
      let b = state.seen.get(s.listId);
      if (!b) state.seen.set(s.listId, (b = new IdBitset()));
      b.set(s.rec.id);
    }
  }

  async function replayBatch(
    rows: ImportRow[],
    protect: { email: string | null; mobile: string | null }[],
    state: PassState,
  ) {
    if (!full) return;
    const existing = await lookup(db, rows, protect);
    markProtected(existing, protect, state);
    const byE = new Map(existing.filter((e) => e.email !== null).map((e) => [e.email!, e.id]));
    const byM = new Map(existing.filter((e) => e.mobile !== null).map((e) => [e.mobile!, e.id]));
    for (const r of rows) {
      const id =
        (r.email !== null ? byE.get(r.email) : undefined) ??
        (r.mobile !== null ? byM.get(r.mobile) : undefined);
      if (id === undefined) continue;
      let b = state.seen.get(r.listId);
      if (!b) state.seen.set(r.listId, (b = new IdBitset()));
      b.set(id);
    }
  }

  async function planWith(
    dbx: Db,
    rows: ImportRow[],
    protect: { email: string | null; mobile: string | null }[],
    counters: ImportCounters,
    state: PassState,
  ) {
    const existing = await lookup(dbx, rows, protect);
    markProtected(existing, protect, state);
    const ids = existing.map((e) => e.id);
    const listIds = [...new Set(rows.map((r) => r.listId))];
    const groupIds = new Set<number>();
    for (const r of rows) if (r.groupId !== null) groupIds.add(r.groupId);
    if (instance.destination.replaceGroups)
      for (const l of listIds) for (const g of account.groupsOfList.get(l) ?? []) groupIds.add(g);
    const [subscriptions, memberships] = [
      await findSubscriptionStates(dbx, dialect, ids, listIds),
      await findGroupMemberships(dbx, dialect, ids, [...groupIds]),
    ];
    return planBatch(
      {
        instance,
        rows,
        existing,
        subscriptions,
        memberships,
        groupsOfList: account.groupsOfList,
        now: clock.now().toISOString(),
      },
      counters,
    );
  }

  async function applyBatch(
    kind: 'guard' | 'apply' | 'dry',
    rows: ImportRow[],
    rejects: Pending[],
    protect: { email: string | null; mobile: string | null }[],
    counters: ImportCounters,
    state: PassState,
    cp: ImportCheckpoint,
    lastItem: number,
  ) {
    const report = (p: Pending) => {
      const r = { line: p.line, code: p.problem.code, reason: p.problem.reason };
      if (cp.sample.length < REJECTED_SAMPLE_SIZE) cp.sample.push(r);
      writer?.add(p.fields, p.line, r.code, r.reason, plan?.columnCount ?? p.fields.length);
      input.onRejected?.(r);
    };
    // Rejected rows of a full import protect their recipients even in a batch without valid rows.
    if (rows.length === 0 && protect.length > 0) markProtected(await lookup(db, [], protect), protect, state);
    if (kind !== 'apply') {
      const bp = rows.length > 0 ? await planWith(db, rows, protect, counters, state) : null;
      if (bp) {
        for (const rj of bp.rejects) {
          const p = {
            fields: rj.row.raw,
            line: rj.row.line,
            problem: {
              code: rj.code,
              reason: rj.reason,
              channel: rj.row.email ? 'email' : 'sms',
              kind: 'mapping',
            } as RowProblem,
          };
          charge(counters, p.problem);
          rejects.push(p);
        }
        markSeen(state, bp.seen);
      }
      rejects.sort((a, b) => a.line - b.line);
      for (const p of rejects) report(p);
      return;
    }
    const now = clock.now().toISOString();
    let seen: { rec: RecState; listId: number }[] = [];
    await db.transaction().execute(async (trx) => {
      if (rows.length > 0) {
        const bp = await planWith(trx, rows, protect, counters, state);
        const fids = fieldIds();
        if (bp.creates.length > 0) {
          const ids = await insertImportedRecipients(trx, dialect, account.accountId, fids, bp.creates, now);
          bp.creates.forEach((r, i) => (r.id = ids[i] ?? null));
          if (bp.creates.some((r) => r.id === null))
            throw new DatasyncError('DS_INTERNAL', 'import batch: a new recipient got no id');
        }
        if (bp.updates.length > 0)
          await updateImportedRecipients(
            trx,
            dialect,
            account.accountId,
            fids,
            bp.updates.map((r) => ({ id: r.id!, email: r.email, mobile: r.mobile, values: r.values })),
            now,
          );
        if (bp.subscriptions.length > 0)
          await upsertImportedSubscriptions(
            trx,
            dialect,
            account.accountId,
            bp.subscriptions.map((s) => ({
              recipientId: s.rec.id!,
              listId: s.listId,
              channel: s.channel,
              ...s.state,
            })),
            now,
          );
        if (bp.groupAdds.length > 0)
          await addImportedGroupMembers(
            trx,
            dialect,
            bp.groupAdds.map((g) => ({ groupId: g.groupId, recipientId: g.rec.id! })),
            now,
          );
        const byGroup = new Map<number, number[]>();
        for (const g of bp.groupRemoves)
          byGroup.set(g.groupId, [...(byGroup.get(g.groupId) ?? []), g.rec.id!]);
        for (const [g, ids] of byGroup) await removeImportedGroupMembers(trx, dialect, g, ids);
        if (bp.events.length > 0)
          await insertImportEvents(
            trx,
            dialect,
            account.accountId,
            bp.events.map((e) => ({
              recipientId: e.rec.id!,
              listId: e.listId,
              channel: e.channel,
              code: IMPORT_OPTOUT_TYPE,
            })),
            now,
          );
        for (const rj of bp.rejects) {
          const problem = {
            code: rj.code,
            reason: rj.reason,
            channel: rj.row.email ? 'email' : 'sms',
            kind: 'mapping',
          } as RowProblem;
          charge(counters, problem);
          rejects.push({ fields: rj.row.raw, line: rj.row.line, problem });
        }
        seen = bp.seen;
      }
      rejects.sort((a, b) => a.line - b.line);
      for (const p of rejects) report(p);
      if (writer && rejects.length > 0) writer.sync();
      cp.nextItem = lastItem + 1;
      cp.rejectedBytes = writer?.length ?? 0;
      cp.listsSeen = [...state.listsSeen];
      await saveImportCheckpoint(trx, input.jobId!, cp, counters);
    });
    markSeen(state, seen);
  }

  /** Lists a full import owns: the fixed list, or those its rows named. */
  const scopeLists = (state: PassState): number[] =>
    instance.destination.listId !== undefined
      ? [instance.destination.listId]
      : [...state.listsSeen].sort((a, b) => a - b);

  /** Walk the missing recipients of a full import; `act` receives each page's missing ids. */
  async function walkMissing(
    state: PassState,
    from: ImportCheckpoint['missing'],
    act: (
      target: { listId: number; channel: Channel | null; groupId: number | null },
      ids: number[],
      afterId: number,
      pos: { listIndex: number; channelIndex: number },
    ) => Promise<void>,
  ) {
    const lists = scopeLists(state);
    const byGroup = instance.fullMissingRule === 'removeFromGroup';
    const channels: (Channel | null)[] = byGroup ? [null] : instance.channels;
    for (let li = from?.listIndex ?? 0; li < lists.length; li++) {
      const listId = lists[li]!;
      if (byGroup && account.fixedGroup?.listId !== listId) continue;
      const seen = state.seen.get(listId) ?? new IdBitset();
      for (let ci = li === from?.listIndex ? from.channelIndex : 0; ci < channels.length; ci++) {
        const channel = channels[ci]!;
        let afterId = li === from?.listIndex && ci === from.channelIndex ? from.afterId : 0;
        for (;;) {
          const ids = byGroup
            ? await pageGroupMembers(db, account.fixedGroup!.id, afterId, MISSING_PAGE)
            : (
                await pageListSubscribers(
                  db,
                  account.accountId,
                  listId,
                  [channel!],
                  ['subscribed', 'pending'],
                  afterId,
                  MISSING_PAGE,
                )
              ).map((r) => r.recipientId);
          if (ids.length === 0) break;
          afterId = ids[ids.length - 1]!;
          const missing = ids.filter((id) => !seen.has(id) && !state.protect.has(id));
          await act({ listId, channel, groupId: byGroup ? account.fixedGroup!.id : null }, missing, afterId, {
            listIndex: li,
            channelIndex: ci,
          });
        }
      }
    }
  }

  /** Full-import guard: would the missing rule touch more than the allowed share of a list? */
  async function checkFullGuard(state: PassState, counters: ImportCounters) {
    const max = instance.guards.maxFullUnsubscribeRatio;
    const missingByList = new Map<number, number>();
    await walkMissing(state, undefined, async (t, ids) => {
      missingByList.set(t.listId, (missingByList.get(t.listId) ?? 0) + ids.length);
    });
    let total = 0;
    for (const [listId, missing] of missingByList) {
      total += missing;
      const population =
        instance.fullMissingRule === 'removeFromGroup'
          ? (await pageGroupMembers(db, account.fixedGroup!.id, 0, Number.MAX_SAFE_INTEGER)).length
          : await countListSubscribers(db, account.accountId, listId, instance.channels, [
              'subscribed',
              'pending',
            ]);
      if (population > 0 && missing / population > max)
        throw new ImportFileError(
          'DS_IMPORT_FULL_GUARD',
          `the full import would remove ${missing} of ${population} recipients of list ${listId} (more than ${Math.round(max * 100)}%); nothing was applied`,
          { details: { listId, missing, population, maxFullUnsubscribeRatio: max, counters } },
        );
    }
    if (instance.fullMissingRule !== 'none') counters.missingHandled = total;
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

  const freshCheckpoint = (): ImportCheckpoint => ({
    v: 1,
    phase: 'apply',
    nextItem: 1,
    rejectedBytes: 0,
    sample: [],
    listsSeen: [],
    guardPassed: false,
  });
  const openWriter = (resumeAt: number) => {
    writer?.close();
    writer = input.openRejected ? input.openRejected(header, resumeAt) : null;
  };

  try {
    // Dry runs and validate-only: one read-only pass, the guards reported as the outcome.
    if (input.dryRun) {
      const counters = emptyCounters();
      const cp = freshCheckpoint();
      const state = newPassState();
      await primeHeader();
      openWriter(0);
      await pass('dry', counters, state, cp);
      checkRejectGuard(counters);
      if (full && instance.fullMissingRule !== 'none') await checkFullGuard(state, counters);
      return {
        counters,
        sample: cp.sample,
        rejectedPath: writer && counters.rejected > 0 ? (writer as RejectedCsvWriter).path : null,
        header,
      };
    }

    let cp = input.checkpoint ?? freshCheckpoint();
    let counters = input.counters ?? emptyCounters();
    await primeHeader();
    const needGuard =
      instance.guards.maxRejectedRatio !== undefined || (full && instance.fullMissingRule !== 'none');
    if (needGuard && !cp.guardPassed) {
      const gc = emptyCounters();
      const gcp = freshCheckpoint();
      const gs = newPassState();
      openWriter(0);
      await pass('guard', gc, gs, gcp);
      checkRejectGuard(gc);
      if (full && instance.fullMissingRule !== 'none') await checkFullGuard(gs, gc);
      cp = freshCheckpoint();
      cp.guardPassed = true;
      counters = emptyCounters();
    }
    const state = newPassState();
    openWriter(cp.rejectedBytes);
    if (cp.phase === 'apply') {
      await pass('apply', counters, state, cp);
      cp.phase = 'missing';
    } else {
      // Resuming the missing rule: rebuild the "seen" sets by replaying the whole file.
      await pass('apply', emptyCounters(), state, { ...cp, nextItem: Number.MAX_SAFE_INTEGER });
    }
    if (full && instance.fullMissingRule !== 'none') {
      await walkMissing(state, cp.missing, async (t, ids, afterId, pos) => {
        const now = clock.now().toISOString();
        await db.transaction().execute(async (trx) => {
          if (ids.length > 0) {
            if (t.groupId !== null) {
              await removeImportedGroupMembers(trx, dialect, t.groupId, ids);
              counters.groupsRemoved += ids.length;
            } else {
              await unsubscribeMissing(
                trx,
                account.accountId,
                t.listId,
                t.channel!,
                ids,
                IMPORT_OPTOUT_TYPE,
                now,
              );
              await insertImportEvents(
                trx,
                dialect,
                account.accountId,
                ids.map((id) => ({
                  recipientId: id,
                  listId: t.listId,
                  channel: t.channel!,
                  code: IMPORT_OPTOUT_TYPE,
                })),
                now,
              );
              counters.unsubscribed += ids.length;
            }
            counters.missingHandled += ids.length;
          }
          cp.missing = { ...pos, afterId };
          await saveImportCheckpoint(trx, input.jobId!, cp, counters);
        });
        progress('missing', counters.processed, scan.size);
      });
    }
    return {
      counters,
      sample: cp.sample,
      rejectedPath: writer && counters.rejected > 0 ? (writer as RejectedCsvWriter).path : null,
      header,
    };
  } finally {
    (writer as RejectedCsvWriter | null)?.close();
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
