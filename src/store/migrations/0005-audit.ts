/**
 * Schema additions of the admin API and dashboard (issue 10). Same rules as 0001: Kysely schema builder only,
 * both dialects.
 *
 * - `audit_log`: one row per change made through the admin API (who, what, on which account), newest read
 *   first with a keyset on `id`.
 * - Job listing indexes: the API and the dashboard page jobs newest first (`ORDER BY id DESC`) with filters on
 *   account, status and instance; these make each page an index range scan, so page 2,000 of 100,000 jobs
 *   costs what page 1 does. 0001's indexes order by `created_at`, which the keyset on `id` cannot use.
 */
import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>, dialect: StoreDialect): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('id', dialect.autoIdType, (c) => {
      const col = c.primaryKey();
      return dialect.autoIdNeedsAutoIncrement ? col.autoIncrement() : col;
    })
    .addColumn('at', 'text', (c) => c.notNull())
    /** `admin`, or `account:<id>` for an account token. */
    .addColumn('actor', 'text', (c) => c.notNull())
    /** The account the change touched (null for server-wide changes). */
    .addColumn('account_id', 'text')
    /** Dotted verb: `account.create`, `instance.put`, `job.retry`… */
    .addColumn('action', 'text', (c) => c.notNull())
    /** Id of what changed (account id, instance id, job id, username). */
    .addColumn('target', 'text')
    /** Small JSON document: the request's non-secret fields. */
    .addColumn('details_json', 'text')
    .addColumn('request_id', 'text')
    .execute();
  await db.schema.createIndex('audit_log_account_ix').on('audit_log').columns(['account_id', 'id']).execute();

  await db.schema.createIndex('jobs_account_id_ix').on('jobs').columns(['account_id', 'id']).execute();
  await db.schema
    .createIndex('jobs_account_status_id_ix')
    .on('jobs')
    .columns(['account_id', 'status', 'id'])
    .execute();
  await db.schema.createIndex('jobs_status_id_ix').on('jobs').columns(['status', 'id']).execute();
  await db.schema.createIndex('jobs_instance_id_ix').on('jobs').columns(['instance_id', 'id']).execute();
}
