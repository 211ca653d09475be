/**
 * The embedded `JobQueue`: one table (`queue_jobs`, migration 0004) in the store. Built for SQLite, where
 * one writer at a time makes every single statement atomic; each state change is one conditional UPDATE, so
 * two processes on the same file never both lease a job. Time comes from the injected Clock, so tests move
 * leases and backoffs forward without sleeping.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { DuplicateError } from '../errors.js';
import type { QueueJobRow } from '../store/jobs-tables.js';
import type { Database } from '../store/index.js';
import {
  SEND_DEFAULTS,
  retryDelaySeconds,
  type JobData,
  type JobQueue,
  type LeasedJob,
  type QueueError,
  type QueueJob,
  type SendOptions,
} from './job-queue.js';

const iso = (d: Date) => d.toISOString();
const plus = (d: Date, seconds: number) => new Date(d.getTime() + seconds * 1000);

function rowToJob(r: QueueJobRow): QueueJob {
  return {
    id: r.id,
    queue: r.queue,
    data: JSON.parse(r.data_json) as JobData,
    state: r.state,
    attempts: r.attempts,
    retryLimit: r.retry_limit,
    group: r.group_key,
    startAfter: new Date(r.start_after),
    lastError: r.last_error_json ? (JSON.parse(r.last_error_json) as QueueError) : null,
    output: r.output_json ? (JSON.parse(r.output_json) as JobData) : null,
  };
}

export class TableJobQueue implements JobQueue {
  readonly backend = 'table' as const;
  private readonly db: Kysely<Database>;

  constructor(
    db: Kysely<Database>,
    private readonly clock: Clock,
    /** Lease of a sent job when the sender names none (config `jobs.leaseSeconds`). */
    private readonly defaultLeaseSeconds: number = SEND_DEFAULTS.leaseSeconds,
  ) {
    this.db = db;
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async createQueue(): Promise<void> {}

  async send(queue: string, data: JobData, opts: SendOptions = {}): Promise<string | null> {
    const now = this.clock.now();
    const id = randomUUID();
    try {
      await this.db
        .insertInto('queue_jobs')
        .values({
          id,
          queue,
          data_json: JSON.stringify(data),
          state: 'created',
          dedupe_key: opts.dedupeKey ?? null,
          group_key: opts.group ?? null,
          attempts: 0,
          retry_limit: opts.retryLimit ?? SEND_DEFAULTS.retryLimit,
          retry_delay_seconds: opts.retryDelaySeconds ?? SEND_DEFAULTS.retryDelaySeconds,
          retry_backoff: (opts.retryBackoff ?? SEND_DEFAULTS.retryBackoff) ? 1 : 0,
          lease_seconds: opts.leaseSeconds ?? this.defaultLeaseSeconds,
          start_after: iso(opts.startAfter ?? now),
          lease_owner: null,
          lease_until: null,
          last_error_json: null,
          output_json: null,
          created_at: iso(now),
          started_at: null,
          ended_at: null,
        })
        .execute();
      return id;
    } catch (e) {
      // The unique (queue, dedupe_key) index is the deduplication: the first sender wins.
      if (e instanceof DuplicateError && opts.dedupeKey) return null;
      throw e;
    }
  }

  /**
   * Active jobs whose lease ran out: their worker died or hung. Each such run counts as an attempt, exactly
   * like a retryable failure, so a job that keeps killing its worker ends `failed` instead of looping.
   */
  private async expireLeases(queue: string, now: Date): Promise<void> {
    const expired = await this.db
      .selectFrom('queue_jobs')
      .selectAll()
      .where('queue', '=', queue)
      .where('state', '=', 'active')
      .where('lease_until', '<', iso(now))
      .execute();
    for (const r of expired) {
      await this.endAttempt(
        r,
        { code: 'DS_JOB_LEASE_EXPIRED', message: 'the worker stopped answering' },
        true,
        now,
      );
    }
  }

  async fetch(queue: string, workerId: string): Promise<LeasedJob | null> {
    const now = this.clock.now();
    await this.expireLeases(queue, now);
    // A few candidates, because one whose group is busy must not block the jobs behind it.
    const candidates = await this.db
      .selectFrom('queue_jobs')
      .select(['id', 'group_key', 'lease_seconds'])
      .where('queue', '=', queue)
      .where('state', 'in', ['created', 'retry'])
      .where('start_after', '<=', iso(now))
      .orderBy('start_after')
      .orderBy('created_at')
      .limit(20)
      .execute();
    for (const c of candidates) {
      // One statement: the state check and the group check hold at the moment of the write.
      let upd = this.db
        .updateTable('queue_jobs')
        .set((eb) => ({
          state: 'active',
          attempts: eb('attempts', '+', 1),
          lease_owner: workerId,
          lease_until: iso(plus(now, c.lease_seconds)),
          started_at: iso(now),
        }))
        .where('id', '=', c.id)
        .where('state', 'in', ['created', 'retry']);
      if (c.group_key !== null) {
        const group = c.group_key;
        upd = upd.where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('queue_jobs as a')
                .select('a.id')
                .where('a.queue', '=', queue)
                .where('a.group_key', '=', group)
                .where('a.state', '=', 'active'),
            ),
          ),
        );
      }
      const r = await upd.executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) continue;
      const row = await this.db
        .selectFrom('queue_jobs')
        .selectAll()
        .where('id', '=', c.id)
        .executeTakeFirstOrThrow();
      return { ...rowToJob(row), leaseSeconds: row.lease_seconds };
    }
    return null;
  }

  async heartbeat(_queue: string, id: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('queue_jobs')
      .select('lease_seconds')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) return false;
    const r = await this.db
      .updateTable('queue_jobs')
      .set({ lease_until: iso(plus(this.clock.now(), row.lease_seconds)) })
      .where('id', '=', id)
      .where('state', '=', 'active')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async complete(_queue: string, id: string, output?: JobData): Promise<void> {
    await this.db
      .updateTable('queue_jobs')
      .set({
        state: 'completed',
        output_json: output ? JSON.stringify(output) : null,
        lease_owner: null,
        lease_until: null,
        ended_at: iso(this.clock.now()),
      })
      .where('id', '=', id)
      .where('state', '=', 'active')
      .execute();
  }

  async fail(_queue: string, id: string, error: QueueError, opts: { retryable: boolean }): Promise<void> {
    const row = await this.db.selectFrom('queue_jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || row.state !== 'active') return;
    await this.endAttempt(row, error, opts.retryable, this.clock.now());
  }

  /** Ends an active attempt: back to `retry` with a backoff while retries are left, else `failed`. */
  private async endAttempt(
    row: QueueJobRow,
    error: QueueError,
    retryable: boolean,
    now: Date,
  ): Promise<void> {
    const retriesUsed = row.attempts - 1;
    const retry = retryable && retriesUsed < row.retry_limit;
    const delay = retryDelaySeconds(row.retry_delay_seconds, row.retry_backoff === 1, retriesUsed + 1);
    await this.db
      .updateTable('queue_jobs')
      .set({
        state: retry ? 'retry' : 'failed',
        start_after: retry ? iso(plus(now, delay)) : row.start_after,
        last_error_json: JSON.stringify(error),
        lease_owner: null,
        lease_until: null,
        ended_at: retry ? null : iso(now),
      })
      .where('id', '=', row.id)
      .where('state', '=', 'active')
      .where('attempts', '=', row.attempts)
      .execute();
  }

  async cancel(_queue: string, id: string): Promise<boolean> {
    const r = await this.db
      .updateTable('queue_jobs')
      .set({ state: 'cancelled', lease_owner: null, lease_until: null, ended_at: iso(this.clock.now()) })
      .where('id', '=', id)
      .where('state', 'in', ['created', 'retry', 'active'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async retry(_queue: string, id: string): Promise<boolean> {
    // A manual retry starts a fresh budget of attempts, as pg-boss's retry() does.
    const r = await this.db
      .updateTable('queue_jobs')
      .set({ state: 'retry', attempts: 0, start_after: iso(this.clock.now()), ended_at: null })
      .where('id', '=', id)
      .where('state', 'in', ['failed', 'cancelled'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async getJob(_queue: string, id: string): Promise<QueueJob | null> {
    const r = await this.db.selectFrom('queue_jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? rowToJob(r) : null;
  }
}
