/**
 * One batch against the store: look up the batch's keys, plan it in memory (batch-planner.ts), and write the
 * plan. The engine calls `write` inside the transaction that also saves the checkpoint (invariant 4); `plan`
 * alone serves the read-only guard and dry-run passes, `replay` rebuilds the full-import "seen" sets of rows
 * applied before a crash.
 */
import { DatasyncError } from '../errors.js';
import {
  addImportedGroupMembers,
  findGroupMemberships,
  findRecipientsByKeys,
  findSubscriptionStates,
  insertImportEvents,
  insertImportedRecipients,
  removeImportedGroupMembers,
  updateImportedRecipients,
  upsertImportedSubscriptions,
  type KeyedRecipient,
} from '../store/import-batch.repository.js';
import type { Db, StoreDialect } from '../store/index.js';
import { IMPORT_OPTOUT_TYPE, planBatch, type BatchPlan } from './batch-planner.js';
import type { AccountContext } from './import-context.js';
import type { ImportCounters } from './import-counters.js';
import type { ImportInstance } from './import-instance.js';
import { IdBitset, KeySet, type KeySetOptions } from './key-set.js';
import type { ImportRow, RowProblem } from './row-validator.js';

/** Keys of a rejected row of a full import: its recipient must not be treated as missing. */
export interface ProtectKey {
  email: string | null;
  mobile: string | null;
}

/** What one pass over the file accumulates besides counters. */
export interface PassState {
  /** Keys seen earlier in the file (duplicate counter). */
  keys: KeySet;
  /** Full import: list id → recipients present in the file. */
  seen: Map<number, IdBitset>;
  /** Full import: recipients of rejected rows. */
  protect: IdBitset;
  listsSeen: Set<number>;
}

export function newPassState(keys: KeySetOptions = {}): PassState {
  return { keys: new KeySet(keys), seen: new Map(), protect: new IdBitset(), listsSeen: new Set() };
}

/** A row the planner rejected (key conflict), as a problem charged to its channel. */
export function planRejectProblem(rj: BatchPlan['rejects'][number]): RowProblem {
  return { code: rj.code, reason: rj.reason, channel: rj.row.email ? 'email' : 'sms', kind: 'mapping' };
}

export interface BatchApplierContext {
  dialect: StoreDialect;
  instance: ImportInstance;
  account: AccountContext;
  fieldIds: () => number[];
  now: () => string;
}

export function createBatchApplier(ctx: BatchApplierContext) {
  const { dialect, instance, account } = ctx;
  const full = instance.mode === 'full';

  async function lookup(dbx: Db, rows: ImportRow[], protect: ProtectKey[]): Promise<KeyedRecipient[]> {
    const emails = new Set<string>();
    const mobiles = new Set<string>();
    for (const r of rows) {
      if (r.email !== null) emails.add(r.email);
      if (r.mobile !== null) mobiles.add(r.mobile);
    }
    for (const r of protect) {
      if (r.email !== null) emails.add(r.email);
      if (r.mobile !== null) mobiles.add(r.mobile);
    }
    return findRecipientsByKeys(dbx, dialect, account.accountId, [...emails], [...mobiles], ctx.fieldIds());
  }

  function idOf(existing: KeyedRecipient[]) {
    const byE = new Map<string, number>();
    const byM = new Map<string, number>();
    for (const e of existing) {
      if (e.email !== null) byE.set(e.email, e.id);
      if (e.mobile !== null) byM.set(e.mobile, e.id);
    }
    return (k: ProtectKey): number | undefined =>
      (k.email !== null ? byE.get(k.email) : undefined) ??
      (k.mobile !== null ? byM.get(k.mobile) : undefined);
  }

  function markProtected(existing: KeyedRecipient[], protect: ProtectKey[], state: PassState): void {
    if (protect.length === 0) return;
    const find = idOf(existing);
    for (const p of protect) {
      const id = find(p);
      if (id !== undefined) state.protect.set(id);
    }
  }

  function markSeenId(state: PassState, listId: number, id: number): void {
    let b = state.seen.get(listId);
    if (!b) state.seen.set(listId, (b = new IdBitset()));
    b.set(id);
  }

  /** After the batch's writes: recipients present in the file, for the missing rule. */
  function markSeen(state: PassState, seen: BatchPlan['seen']): void {
    if (!full) return;
    for (const s of seen) if (s.rec.id !== null) markSeenId(state, s.listId, s.rec.id);
  }

  /** Rows applied before a crash: only the full import's "seen" and "protected" sets need rebuilding. */
  async function replay(dbx: Db, rows: ImportRow[], protect: ProtectKey[], state: PassState): Promise<void> {
    if (!full) return;
    const existing = await lookup(dbx, rows, protect);
    markProtected(existing, protect, state);
    const find = idOf(existing);
    for (const r of rows) {
      const id = find(r);
      if (id !== undefined) markSeenId(state, r.listId, id);
    }
  }

  /** Rejected rows of a full import protect their recipients even in a batch without valid rows. */
  async function protectOnly(dbx: Db, protect: ProtectKey[], state: PassState): Promise<void> {
    if (protect.length > 0) markProtected(await lookup(dbx, [], protect), protect, state);
  }

  /** Read what the store holds for the batch and decide it in memory; counts into `counters`. */
  async function plan(
    dbx: Db,
    rows: ImportRow[],
    protect: ProtectKey[],
    counters: ImportCounters,
    state: PassState,
  ): Promise<BatchPlan> {
    const existing = await lookup(dbx, rows, protect);
    markProtected(existing, protect, state);
    const ids = existing.map((e) => e.id);
    const lists = new Set<number>();
    const groupIds = new Set<number>();
    for (const r of rows) {
      lists.add(r.listId);
      if (r.groupId !== null) groupIds.add(r.groupId);
    }
    const listIds = [...lists];
    if (instance.destination.replaceGroups)
      for (const l of listIds) for (const g of account.groupsOfList.get(l) ?? []) groupIds.add(g);
    const subscriptions = await findSubscriptionStates(dbx, dialect, ids, listIds);
    const memberships = await findGroupMemberships(dbx, dialect, ids, [...groupIds]);
    return planBatch(
      {
        instance,
        rows,
        existing,
        subscriptions,
        memberships,
        groupsOfList: account.groupsOfList,
        now: ctx.now(),
      },
      counters,
    );
  }

  /** Write a plan (inside the caller's transaction). */
  async function write(trx: Db, bp: BatchPlan, now: string): Promise<void> {
    const accountId = account.accountId;
    const fids = ctx.fieldIds();
    if (bp.creates.length > 0) {
      const ids = await insertImportedRecipients(trx, dialect, accountId, fids, bp.creates, now);
      bp.creates.forEach((r, i) => (r.id = ids[i] ?? null));
      if (bp.creates.some((r) => r.id === null))
        throw new DatasyncError('DS_INTERNAL', 'import batch: a new recipient got no id');
    }
    if (bp.updates.length > 0)
      await updateImportedRecipients(
        trx,
        dialect,
        accountId,
        fids,
        bp.updates.map((r) => ({ id: r.id!, email: r.email, mobile: r.mobile, values: r.values })),
        now,
      );
    if (bp.subscriptions.length > 0)
      await upsertImportedSubscriptions(
        trx,
        dialect,
        accountId,
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
    for (const g of bp.groupRemoves) {
      let ids = byGroup.get(g.groupId);
      if (!ids) byGroup.set(g.groupId, (ids = []));
      ids.push(g.rec.id!);
    }
    for (const [g, ids] of byGroup) await removeImportedGroupMembers(trx, dialect, g, ids);
    if (bp.events.length > 0)
      await insertImportEvents(
        trx,
        dialect,
        accountId,
        bp.events.map((e) => ({
          recipientId: e.rec.id!,
          listId: e.listId,
          channel: e.channel,
          code: IMPORT_OPTOUT_TYPE,
        })),
        now,
      );
  }

  return { plan, write, replay, protectOnly, markSeen };
}

export type BatchApplier = ReturnType<typeof createBatchApplier>;
