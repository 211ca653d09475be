/**
 * What `datasync serve` (roles `worker`, `scheduler`) and `datasync worker` start: the queue, the workers and
 * the scheduler over one store, stopped in reverse order (scheduler, workers with drain, queue). The store is
 * closed by the caller, last. Also `cancelJob` for the CLI and the API (`retryJob` is in job-retry.ts).
 */
import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '../clock.js';
import { DatasyncError, NotFoundError } from '../errors.js';
import type { Logger } from '../logger.js';
import {
  accountsWithStatisticsExports,
  findJob,
  listInstances,
  markSupersededEvents,
  updateJob,
  type Database,
  type JobRecord,
  type Store,
} from '../store/index.js';
import type { JobQueue } from './job-queue.js';
import { JobWorkers, type JobHandler } from './job-workers.js';
import { openJobQueue } from './open-queue.js';
import { scheduleSchema } from './schedule.js';
import { Scheduler, type ScheduledInstance } from './scheduler.js';
import type { InstanceKind } from '../store/index.js';

export interface StartJobsOptions {
  store: Store;
  /** The store's `postgres://` URL (config.database) when it is PostgreSQL. */
  databaseUrl?: string;
  roles: { worker: boolean; scheduler: boolean };
  handlers: Partial<Record<InstanceKind, JobHandler>>;
  /** Parallel imports (of different accounts). Default 2 (config `jobs.importConcurrency`). */
  importConcurrency?: number;
  /** Drain timeout at stop, seconds. Default 30 (config `jobs.shutdownTimeoutSeconds`). */
  shutdownTimeoutSeconds?: number;
  /** pg-boss schema on PostgreSQL. Default `pgboss`. */
  pgBossSchema?: string;
  /** Lease of a job, seconds: a worker silent this long loses its job to another. Default 300 (`jobs.leaseSeconds`). */
  leaseSeconds?: number;
  /** Workers' idle wait between empty fetches, ms. Default 1000. */
  pollIntervalMs?: number;
  /** Seconds between scheduler ticks. Default 15 (tests with a fast clock tick more often). */
  schedulerTickSeconds?: number;
  /** Seconds between the workers' superseded-mark passes (0 = none). Default 60. */
  markIntervalSeconds?: number;
  clock?: Clock;
  log?: Logger;
}

export interface JobsRuntime {
  queue: JobQueue;
  workers?: JobWorkers;
  scheduler?: Scheduler;
  stop(): Promise<void>;
}

/** Scheduled instances: enabled ones whose definition has a valid `schedule` block. */
export async function scheduledInstancesFromStore(
  db: Kysely<Database>,
  log?: Logger,
): Promise<ScheduledInstance[]> {
  const out: ScheduledInstance[] = [];
  for (const inst of await listInstances(db)) {
    const schedule = (inst.definition as { schedule?: unknown } | null)?.schedule;
    if (!inst.enabled || schedule === undefined) continue;
    const parsed = scheduleSchema.safeParse(schedule);
    if (!parsed.success) {
      log?.warn(
        { instanceId: inst.id, issues: parsed.error.issues },
        'instance schedule is not valid; not scheduled',
      );
      continue;
    }
    out.push({ instanceId: inst.id, accountId: inst.accountId, kind: inst.kind, ...parsed.data });
  }
  return out;
}

export async function startJobs(o: StartJobsOptions): Promise<JobsRuntime> {
  const clock = o.clock ?? systemClock;
  const queue = openJobQueue(o.store, {
    databaseUrl: o.databaseUrl,
    pgBossSchema: o.pgBossSchema,
    leaseSeconds: o.leaseSeconds,
    clock,
  });
  await queue.start();
  let workers: JobWorkers | undefined;
  let scheduler: Scheduler | undefined;
  if (o.roles.worker) {
    workers = new JobWorkers({
      db: o.store.db,
      queue,
      handlers: o.handlers,
      concurrency: { import: o.importConcurrency ?? 2 },
      pollIntervalMs: o.pollIntervalMs,
      clock,
      log: o.log,
    });
    await workers.start();
  }
  const stopMarks = o.roles.worker
    ? startMarkTimer({ db: o.store.db, everySeconds: o.markIntervalSeconds ?? 60, clock, log: o.log })
    : undefined;
  if (o.roles.scheduler) {
    scheduler = new Scheduler({
      db: o.store.db,
      queue,
      clock,
      log: o.log,
      tickSeconds: o.schedulerTickSeconds,
      instances: () => scheduledInstancesFromStore(o.store.db, o.log),
      onFired: () => workers?.wake(),
    });
    scheduler.start();
  }
  let stopping: Promise<void> | undefined;
  return {
    queue,
    workers,
    scheduler,
    stop: () =>
      (stopping ??= (async () => {
        await scheduler?.stop();
        await stopMarks?.();
        await workers?.stop((o.shutdownTimeoutSeconds ?? 30) * 1000);
        await queue.stop();
      })()),
  };
}

/**
 * Keeps the superseded marks of accounts with statistics exports up to a minute behind now, so a daily export
 * marks about a minute of events before reading instead of a day's (store/superseded-marks.ts). The pass
 * stops one interval short of now: a transaction slower than that would commit an event below the horizon.
 * Passes of one account serialize on its horizon row, so every worker may run this.
 */
export function startMarkTimer(o: {
  db: Kysely<Database>;
  everySeconds: number;
  clock: Clock;
  log?: Logger;
}): (() => Promise<void>) | undefined {
  const { clock, db } = o;
  const every = o.everySeconds;
  if (every <= 0) return undefined;
  let running: Promise<void> = Promise.resolve();
  const pass = async () => {
    const horizon = new Date(clock.now().getTime() - every * 1000).toISOString();
    for (const accountId of await accountsWithStatisticsExports(db))
      await markSupersededEvents(db, accountId, horizon);
  };
  const timer = setInterval(() => {
    running = running
      .then(pass)
      .catch((err: unknown) => o.log?.error({ err }, 'superseded mark pass failed'));
  }, every * 1000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** The job, when it exists and is in one of `states`; else DS_JOB_NOT_FOUND / DS_JOB_STATE naming the action. */
async function jobIn(
  db: Kysely<Database>,
  jobId: string,
  states: readonly JobRecord['status'][],
  action: string,
): Promise<JobRecord> {
  const job = await findJob(db, jobId);
  if (!job) throw new NotFoundError(`job ${jobId} does not exist`, { code: 'DS_JOB_NOT_FOUND' });
  if (!states.includes(job.status))
    throw new DatasyncError(
      'DS_JOB_STATE',
      `job ${jobId} is ${job.status}; only ${states.join(' or ')} jobs can be ${action}`,
    );
  return job;
}

/** Cancels a queued or running job (a running one stops at its next heartbeat). */
export async function cancelJob(
  db: Kysely<Database>,
  queue: JobQueue,
  jobId: string,
  at = new Date(),
): Promise<JobRecord> {
  await jobIn(db, jobId, ['queued', 'running'], 'cancelled');
  await updateJob(db, jobId, { status: 'cancelled', ended_at: at.toISOString() });
  // The queue message is found by the workers: a cancelled record is completed without running.
  return (await findJob(db, jobId))!;
}
