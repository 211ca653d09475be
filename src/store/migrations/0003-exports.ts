/**
 * Schema additions of the exports issue. Same rules as 0001: Kysely schema builder only, both dialects.
 *
 * - `export_files`: every file an export instance wrote (name, sequence number, window, rows). It gives the
 *   per-instance sequence number of file names and lets retention delete only files datasync itself wrote,
 *   never a file the customer put in `/export`.
 * - Two indexes that make the exports' keyset pages index-ordered (no sort per page, so a page costs the same
 *   at the end of a million-row export as at its start).
 */
import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>, _dialect: StoreDialect): Promise<void> {
  await db.schema
    .createTable('export_files')
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull())
    /** File name inside the destination folder. */
    .addColumn('name', 'text', (c) => c.notNull())
    /** Destination label (`hosted:/export`, `remote:<id>`), so retention removes from the right place. */
    .addColumn('destination', 'text', (c) => c.notNull())
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('window_from', 'text')
    .addColumn('window_to', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    /** Set when retention removed the file. */
    .addColumn('removed_at', 'text')
    .addPrimaryKeyConstraint('export_files_pk', ['instance_id', 'seq'])
    .execute();

  // Window scans of statistics / unsubscribers / SMS exports: keyset on (recorded_at, id) inside one account
  // and channel; the kind and list filters are checked on the index rows.
  await db.schema
    .createIndex('events_export_ix')
    .on('events')
    .columns(['account_id', 'channel', 'recorded_at', 'id'])
    .execute();
  // "Latest action per recipient and link" (reference §3.4.2): a probe per event for a superseding one.
  await db.schema
    .createIndex('events_recipient_message_ix')
    .on('events')
    .columns(['recipient_id', 'message_id', 'kind'])
    .execute();
  // Subscribers export: keyset on (list_id, recipient_id) among one status of one channel.
  await db.schema
    .createIndex('subscriptions_export_ix')
    .on('subscriptions')
    .columns(['account_id', 'channel', 'status', 'list_id', 'recipient_id'])
    .execute();
}
