/**
 * The reads and writes of a full import's missing rule (recipients of a list absent from the file) and the
 * "already imported" record of files. Keyset pages in recipient id order, so the walk can be checkpointed.
 */
import { sql } from 'kysely';
import type { Db } from './accounts.js';
import type { Channel, SubscriptionStatus } from './tables.js';

/**
 * One page of a list's recipients on some channels with some statuses, in recipient id order (keyset), for the
 * full-import missing rule: `afterId` exclusive.
 */
export async function pageListSubscribers(
  db: Db,
  accountId: string,
  listId: number,
  channels: Channel[],
  statuses: SubscriptionStatus[],
  afterId: number,
  limit: number,
): Promise<{ recipientId: number; channel: Channel }[]> {
  const rows = await db
    .selectFrom('subscriptions')
    .select(['recipient_id', 'channel'])
    .where('account_id', '=', accountId)
    .where('list_id', '=', listId)
    .where('channel', 'in', channels)
    .where('status', 'in', statuses)
    .where('recipient_id', '>', afterId)
    .orderBy('recipient_id')
    .orderBy('channel')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ recipientId: r.recipient_id, channel: r.channel }));
}

/** One page of a group's members in recipient id order (keyset), `afterId` exclusive. */
export async function pageGroupMembers(
  db: Db,
  groupId: number,
  afterId: number,
  limit: number,
): Promise<number[]> {
  const rows = await db
    .selectFrom('group_members')
    .select('recipient_id')
    .where('group_id', '=', groupId)
    .where('recipient_id', '>', afterId)
    .orderBy('recipient_id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.recipient_id);
}

/** Unsubscribe (type `code`) the given recipients of a list on a channel, if still subscribed or pending. */
export async function unsubscribeMissing(
  db: Db,
  accountId: string,
  listId: number,
  channel: Channel,
  recipientIds: number[],
  code: string,
  now: string,
): Promise<void> {
  if (recipientIds.length === 0) return;
  await db
    .updateTable('subscriptions')
    .set({
      status: 'unsubscribed',
      unsubscribed_at: now,
      optout_type: code,
      optout_message_id: null,
      updated_at: now,
    })
    .where('account_id', '=', accountId)
    .where('list_id', '=', listId)
    .where('channel', '=', channel)
    .where('status', 'in', ['subscribed', 'pending'])
    .where('recipient_id', 'in', recipientIds)
    .execute();
}

export async function countListSubscribers(
  db: Db,
  accountId: string,
  listId: number,
  channels: Channel[],
  statuses: SubscriptionStatus[],
): Promise<number> {
  const r = await db
    .selectFrom('subscriptions')
    .select(sql<number>`count(*)`.as('n'))
    .where('account_id', '=', accountId)
    .where('list_id', '=', listId)
    .where('channel', 'in', channels)
    .where('status', 'in', statuses)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** Whether this instance already imported a file with this content. */
export async function isFileProcessed(db: Db, instanceId: string, sha256: string): Promise<string | null> {
  const r = await db
    .selectFrom('processed_files')
    .select('job_id')
    .where('instance_id', '=', instanceId)
    .where('sha256', '=', sha256)
    .executeTakeFirst();
  return r ? r.job_id : null;
}

export async function markFileProcessed(
  db: Db,
  input: { instanceId: string; sha256: string; accountId: string; jobId: string },
  now: string,
): Promise<void> {
  await db
    .insertInto('processed_files')
    .values({
      instance_id: input.instanceId,
      sha256: input.sha256,
      account_id: input.accountId,
      job_id: input.jobId,
      processed_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['instance_id', 'sha256']).doUpdateSet({ job_id: input.jobId, processed_at: now }),
    )
    .execute();
}
