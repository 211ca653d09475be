/**
 * Schema additions of the engagement issue (messages, tracking, ingestion). Same rules as 0001: Kysely schema
 * builder only, both dialects. Row types of these tables are in `../engagement-tables.ts`.
 */
import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>, _dialect: StoreDialect): Promise<void> {
  // Per-account counters for the numbers customers see (idNl, idSMS, idInvio). An upsert-and-return on one
  // row hands out each number once even when two API calls race (max()+1 would not).
  await db.schema
    .createTable('engagement_counters')
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('value', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('engagement_counters_pk', ['account_id', 'name'])
    .execute();

  // Explicit recipients of a sending (a sending to a list or group needs no rows here).
  await db.schema
    .createTable('sending_recipients')
    .addColumn('sending_id', 'integer', (c) => c.notNull().references('sendings.id').onDelete('cascade'))
    .addColumn('recipient_id', 'integer', (c) => c.notNull().references('recipients.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('sending_recipients_pk', ['sending_id', 'recipient_id'])
    .execute();

  // Idempotency keys of ingested events and SMS delivery reports. Kept apart from `events` because one
  // ingested event may write no event row (already unsubscribed) or several (a hard bounce unsubscribes
  // every list), and the key must still mark the input as done.
  await db.schema
    .createTable('event_keys')
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('idempotency_key', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('event_keys_pk', ['account_id', 'idempotency_key'])
    .execute();

  // The soft-bounce rule reads one recipient's recent events by kind.
  await db.schema
    .createIndex('events_recipient_ix')
    .on('events')
    .columns(['recipient_id', 'kind', 'occurred_at'])
    .execute();
}
