/**
 * The in-memory half of a batch: given the batch's valid rows and what the store holds for their keys, decide
 * exactly what sequential, row-by-row application would do (reference §2.4 subscription rules, §2.5 channels
 * and empty cells, §2.6 matching, §2.3 groups), and express it as set-based writes. Rows are applied in file
 * order, so a key repeated inside a batch sees the state left by the earlier row: the last row wins.
 */
import type { KeyedRecipient, SubscriptionState } from '../store/import-batch.repository.js';
import { isLockedOptoutType } from '../store/index.js';
import type { Channel, SubscriptionStatus } from '../store/index.js';
import type { ImportCounters } from './import-counters.js';
import type { ImportInstance } from './import-instance.js';
import type { ImportRow } from './row-validator.js';

/** Unsubscribe type of reference §3.4.1 for "imported as unsubscribed". */
export const IMPORT_OPTOUT_TYPE = '4';

export interface RecState {
  /** Store id; null until a new recipient is inserted. */
  id: number | null;
  email: string | null;
  mobile: string | null;
  values: (string | null)[];
  isNew: boolean;
  dirty: boolean;
}

export interface SubState {
  status: SubscriptionStatus;
  subscribedAt: string | null;
  unsubscribedAt: string | null;
  optoutType: string | null;
}

export interface BatchPlan {
  creates: RecState[];
  updates: RecState[];
  subscriptions: { rec: RecState; listId: number; channel: Channel; state: SubState }[];
  groupAdds: { rec: RecState; groupId: number }[];
  groupRemoves: { rec: RecState; groupId: number }[];
  events: { rec: RecState; listId: number; channel: Channel }[];
  /** Rows rejected while planning (key conflicts). */
  rejects: { row: ImportRow; code: 'DS_RECIPIENT_KEY_CONFLICT'; reason: string }[];
  /** (recipient, list) pairs present in the file, for the full-import missing rule. */
  seen: { rec: RecState; listId: number }[];
}

export interface PlanInput {
  instance: ImportInstance;
  rows: ImportRow[];
  existing: KeyedRecipient[];
  subscriptions: SubscriptionState[];
  memberships: { groupId: number; recipientId: number }[];
  /** listId → group ids of that list (for replaceGroups). */
  groupsOfList: ReadonlyMap<number, number[]>;
  now: string;
}

function canOptIn(s: SubState, forceOptIn: boolean): boolean {
  return forceOptIn && !isLockedOptoutType(s.optoutType);
}

function subscribedState(now: string): SubState {
  return { status: 'subscribed', subscribedAt: now, unsubscribedAt: null, optoutType: null };
}

function pendingState(cur: SubState | undefined): SubState {
  return {
    status: 'pending',
    subscribedAt: cur?.subscribedAt ?? null,
    unsubscribedAt: null,
    optoutType: null,
  };
}

/** The subscription rule of reference §2.4 for one (recipient, list, channel); null = no change. */
function decide(
  cur: SubState | undefined,
  want: SubscriptionStatus | null,
  forceOptIn: boolean,
  now: string,
): SubState | null {
  if (want === null) return cur ? null : subscribedState(now); // default rule: new → subscribed, existing unchanged
  if (want === 'subscribed') {
    if (!cur || cur.status === 'pending') return subscribedState(now);
    if (cur.status === 'unsubscribed' && canOptIn(cur, forceOptIn)) return subscribedState(now);
    return null;
  }
  if (want === 'unsubscribed') {
    if (cur?.status === 'unsubscribed') return null;
    return {
      status: 'unsubscribed',
      subscribedAt: cur?.subscribedAt ?? null,
      unsubscribedAt: now,
      optoutType: IMPORT_OPTOUT_TYPE,
    };
  }
  // pending (double opt-in): only recipients without a status yet, or unsubscribed ones with forceOptIn.
  if (!cur) return pendingState(cur);
  if (cur.status === 'unsubscribed' && canOptIn(cur, forceOptIn)) return pendingState(cur);
  return null;
}

/** Plan one batch; updates `counters` for the rows it decides. */
export function planBatch(input: PlanInput, counters: ImportCounters): BatchPlan {
  const { instance, now } = input;
  const byEmail = new Map<string, RecState>();
  const byMobile = new Map<string, RecState>();
  const byId = new Map<number, RecState>();
  for (const e of input.existing) {
    const rec: RecState = {
      id: e.id,
      email: e.email,
      mobile: e.mobile,
      values: e.values.slice(),
      isNew: false,
      dirty: false,
    };
    byId.set(e.id, rec);
    if (e.email !== null) byEmail.set(e.email, rec);
    if (e.mobile !== null) byMobile.set(e.mobile, rec);
  }
  const subs = new Map<RecState, Map<string, SubState>>();
  for (const s of input.subscriptions) {
    const rec = byId.get(s.recipientId);
    if (!rec) continue;
    let m = subs.get(rec);
    if (!m) subs.set(rec, (m = new Map()));
    m.set(`${s.listId}:${s.channel}`, {
      status: s.status,
      subscribedAt: s.subscribedAt,
      unsubscribedAt: s.unsubscribedAt,
      optoutType: s.optoutType,
    });
  }
  const members = new Map<RecState, Set<number>>();
  for (const mb of input.memberships) {
    const rec = byId.get(mb.recipientId);
    if (!rec) continue;
    let s = members.get(rec);
    if (!s) members.set(rec, (s = new Set()));
    s.add(mb.groupId);
  }

  const plan: BatchPlan = {
    creates: [],
    updates: [],
    subscriptions: [],
    groupAdds: [],
    groupRemoves: [],
    events: [],
    rejects: [],
    seen: [],
  };
  const subWrites = new Map<string, BatchPlan['subscriptions'][number]>();
  const addKeys = new Set<string>();
  const removeKeys = new Map<string, BatchPlan['groupRemoves'][number]>();
  const recKey = new Map<RecState, number>();
  let nextKey = 0;
  const keyOf = (rec: RecState) => {
    let k = recKey.get(rec);
    if (k === undefined) recKey.set(rec, (k = nextKey++));
    return k;
  };
  const overwrite = instance.emptyValues === 'overwrite';
  const trackSeen = instance.mode === 'full';

  for (const row of input.rows) {
    const recE = row.email !== null ? byEmail.get(row.email) : undefined;
    const recM = row.mobile !== null ? byMobile.get(row.mobile) : undefined;
    if (recE && recM && recE !== recM) {
      plan.rejects.push({
        row,
        code: 'DS_RECIPIENT_KEY_CONFLICT',
        reason: `email ${row.email} and mobile ${row.mobile} belong to two different recipients`,
      });
      continue;
    }
    let rec = recE ?? recM;
    let changed = false;
    let created = false;
    if (!rec) {
      rec = {
        id: null,
        email: row.email,
        mobile: row.mobile,
        values: new Array(row.values.length).fill(null),
        isNew: true,
        dirty: true,
      };
      plan.creates.push(rec);
      created = true;
    }
    // Keys are filled when missing, never replaced (same rule as the single-row upsert of store/recipients).
    if (row.email !== null && rec.email === null) {
      rec.email = row.email;
      changed = true;
    }
    if (row.mobile !== null && rec.mobile === null) {
      rec.mobile = row.mobile;
      changed = true;
    }
    if (rec.email !== null) byEmail.set(rec.email, rec);
    if (rec.mobile !== null) byMobile.set(rec.mobile, rec);
    for (let i = 0; i < row.values.length; i++) {
      const v = row.values[i]!;
      if (v === null && !overwrite) continue;
      if (rec.values[i] !== v) {
        rec.values[i] = v;
        changed = true;
      }
    }
    if (created) counters.created++;
    else if (changed) counters.updated++;
    else counters.unchanged++;
    if (changed && !rec.isNew && !rec.dirty) {
      rec.dirty = true;
      plan.updates.push(rec);
    }
    counters.valid++;
    if (row.email !== null) counters.email.valid++;
    if (row.mobile !== null) counters.sms.valid++;
    if (trackSeen) plan.seen.push({ rec, listId: row.listId });

    // Subscriptions: on each imported channel whose key the row carries.
    let m = subs.get(rec);
    if (!m) subs.set(rec, (m = new Map()));
    for (const channel of instance.channels) {
      if (channel === 'email' ? row.email === null : row.mobile === null) continue;
      const k = `${row.listId}:${channel}`;
      const next = decide(m.get(k), row.status, instance.subscription.forceOptIn, now);
      if (!next) continue;
      m.set(k, next);
      subWrites.set(`${keyOf(rec)}:${k}`, { rec, listId: row.listId, channel, state: next });
      if (next.status === 'subscribed') counters.subscribed++;
      else if (next.status === 'unsubscribed') {
        counters.unsubscribed++;
        plan.events.push({ rec, listId: row.listId, channel });
      } else {
        counters.pending++;
        counters.confirmationsRequested++;
      }
    }

    // Groups.
    if (row.groupId === null) continue;
    let g = members.get(rec);
    if (!g) members.set(rec, (g = new Set()));
    if (instance.destination.replaceGroups) {
      for (const other of input.groupsOfList.get(row.listId) ?? []) {
        if (other === row.groupId || !g.has(other)) continue;
        g.delete(other);
        const ak = `${keyOf(rec)}:${other}`;
        if (addKeys.delete(ak)) {
          const i = plan.groupAdds.findIndex((a) => a.rec === rec && a.groupId === other);
          if (i >= 0) plan.groupAdds.splice(i, 1);
          counters.groupsAdded--;
        } else {
          removeKeys.set(ak, { rec, groupId: other });
          counters.groupsRemoved++;
        }
      }
    }
    if (!g.has(row.groupId)) {
      g.add(row.groupId);
      const ak = `${keyOf(rec)}:${row.groupId}`;
      if (removeKeys.delete(ak)) counters.groupsRemoved--;
      else {
        addKeys.add(ak);
        plan.groupAdds.push({ rec, groupId: row.groupId });
        counters.groupsAdded++;
      }
    }
  }
  plan.subscriptions = [...subWrites.values()];
  plan.groupRemoves = [...removeKeys.values()];
  return plan;
}
