/**
 * Workers: fetch datasync jobs from the queue, run the handler of their kind, keep the lease alive with
 * heartbeats, and write every outcome to the job record. Concurrency is per kind (one queue per kind);
 * imports of one account never overlap because the queue serialises their group.
 *
 * Errors (CONVENTIONS #8): an `UnrecoverableJobError` (bad header, wrong encoding, unknown list) fails the job
 * at once; anything else (lost database, I/O) is retried with backoff, and the record shows the last error.
 * Shutdown (`stop`) stops fetching, waits for running jobs up to the drain timeout, and leaves the rest to
 * their leases: another worker, or this one after a restart, takes them over and resumes from the checkpoint.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '../clock.js';
import { UnrecoverableJobError, publicError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  findJob,
  updateJob,
  type Database,
  type InstanceKind,
  type JobRecord,
  type JobStatus,
} from '../store/index.js';
import type { JobQueue, LeasedJob } from './job-queue.js';
import { ensureJobRecord, queueOf, type JobMessage } from './job-records.js';

/** What a handler reports; the record's status becomes `status` (default `succeeded`). */
export interface JobOutcome {
  status?: Extract<JobStatus, 'succeeded' | 'partial' | 'skipped' | 'failed'>;
  counters?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

export interface JobContext {
  message: JobMessage;
  /** The job record as it was when this attempt started (its checkpoint says where to resume). */
  record: JobRecord;
  /** 1 for the first run. */
  attempt: number;
  /** Aborted when the job is cancelled or its lease was lost: stop at the next batch boundary. */
  signal: AbortSignal;
  /** Extends the lease now (workers also do it on a timer); false when the job is no longer ours. */
  heartbeat(): Promise<boolean>;
}

export type JobHandler = (ctx: JobContext) => Promise<JobOutcome | void>;

export interface JobWorkersOptions {
  db: Kysely<Database>;
  queue: JobQueue;
  /** One handler per kind; kinds without a handler are not fetched by this process. */
  handlers: Partial<Record<InstanceKind, JobHandler>>;
  /** Parallel jobs per kind. Default 2 for imports (of different accounts), 1 for the others. */
  concurrency?: Partial<Record<InstanceKind, number>>;
  /** Idle wait between empty fetches, ms. Default 1000. `wake()` cuts it short. */
  pollIntervalMs?: number;
  /** Heartbeat period, ms. Default a third of the job's lease. */
  heartbeatIntervalMs?: number;
  clock?: Clock;
  log?: Logger;
  /** Identifies this process in leases. Default host:pid:random. */
  workerId?: string;
}

export interface JobWorkersEvents {
  /** A job reached a final status (also `failed` after its last retry). */
  ended: [record: JobRecord];
  /** An attempt failed and will be retried. */
  retrying: [record: JobRecord];
}

const FINAL: readonly JobStatus[] = ['succeeded', 'partial', 'failed', 'skipped', 'cancelled'];

export class JobWorkers extends EventEmitter<JobWorkersEvents> {
  readonly workerId: string;
  private readonly clock: Clock;
  private running = new Set<Promise<void>>();
  private loops: Promise<void>[] = [];
  private stopping = false;
  private started = false;
  private stopPromise?: Promise<{ drained: boolean }>;
  private wakers = new Set<() => void>();

  constructor(private readonly opts: JobWorkersOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.workerId = opts.workerId ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  /** Starts one fetch loop per concurrency slot of every kind that has a handler. Idempotent. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const [kind, handler] of Object.entries(this.opts.handlers) as [InstanceKind, JobHandler][]) {
      const queueName = queueOf(kind);
      await this.opts.queue.createQueue(queueName);
      const n = this.opts.concurrency?.[kind] ?? (kind === 'import' ? 2 : 1);
      for (let i = 0; i < n; i++) this.loops.push(this.loop(queueName, handler));
    }
  }

  /** Ends idle waits now (call after enqueueing in this process, so the job starts without polling delay). */
  wake(): void {
    for (const w of this.wakers) w();
  }

  /** Number of jobs running now. */
  get activeCount(): number {
    return this.running.size;
  }

  /**
   * Stops fetching and waits for running jobs up to `timeoutMs`. Resolves `drained: false` when jobs were
   * still running at the timeout: they keep their lease until it runs out and are then taken over. Idempotent.
   */
  stop(timeoutMs = 30_000): Promise<{ drained: boolean }> {
    return (this.stopPromise ??= (async () => {
      this.stopping = true;
      this.wake();
      await Promise.all(this.loops.map((l) => l.catch(() => {})));
      if (this.running.size === 0) return { drained: true };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
      const drained = await Promise.race([Promise.all([...this.running]).then(() => true), timeout]);
      clearTimeout(timer);
      if (!drained)
        this.opts.log?.warn(
          { running: this.running.size },
          'drain timeout: running jobs left to their leases',
        );
      return { drained };
    })());
  }

  private idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wakers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private async loop(queueName: string, handler: JobHandler): Promise<void> {
    while (!this.stopping) {
      let job: LeasedJob | null = null;
      try {
        job = await this.opts.queue.fetch(queueName, this.workerId);
      } catch (err) {
        // The database may be down for a while: keep trying, the jobs are safe in it.
        this.opts.log?.error({ err, queue: queueName }, 'fetch failed');
      }
      if (!job) {
        if (!this.stopping) await this.idle(this.opts.pollIntervalMs ?? 1000);
        continue;
      }
      const p = this.run(queueName, job, handler).catch((err: unknown) =>
        this.opts.log?.error({ err, queueJob: job?.id }, 'job bookkeeping failed; the lease will expire'),
      );
      this.running.add(p);
      try {
        await p;
      } finally {
        this.running.delete(p);
      }
    }
  }

  private async run(queueName: string, job: LeasedJob, handler: JobHandler): Promise<void> {
    const { db, queue } = this.opts;
    const msg = job.data as JobMessage;
    const now = () => this.clock.now().toISOString();
    let record = await ensureJobRecord(db, msg, this.clock.now());
    if (record.status === 'cancelled' || FINAL.includes(record.status)) {
      // Cancelled (or already finished by an earlier attempt that died before telling the queue).
      await queue.complete(queueName, job.id, { status: record.status });
      return;
    }
    await updateJob(db, record.id, {
      status: 'running',
      attempts: job.attempts,
      started_at: record.startedAt ?? now(),
      lease_owner: this.workerId,
    });
    record = (await findJob(db, record.id))!;

    const abort = new AbortController();
    const heartbeat = async () => {
      // A cancel (CLI/API) marks the record; the running handler learns it here and stops.
      const cancelled = (await findJob(db, record.id).catch(() => undefined))?.status === 'cancelled';
      const ok = !cancelled && (await queue.heartbeat(queueName, job.id).catch(() => true));
      if (!ok) abort.abort(new Error('lease lost or job cancelled'));
      return ok;
    };
    const hbTimer = setInterval(
      () => void heartbeat(),
      this.opts.heartbeatIntervalMs ?? (job.leaseSeconds * 1000) / 3,
    );
    try {
      const outcome =
        (await handler({ message: msg, record, attempt: job.attempts, signal: abort.signal, heartbeat })) ??
        {};
      clearInterval(hbTimer);
      const current = await findJob(db, record.id);
      if (current?.status === 'cancelled') {
        await queue.complete(queueName, job.id, { status: 'cancelled' });
        this.emit('ended', current);
        return;
      }
      const status = outcome.status ?? 'succeeded';
      await updateJob(db, record.id, {
        status,
        ...(outcome.counters ? { counters_json: JSON.stringify(outcome.counters) } : {}),
        ...(outcome.result ? { result_json: JSON.stringify(outcome.result) } : {}),
        ...(outcome.error ? { error_code: outcome.error.code, error_message: outcome.error.message } : {}),
        ...(status !== 'failed' && !outcome.error ? { error_code: null, error_message: null } : {}),
        ended_at: now(),
        lease_owner: null,
      });
      await queue.complete(queueName, job.id, { status });
      this.emit('ended', (await findJob(db, record.id))!);
    } catch (e) {
      clearInterval(hbTimer);
      const err = publicError(e);
      const retryable = !(e instanceof UnrecoverableJobError);
      const willRetry = retryable && job.attempts - 1 < job.retryLimit;
      this.opts.log?.[willRetry ? 'warn' : 'error'](
        { err: e, jobId: record.id, attempt: job.attempts },
        'job attempt failed',
      );
      await queue.fail(queueName, job.id, err, { retryable });
      await updateJob(db, record.id, {
        status: willRetry ? 'queued' : 'failed',
        error_code: err.code,
        error_message: err.message,
        ended_at: willRetry ? null : now(),
        lease_owner: null,
      });
      const updated = (await findJob(db, record.id))!;
      this.emit(willRetry ? 'retrying' : 'ended', updated);
    }
  }
}

/** Resolves when the job record reaches one of `statuses` (tests and the CLI wait on this, never on sleeps). */
export function waitForJob(
  workers: JobWorkers,
  jobId: string,
  statuses: readonly JobStatus[] = FINAL,
): Promise<JobRecord> {
  return new Promise((resolve) => {
    const on = (r: JobRecord) => {
      if (r.id === jobId && statuses.includes(r.status)) {
        workers.off('ended', on);
        workers.off('retrying', on);
        resolve(r);
      }
    };
    workers.on('ended', on);
    workers.on('retrying', on);
  });
}
