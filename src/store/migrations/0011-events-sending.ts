/**
 * An index for the reads of one sending's events (Kysely schema builder only, both dialects). Nothing indexed
 * `events.sending_id`, so each of these scanned every event of the sending's message (or, for SMS, of the
 * table) to find one sending's:
 *
 * - `handledRecipientIds` (email): who already has a `sent` or `bounce` event, read once per resumed send;
 * - `countSendingOutcomes` (email) and `countSmsSendingOutcomes` (SMS): `sent` / `bounce` / `NACK` counts at
 *   the end of every FTPZIP and CSV2SMS run, and the "has a `sent` event" probe per bounce;
 * - `listSmsSendingEvents`: every `sent` / `sms_status` event of an SMS sending, for the resume and the
 *   result rows.
 *
 * `events_sending_ix (sending_id, channel, kind, recipient_id)`: the equality filters first (a sending has one
 * channel, but every read names it), then `recipient_id`, so the email reads are answered from the index alone
 * and the per-bounce probe is one key lookup. A sending of a million recipients adds one entry per event, as
 * the other event indexes do.
 */
import type { Kysely } from 'kysely';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createIndex('events_sending_ix')
    .on('events')
    .columns(['sending_id', 'channel', 'kind', 'recipient_id'])
    .execute();
}
