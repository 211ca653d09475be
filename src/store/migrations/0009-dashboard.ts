/**
 * Schema additions of the dashboard charts and the per-message events summary (issue 10). Kysely schema builder
 * only, both dialects.
 *
 * - `events_message_kind_ix`: per-message aggregates (`GET …/messages/…/summary`, the opens-and-clicks chart)
 *   count one message's events by kind, and distinct recipients, from the index alone, however many events
 *   the account has.
 * - `jobs_account_kind_created_ix`: "rows imported per day" reads one account's import jobs of the last days;
 *   0001's `(account_id, created_at)` would also walk every export and SMS job of those days.
 */
import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('events_message_kind_ix')
    .on('events')
    .columns(['message_id', 'kind', 'recipient_id'])
    .execute();
  await db.schema
    .createIndex('jobs_account_kind_created_ix')
    .on('jobs')
    .columns(['account_id', 'kind', 'created_at'])
    .execute();
}
