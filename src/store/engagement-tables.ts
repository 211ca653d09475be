/** Row types of the tables added by migration 0002-engagement (part of `Database` in tables.ts). */

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
