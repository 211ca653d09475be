/**
 * Row types of the tables added by migration 0002-engagement. Kept out of `tables.ts` (owned by the
 * foundation) until the lead merges them into `Database`; repositories reach them through
 * `engagementDb(db)`, which is Kysely's `withTables`.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './tables.js';

export interface EngagementCounterTable {
  account_id: string;
  /** `idNl`, `idSMS` or `idInvio`. */
  name: string;
  /** The last number handed out. */
  value: number;
}

export interface SendingRecipientTable {
  sending_id: number;
  recipient_id: number;
}

export interface EventKeyTable {
  account_id: string;
  idempotency_key: string;
  recorded_at: string;
}

export interface EngagementTables {
  engagement_counters: EngagementCounterTable;
  sending_recipients: SendingRecipientTable;
  event_keys: EventKeyTable;
}

export type EngagementDatabase = Database & EngagementTables;
export type EngagementDb = Kysely<EngagementDatabase> | Transaction<EngagementDatabase>;

/** The same handle (or transaction), typed with the engagement tables. */
export function engagementDb(db: Kysely<Database> | Transaction<Database>): EngagementDb {
  return db as unknown as EngagementDb;
}
