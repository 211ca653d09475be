/**
 * The `JobQueue` port (CONVENTIONS #5): a durable queue of plain-data jobs with leases, retries with
 * exponential backoff, deduplication keys and serialisation groups. Two backends pass one conformance suite
 * (test/jobs/queue-conformance.test.ts): `TableJobQueue` (a table in the store; the embedded SQLite default)
 * and `PgBossJobQueue` (pg-boss 10 on PostgreSQL). Neither exposes connections or transactions.
 *
 * Semantics shared by both:
 * - a fetched job is `active` and leased to the fetching worker for `leaseSeconds`; `heartbeat()` extends it;
 * - a lease that runs out makes the job available again (a retry: it counts as an attempt);
 * - `fail(..., { retryable: true })` retries after `retryDelaySeconds`, doubled per attempt when
 *   `retryBackoff`, until `retryLimit` retries are used; then, or at once when not retryable, it is `failed`
 *   with the last error kept;
 * - `dedupeKey`: a second `send` with the same key on the same queue returns null and creates nothing;
 * - `group`: at most one job of a group is active at a time (imports of one account, reference §2.10 item 7).
 */

/** Plain JSON data; a job carries ids and paths, never services (CONVENTIONS #12). */
export type JobData = Record<string, unknown>;

export const QUEUE_JOB_STATES = ['created', 'retry', 'active', 'completed', 'failed', 'cancelled'] as const;
export type QueueJobState = (typeof QUEUE_JOB_STATES)[number];

export interface SendOptions {
  /** Retries after the first attempt. Default 3. */
  retryLimit?: number;
  /** Seconds before the first retry. Default 10. */
  retryDelaySeconds?: number;
  /** Double the delay after each retry (with jitter on pg-boss). Default true. */
  retryBackoff?: boolean;
  /** Seconds a worker holds a fetched job without a heartbeat before another may take it. Default 300. */
  leaseSeconds?: number;
  /** Not before this time. Default now. */
  startAfter?: Date;
  /** Deduplication key (see the module comment). */
  dedupeKey?: string;
  /** Serialisation group (see the module comment). */
  group?: string;
}

export interface QueueError {
  code: string;
  message: string;
}

/** A job as the queue knows it. */
export interface QueueJob<T extends JobData = JobData> {
  id: string;
  queue: string;
  data: T;
  state: QueueJobState;
  /** Times started; the first run is attempt 1. */
  attempts: number;
  retryLimit: number;
  group: string | null;
  startAfter: Date;
  lastError: QueueError | null;
  output: JobData | null;
}

/** A job fetched by a worker, leased to it. */
export interface LeasedJob<T extends JobData = JobData> extends QueueJob<T> {
  leaseSeconds: number;
}

export interface JobQueue {
  /** `table` (store table, embedded) or `pg-boss`. */
  readonly backend: 'table' | 'pg-boss';
  /** Idempotent; creates what the backend needs (pg-boss schema). */
  start(): Promise<void>;
  /** Idempotent; does not touch jobs (leases of running jobs simply run out if not completed). */
  stop(): Promise<void>;
  /** Makes sure a queue exists (pg-boss needs it before `send`). Idempotent. */
  createQueue(queue: string): Promise<void>;
  /** Enqueues; resolves the job id, or null when `dedupeKey` matched an existing job. */
  send(queue: string, data: JobData, opts?: SendOptions): Promise<string | null>;
  /** Leases the next available job of the queue to `workerId`, or resolves null. */
  fetch(queue: string, workerId: string): Promise<LeasedJob | null>;
  /** Extends the lease of an active job; false when the job is no longer active (taken over or cancelled). */
  heartbeat(queue: string, id: string): Promise<boolean>;
  complete(queue: string, id: string, output?: JobData): Promise<void>;
  fail(queue: string, id: string, error: QueueError, opts: { retryable: boolean }): Promise<void>;
  /** Cancels a job that has not ended; false when it had. */
  cancel(queue: string, id: string): Promise<boolean>;
  /** Queues a `failed` or `cancelled` job again; false when it was in another state. */
  retry(queue: string, id: string): Promise<boolean>;
  getJob(queue: string, id: string): Promise<QueueJob | null>;
}

export const SEND_DEFAULTS = Object.freeze({
  retryLimit: 3,
  retryDelaySeconds: 10,
  retryBackoff: true,
  leaseSeconds: 300,
});

/** Seconds to wait before retry number `retry` (1-based): exponential when `backoff`, capped at one day. */
export function retryDelaySeconds(base: number, backoff: boolean, retry: number): number {
  if (!backoff) return base;
  return Math.min(base * 2 ** Math.max(0, retry - 1), 86_400);
}
