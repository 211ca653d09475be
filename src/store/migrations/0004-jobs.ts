/**
 * Schema additions of the jobs issue (queue, schedules, remote spaces, notifications). Same rules as 0001:
 * Kysely schema builder only, both dialects. Times are ISO-8601 UTC strings, so they sort as text.
 */
import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>, _dialect: StoreDialect): Promise<void> {
  // The embedded table queue (SQLite). PostgreSQL deployments use pg-boss's own tables instead; the table is
  // created on both dialects so one migration list serves both.
  await db.schema
    .createTable('queue_jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('queue', 'text', (c) => c.notNull())
    .addColumn('data_json', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    /** Deduplication key: a second send with the same (queue, key) is dropped (schedule slots). */
    .addColumn('dedupe_key', 'text')
    /** Serialisation group: at most one active job per (queue, group) (imports of one account). */
    .addColumn('group_key', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('retry_limit', 'integer', (c) => c.notNull())
    .addColumn('retry_delay_seconds', 'integer', (c) => c.notNull())
    .addColumn('retry_backoff', 'integer', (c) => c.notNull())
    .addColumn('lease_seconds', 'integer', (c) => c.notNull())
    .addColumn('start_after', 'text', (c) => c.notNull())
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('last_error_json', 'text')
    .addColumn('output_json', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('ended_at', 'text')
    .execute();
  await db.schema
    .createIndex('queue_jobs_fetch_ix')
    .on('queue_jobs')
    .columns(['queue', 'state', 'start_after'])
    .execute();
  await db.schema
    .createIndex('queue_jobs_dedupe_ux')
    .on('queue_jobs')
    .columns(['queue', 'dedupe_key'])
    .unique()
    .execute();

  // One row per scheduled instance: the last slot fired, so a restarted scheduler knows what it missed.
  await db.schema
    .createTable('job_schedules')
    .addColumn('instance_id', 'text', (c) => c.primaryKey())
    .addColumn('cron', 'text', (c) => c.notNull())
    .addColumn('time_zone', 'text', (c) => c.notNull())
    .addColumn('last_slot', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  // Webhook and email notification delivery log.
  await db.schema
    .createTable('notification_deliveries')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('response_status', 'integer')
    .addColumn('error', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('notification_deliveries_job_ix')
    .on('notification_deliveries')
    .columns(['job_id', 'created_at'])
    .execute();
}
