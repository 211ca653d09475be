/**
 * Row types of every table (Kysely's `Database` interface). snake_case lives here and in repositories only.
 *
 * Conventions that hold for every table:
 * - timestamps are ISO-8601 UTC strings (`2026-11-28T04:00:00.000Z`) in both dialects: they sort as text,
 *   need no driver-specific parsing, and survive a SQLite → PostgreSQL move unchanged;
 * - JSON documents are stored as text (`*_json`) and parsed by the services;
 * - numeric ids the customer sees (list id, field id, message id `idNl`, sending id `idInvio`) are per account.
 */
import type { Generated, Insertable, Selectable, Updateable } from 'kysely';
import type { EngagementCounterTable, EventKeyTable, SendingRecipientTable } from './engagement-tables.js';
import type { AuditLogTable } from './audit.repository.js';
import type { ExportFileTable } from './exports-files.repository.js';
import type { JobScheduleTable, NotificationDeliveryTable, QueueJobTable } from './jobs-tables.js';

/** The 39 recipient field columns `f1`..`f39` (reference §1.4: numeric field ids 1..39, values ≤ 200 bytes). */
export const FIELD_IDS = Array.from({ length: 39 }, (_, i) => i + 1);
export type FieldColumns = {
  [K in `f${1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9}` | `f${1 | 2 | 3}${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9}`]:
    string | null;
};

/** Auto-increment primary key: generated on insert, a number when read. */
type Id = Generated<number>;

export interface AccountTable {
  id: string;
  name: string;
  /** IANA time zone used for CSV2SMS send times, export file names and schedules without their own zone. */
  time_zone: string;
  /** ISO 3166 country used when a mobile number has no prefix and the list has none. */
  default_country: string;
  created_at: string;
}

export interface FieldTable {
  account_id: string;
  field_id: number;
  name: string;
  /** Used only when the field is rendered as a dynamic field in a message and is empty (reference §1.4). */
  default_value: string | null;
}

export interface ListTable {
  account_id: string;
  list_id: number;
  guid: string;
  name: string;
  /** Default international mobile prefix, digits only (`39` for Italy), used when a number has none. */
  mobile_prefix: string | null;
  created_at: string;
}

export interface GroupTable {
  id: Id;
  account_id: string;
  list_id: number;
  name: string;
  is_test: number;
  created_at: string;
}

export interface RecipientTable extends FieldColumns {
  id: Id;
  account_id: string;
  /** Normalised email (domain lower-cased, IDN as ASCII); unique per account. */
  email: string | null;
  /** International digits without `+` or `00` (E.164 without the plus); unique per account. */
  mobile: string | null;
  created_at: string;
  updated_at: string;
  /** Set when personal data was erased (unsubscribe type 1024); exports must not resurrect it. */
  erased_at: string | null;
}

export const SUBSCRIPTION_STATUSES = ['subscribed', 'unsubscribed', 'pending'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];
export const CHANNELS = ['email', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

export interface SubscriptionTable {
  account_id: string;
  recipient_id: number;
  list_id: number;
  channel: Channel;
  status: SubscriptionStatus;
  subscribed_at: string | null;
  unsubscribed_at: string | null;
  /** Unsubscribe type code of reference §3.4.1, as text so codes like `01` keep their zero. */
  optout_type: string | null;
  /** Message (`messages.id`, not the customer-visible idNl/idSMS) that caused the unsubscription, when known. */
  optout_message_id: number | null;
  updated_at: string;
}

export interface GroupMemberTable {
  group_id: number;
  recipient_id: number;
  added_at: string;
}

export interface MessageTable {
  id: Id;
  account_id: string;
  /** The number the customer sees: `idNl` for email, `idSMS` for SMS; unique per account and channel. */
  message_number: number;
  channel: Channel;
  list_id: number | null;
  subject: string | null;
  html: string | null;
  text: string | null;
  sender_email: string | null;
  sender_name: string | null;
  reply_to: string | null;
  attachments_json: string | null;
  campaign_code: string | null;
  created_at: string;
}

export interface SendingTable {
  id: Id;
  account_id: string;
  /** `idInvio`, unique per account. */
  sending_number: number;
  message_id: number;
  list_id: number | null;
  group_id: number | null;
  status: string;
  scheduled_at: string | null;
  started_at: string | null;
  ended_at: string | null;
  counters_json: string | null;
  created_at: string;
}

export const EVENT_KINDS = [
  'sent',
  'delivered',
  'open',
  'click',
  'bounce',
  'complaint',
  'unsubscribe',
  'subscribe',
  'sms_status',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * SMS delivery statuses of `sms_status` events (`events.detail`) and the `sms-statistics` export (reference
 * §3.4.3, the recommended vocabulary). NACK = the provider refused the message at submission.
 */
export const SMS_STATUSES = [
  'DELIVERED',
  'QUEUED',
  'FAILED',
  'UNKNOWN',
  'NACK',
  'UNDELIV',
  'REJECTD',
  'EXPIRED',
] as const;
export type SmsStatus = (typeof SMS_STATUSES)[number];

export interface EventTable {
  id: Id;
  account_id: string;
  kind: EventKind;
  channel: Channel;
  recipient_id: number | null;
  /** `idList` (list ids are per account and customer-visible). */
  list_id: number | null;
  /**
   * Internal `messages.id`, never the customer's `idNl` / `idSMS`: every writer (tracking, ingestion, SMS
   * engine, subscription changes) stores it and the exports join `messages` for the number and subject.
   */
  message_id: number | null;
  /** Internal `sendings.id`, never `idInvio` (the exports join `sendings` for it). */
  sending_id: number | null;
  /** Clicked URL. */
  url: string | null;
  /** Bounce code, SMS provider status, or the unsubscribe type code. */
  code: string | null;
  /** `hard` / `soft` for bounces; delivery status words for SMS. */
  detail: string | null;
  provider_message_id: string | null;
  ip: string | null;
  user_agent: string | null;
  /** Makes re-sent ingestion batches idempotent; unique per account when set. */
  idempotency_key: string | null;
  occurred_at: string;
  recorded_at: string;
  /** Least `recorded_at` of the events superseding this one (§3.4.2); null = none yet (superseded-marks.ts). */
  superseded_at: string | null;
}

export interface SftpUserTable {
  id: Id;
  account_id: string;
  username: string;
  /** Self-describing scrypt hash; null when the user logs in with keys only. */
  password_hash: string | null;
  disabled: number;
  created_at: string;
  updated_at: string;
}

export interface SftpKeyTable {
  id: Id;
  user_id: number;
  algo: string;
  key_base64: string;
  comment: string | null;
  fingerprint: string;
  created_at: string;
}

export const INSTANCE_KINDS = ['import', 'export', 'csv2sms', 'ftpzip'] as const;
export type InstanceKind = (typeof INSTANCE_KINDS)[number];

export interface InstanceTable {
  id: string;
  account_id: string;
  kind: InstanceKind;
  enabled: number;
  /** The whole instance definition (validated by its capability's zod schema). */
  definition_json: string;
  created_at: string;
  updated_at: string;
}

export const JOB_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'partial',
  'failed',
  'skipped',
  'cancelled',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const JOB_TRIGGERS = ['upload', 'schedule', 'cli', 'api', 'poll'] as const;
export type JobTrigger = (typeof JOB_TRIGGERS)[number];

export interface JobTable {
  /** Sortable id (time-based), also the prefix of result file names. */
  id: string;
  account_id: string;
  instance_id: string | null;
  kind: InstanceKind;
  trigger: JobTrigger;
  status: JobStatus;
  input_name: string | null;
  /** Where the input is now (processing area, then done/ or failed/). */
  input_path: string | null;
  input_sha256: string | null;
  input_size: number | null;
  counters_json: string | null;
  /** Resume point written in the same transaction as the data it covers (invariant 4). */
  checkpoint_json: string | null;
  error_code: string | null;
  error_message: string | null;
  result_json: string | null;
  attempts: number;
  run_after: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
}

export interface ProcessedFileTable {
  instance_id: string;
  sha256: string;
  account_id: string;
  job_id: string;
  processed_at: string;
}

/** Per account: every event recorded before `marked_to` has been through the mark pass (superseded-marks.ts). */
export interface EventMarkHorizonTable {
  account_id: string;
  marked_to: string;
  updated_at: string;
}

export interface ExportWatermarkTable {
  instance_id: string;
  watermark: string;
  updated_at: string;
}

export interface ApiTokenTable {
  id: Id;
  /** null for an admin token that reaches every account. */
  account_id: string | null;
  name: string;
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
}

/** Small key/value settings (first-start markers, generated secrets' fingerprints). */
export interface SettingTable {
  key: string;
  value: string;
}

export interface Database {
  accounts: AccountTable;
  fields: FieldTable;
  lists: ListTable;
  groups: GroupTable;
  recipients: RecipientTable;
  subscriptions: SubscriptionTable;
  group_members: GroupMemberTable;
  messages: MessageTable;
  sendings: SendingTable;
  events: EventTable;
  sftp_users: SftpUserTable;
  sftp_keys: SftpKeyTable;
  instances: InstanceTable;
  jobs: JobTable;
  processed_files: ProcessedFileTable;
  export_watermarks: ExportWatermarkTable;
  event_mark_horizons: EventMarkHorizonTable;
  api_tokens: ApiTokenTable;
  settings: SettingTable;
  // Migrations 0002 (engagement), 0003 (exports), 0004 (jobs), 0005 (audit): row types live next to their
  // repositories.
  engagement_counters: EngagementCounterTable;
  sending_recipients: SendingRecipientTable;
  event_keys: EventKeyTable;
  export_files: ExportFileTable;
  queue_jobs: QueueJobTable;
  job_schedules: JobScheduleTable;
  notification_deliveries: NotificationDeliveryTable;
  audit_log: AuditLogTable;
}

export type AccountRow = Selectable<AccountTable>;
export type NewAccountRow = Insertable<AccountTable>;
export type ListRow = Selectable<ListTable>;
export type NewListRow = Insertable<ListTable>;
export type GroupRow = Selectable<GroupTable>;
export type FieldRow = Selectable<FieldTable>;
export type RecipientRow = Selectable<RecipientTable>;
export type NewRecipientRow = Insertable<RecipientTable>;
export type RecipientUpdate = Updateable<RecipientTable>;
export type SubscriptionRow = Selectable<SubscriptionTable>;
export type NewSubscriptionRow = Insertable<SubscriptionTable>;
export type EventRow = Selectable<EventTable>;
export type NewEventRow = Insertable<EventTable>;
export type SftpUserRow = Selectable<SftpUserTable>;
export type SftpKeyRow = Selectable<SftpKeyTable>;
export type InstanceRow = Selectable<InstanceTable>;
export type JobRow = Selectable<JobTable>;
export type NewJobRow = Insertable<JobTable>;
export type JobUpdate = Updateable<JobTable>;
export type MessageRow = Selectable<MessageTable>;
export type SendingRow = Selectable<SendingTable>;
export type ApiTokenRow = Selectable<ApiTokenTable>;
