/** Tables of the jobs issue (migration 0004; part of `Database` in tables.ts). */
import type { Insertable, Selectable } from 'kysely';

export const QUEUE_STATES = ['created', 'retry', 'active', 'completed', 'failed', 'cancelled'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface QueueJobTable {
  id: string;
  queue: string;
  data_json: string;
  state: QueueState;
  dedupe_key: string | null;
  group_key: string | null;
  /** Times the job was started (fetched); the first run is attempt 1. */
  attempts: number;
  /** Retries after the first attempt. */
  retry_limit: number;
  retry_delay_seconds: number;
  retry_backoff: number;
  lease_seconds: number;
  start_after: string;
  lease_owner: string | null;
  lease_until: string | null;
  last_error_json: string | null;
  output_json: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
}

export interface JobScheduleTable {
  instance_id: string;
  cron: string;
  time_zone: string;
  /** ISO time of the last slot fired (or skipped by the catch-up policy). */
  last_slot: string | null;
  updated_at: string;
}

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface NotificationDeliveryTable {
  id: string;
  job_id: string;
  /** `email` or `webhook`. */
  channel: string;
  /** Email addresses or the webhook URL. */
  target: string;
  /** `succeeded`, `partial` or `failed`. */
  event: string;
  status: DeliveryStatus;
  attempts: number;
  response_status: number | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

export type QueueJobRow = Selectable<QueueJobTable>;
export type NewQueueJobRow = Insertable<QueueJobTable>;
export type JobScheduleRow = Selectable<JobScheduleTable>;
export type NotificationDeliveryRow = Selectable<NotificationDeliveryTable>;
