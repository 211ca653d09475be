/**
 * Superseded marks of email events (issue 6, reference §3.4.2 "latest action per recipient and link").
 * Kysely schema builder only, both dialects.
 *
 * - `events.superseded_at`: the least `recorded_at` of the events that supersede this one (a click or a later
 *   open supersedes an open; a later click on the same link a click; a later bounce a bounce, a later sent a
 *   sent; same recipient, message and sending). A statistics export of [from, to) drops an event iff
 *   `superseded_at < to`, a plain filter instead of a window function or a probe per event. Null = not
 *   superseded (yet). Written by the mark pass (superseded-marks.ts), never by the tracking hot path.
 * - `event_mark_horizons`: per account, the `recorded_at` up to which (exclusive) every event has been taken
 *   into account by the mark pass. The pass only looks at events recorded since.
 */
import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('events').addColumn('superseded_at', 'text').execute();
  await db.schema
    .createTable('event_mark_horizons')
    .addColumn('account_id', 'text', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('marked_to', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
}
