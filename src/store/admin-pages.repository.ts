/**
 * Keyset pages for the admin API and dashboard over tables whose foundation repositories return everything
 * (accounts, lists, groups, instances). Each takes `limit` and returns up to `limit` rows after the cursor;
 * callers ask for one more than they show to learn whether a next page exists.
 */
import {
  accountRowToAccount,
  groupRowToGroup,
  listRowToList,
  type Account,
  type Db,
  type Group,
  type List,
} from './accounts.js';
import { instanceRowToRecord, type InstanceRecord } from './instances.repository.js';
import type { InstanceKind } from './tables.js';

const clamp = (n: number | undefined) => Math.min(Math.max(n ?? 50, 1), 1000);

/** Accounts by id. */
export async function pageAccounts(db: Db, q: { afterId?: string; limit?: number } = {}): Promise<Account[]> {
  let query = db.selectFrom('accounts').selectAll();
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  return (await query.orderBy('id').limit(clamp(q.limit)).execute()).map(accountRowToAccount);
}

/** Lists of an account by list id. */
export async function pageLists(
  db: Db,
  accountId: string,
  q: { afterListId?: number; limit?: number } = {},
): Promise<List[]> {
  let query = db.selectFrom('lists').selectAll().where('account_id', '=', accountId);
  if (q.afterListId !== undefined) query = query.where('list_id', '>', q.afterListId);
  return (await query.orderBy('list_id').limit(clamp(q.limit)).execute()).map(listRowToList);
}

/** Groups of an account (optionally of one list) by group id. */
export async function pageGroups(
  db: Db,
  accountId: string,
  q: { listId?: number; afterId?: number; limit?: number } = {},
): Promise<Group[]> {
  let query = db.selectFrom('groups').selectAll().where('account_id', '=', accountId);
  if (q.listId !== undefined) query = query.where('list_id', '=', q.listId);
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  return (await query.orderBy('id').limit(clamp(q.limit)).execute()).map(groupRowToGroup);
}

/** Instances of an account (optionally of one kind) by id. */
export async function pageInstances(
  db: Db,
  accountId: string,
  q: { kind?: InstanceKind; afterId?: string; limit?: number } = {},
): Promise<InstanceRecord[]> {
  let query = db.selectFrom('instances').selectAll().where('account_id', '=', accountId);
  if (q.kind) query = query.where('kind', '=', q.kind);
  if (q.afterId !== undefined) query = query.where('id', '>', q.afterId);
  return (await query.orderBy('id').limit(clamp(q.limit)).execute()).map(instanceRowToRecord);
}

/** The latest job of each given instance (one query per instance: index `jobs_instance_id_ix`). */
export async function latestJobIds(db: Db, instanceIds: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of instanceIds) {
    const r = await db
      .selectFrom('jobs')
      .select('id')
      .where('instance_id', '=', id)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (r) out.set(id, r.id);
  }
  return out;
}
