/**
 * The batched read path of imports (reference §2; ARCHITECTURE invariant 4). The import engine decides
 * create / update / unchanged in memory for a batch of a few thousand rows; these functions do the set-based
 * reads, inside the caller's transaction; the writes are in `import-batch-writes.repository.ts`, the full
 * import's missing rule in `import-batch-missing.repository.ts` (both re-exported here).
 *
 * Speed notes, measured on 1M-row files:
 * - every key set is one parameter (`= any($1::text[])` on PostgreSQL, a JSON array read by `json_each` on
 *   SQLite), so each lookup is one constant statement, prepared once, whatever the batch size;
 * - mobiles of recipients already found by email are not looked up again (an all-updates file needs one key
 *   lookup per batch, not two);
 * - unchanged rows are never written (decided in memory), which is what spares PostgreSQL a new row version.
 */
import type { Db } from './accounts.js';
import type { StoreDialect } from './dialect.js';
import { execRaw, fieldColumn, inKeys, keysParam, placeholder } from './import-batch-sql.js';
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
  const select = `select id, email, mobile${cols.map((c) => `, ${c}`).join('')} from recipients where account_id = ${placeholder(dialect, 1)} and `;
  const run = async (column: 'email' | 'mobile', keys: string[]) => {
    const rows = await execRaw<Record<string, string | null> & { id: number }>(
      db,
      select + column + inKeys(dialect, 'text', placeholder(dialect, 2)),
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
  }>(
    db,
    'select recipient_id, list_id, channel, status, subscribed_at, unsubscribed_at, optout_type from subscriptions' +
      ` where recipient_id${inKeys(dialect, 'int4', placeholder(dialect, 1))} and list_id${inKeys(dialect, 'int4', placeholder(dialect, 2))}`,
    [keysParam(dialect, recipientIds), keysParam(dialect, listIds)],
  );
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
    'select group_id, recipient_id from group_members' +
      ` where recipient_id${inKeys(dialect, 'int4', placeholder(dialect, 1))} and group_id${inKeys(dialect, 'int4', placeholder(dialect, 2))}`,
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
