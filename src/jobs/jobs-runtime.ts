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
  findJob,
  listInstances,
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
        await workers?.stop((o.shutdownTimeoutSeconds ?? 30) * 1000);
        await queue.stop();
      })()),
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
