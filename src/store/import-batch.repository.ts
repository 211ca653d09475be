/**
 * The batched read path of imports (reference §2; ARCHITECTURE invariant 4). The import engine decides
 * create / update / unchanged in memory for a batch of a few thousand rows; these functions do the set-based
 * reads, inside the caller's transaction; the writes are in `import-batch-writes.repository.ts`, the full
 * import's missing rule in `import-batch-missing.repository.ts` (both re-exported here).
 *
 * Speed notes, measured on 1M-row files:
 * - every key set is one parameter (a `$1::text[]` array on PostgreSQL, a JSON array read by `json_each` on
 *   SQLite), so each lookup is one constant statement, prepared once, whatever the batch size;
 * - on PostgreSQL the keys drive the join (`perKey`: one index probe per key), so a batch's reads cost the same
 *   whether the table holds 10,000 recipients or 1M, analyzed or not;
 * - mobiles of recipients already found by email are not looked up again (an all-updates file needs one key
 *   lookup per batch, not two);
 * - unchanged rows are never written (decided in memory), which is what spares PostgreSQL a new row version.
 */
import type { Db } from './accounts.js';
import type { StoreDialect } from './dialect.js';
import { execRaw, fieldColumn, inKeys, keysParam, perKey, supportsArrayParams } from './import-batch-sql.js';
import type { Subscription } from './recipients.js';
import type { Channel, SubscriptionStatus } from './tables.js';

export * from './import-batch-missing.repository.js';
export * from './import-batch-writes.repository.js';
export { fieldColumn, importBatchRows, supportsArrayParams, type FieldColumn } from './import-batch-sql.js';

export interface KeyedRecipient {
  id: number;
  email: string | null;
  mobile: string | null;
  /** Values of the requested field ids, in their order. */
  values: (string | null)[];
}

/**
 * Settings of an import batch's transaction, before its reads. PostgreSQL: no JIT. A batch's statements are
 * thousands of index probes whose estimated cost passes `jit_above_cost` (the subscriptions read of a table
 * without statistics yet: ~121,000), and compiling them took ~20 ms a batch for nothing (measured with
 * `explain analyze`). `is_local`: the setting ends with the transaction.
 */
export async function prepareImportBatch(db: Db, dialect: StoreDialect): Promise<void> {
  if (dialect.name === 'postgres') await execRaw(db, "select set_config('jit', 'off', true)", []);
}

const SUBSCRIPTION_SELECT =
  'select recipient_id, list_id, channel, status, subscribed_at, unsubscribed_at, optout_type from subscriptions';
const MEMBERSHIP_SELECT = 'select group_id, recipient_id from group_members';

/**
 * The SQL text of the batch reads (exported for the plan test, test/store/import-batch-plans.test.ts).
 * PostgreSQL: one index probe per key (see `perKey`); SQLite's planner already probes `in (json_each(?))`.
 */
export const importReadSql = {
  /** Parameters: account id, keys. */
  recipientsByKey(dialect: StoreDialect, column: 'email' | 'mobile', fieldIds: number[]): string {
    const select = `select id, email, mobile${fieldIds.map((f) => `, ${fieldColumn(f)}`).join('')} from recipients where account_id = `;
    // `(select $1::text)`: the account is a value the planner does not see, so it estimates an account's rows
    // as the table's over its distinct accounts. With the literal, an account missing from the statistics (a
    // new one, or a table never analyzed) is estimated at 1 row, and the planner probed the *other* unique
    // index by account alone, filtering on the key: a scan of the whole account per key (measured: new account
    // in an analyzed table, and a never-analyzed table of 3,000 rows). A never-analyzed table under ~1,000
    // rows may still get that plan; it costs little there.
    return supportsArrayParams(dialect)
      ? `select x.*${perKey('text', '$2', `${select}(select $1::text) and ${column} = k.key`)}`
      : `${select}? and ${column}${inKeys(dialect, 'text', '?')}`;
  },
  /** Parameters: recipient ids, list ids. */
  subscriptions(dialect: StoreDialect): string {
    return supportsArrayParams(dialect)
      ? `select x.*${perKey('int4', '$1', `${SUBSCRIPTION_SELECT} where recipient_id = k.key and list_id = any($2::int4[])`)}`
      : `${SUBSCRIPTION_SELECT} where recipient_id${inKeys(dialect, 'int4', '?')} and list_id${inKeys(dialect, 'int4', '?')}`;
  },
  /** Parameters: recipient ids, group ids. */
  memberships(dialect: StoreDialect): string {
    return supportsArrayParams(dialect)
      ? `select x.*${perKey('int4', '$1', `${MEMBERSHIP_SELECT} where recipient_id = k.key and group_id = any($2::int4[])`)}`
      : `${MEMBERSHIP_SELECT} where recipient_id${inKeys(dialect, 'int4', '?')} and group_id${inKeys(dialect, 'int4', '?')}`;
  },
};

/** Existing recipients of the account having one of these emails or mobiles, with the given field values. */
export async function findRecipientsByKeys(
  db: Db,
  dialect: StoreDialect,
  accountId: string,
  emails: string[],
  mobiles: string[],
  fieldIds: number[],
): Promise<KeyedRecipient[]> {
  const cols = fieldIds.map(fieldColumn);
  const out = new Map<number, KeyedRecipient>();
  const run = async (column: 'email' | 'mobile', keys: string[]) => {
    const rows = await execRaw<Record<string, string | null> & { id: number }>(
      db,
      importReadSql.recipientsByKey(dialect, column, fieldIds),
      [accountId, keysParam(dialect, keys)],
    );
    for (const rec of rows)
      if (!out.has(rec.id))
        out.set(rec.id, {
          id: rec.id,
          email: rec.email ?? null,
          mobile: rec.mobile ?? null,
          values: cols.map((c) => rec[c] ?? null),
        });
  };
  if (emails.length > 0) await run('email', emails);
  if (mobiles.length > 0) {
    // A mobile held by a recipient found by email cannot belong to another recipient (unique per account).
    const found = new Set<string>();
    for (const r of out.values()) if (r.mobile !== null) found.add(r.mobile);
    const rest = found.size === 0 ? mobiles : mobiles.filter((m) => !found.has(m));
    if (rest.length > 0) await run('mobile', rest);
  }
  return [...out.values()];
}

/** A subscription as the batch planner reads it: the same shape the recipients service returns. */
export type SubscriptionState = Subscription;

export async function findSubscriptionStates(
  db: Db,
  dialect: StoreDialect,
  recipientIds: number[],
  listIds: number[],
): Promise<SubscriptionState[]> {
  if (recipientIds.length === 0 || listIds.length === 0) return [];
  const rows = await execRaw<{
    recipient_id: number;
    list_id: number;
    channel: Channel;
    status: SubscriptionStatus;
    subscribed_at: string | null;
    unsubscribed_at: string | null;
    optout_type: string | null;
  }>(db, importReadSql.subscriptions(dialect), [
    keysParam(dialect, recipientIds),
    keysParam(dialect, listIds),
  ]);
  return rows.map((r) => ({
    recipientId: r.recipient_id,
    listId: r.list_id,
    channel: r.channel,
    status: r.status,
    subscribedAt: r.subscribed_at,
    unsubscribedAt: r.unsubscribed_at,
    optoutType: r.optout_type,
  }));
}

export async function findGroupMemberships(
  db: Db,
  dialect: StoreDialect,
  recipientIds: number[],
  groupIds: number[],
): Promise<{ groupId: number; recipientId: number }[]> {
  if (recipientIds.length === 0 || groupIds.length === 0) return [];
  const rows = await execRaw<{ group_id: number; recipient_id: number }>(
    db,
    importReadSql.memberships(dialect),
    [keysParam(dialect, recipientIds), keysParam(dialect, groupIds)],
  );
  return rows.map((r) => ({ groupId: r.group_id, recipientId: r.recipient_id }));
}

/** Job progress written in the same transaction as the batch it covers (invariant 4). */
export async function saveImportCheckpoint(
  db: Db,
  jobId: string,
  checkpoint: unknown,
  counters: unknown,
): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ checkpoint_json: JSON.stringify(checkpoint), counters_json: JSON.stringify(counters) })
    .where('id', '=', jobId)
    .execute();
}
