/**
 * The `JobQueue` on PostgreSQL: pg-boss 10 (STACK.md: 11+ needs Node 22). pg-boss owns its schema and its
 * connection pool; we use its send/fetch/complete/fail/cancel/retry and add, in a few statements on its own
 * tables, the three things pg-boss 10 lacks:
 * - heartbeats (pg-boss has only `expireIn`): a heartbeat moves `started_on`, which restarts the expiry;
 * - unrecoverable failures: `retry_limit` is set to the retries used before `fail`, so pg-boss fails for good;
 * - serialisation groups: pg-boss's `singleton` policy blocks the whole queue behind one busy key, so a group
 *   lock row (`datasync_group_lock`, in pg-boss's schema) is taken after a fetch; a job whose group is busy is
 *   put back a few seconds later without counting as an attempt.
 * Lease expiry is pg-boss's own `expire()`, run at most once a second by fetching workers so a dead worker's
 * job is taken over within its lease plus a second (its supervisor alone runs only every maintenance interval).
 */
import { createHash } from 'node:crypto';
import PgBoss from 'pg-boss';
import {
  SEND_DEFAULTS,
  type JobData,
  type JobQueue,
  type LeasedJob,
  type QueueError,
  type QueueJob,
  type QueueJobState,
  type SendOptions,
} from './job-queue.js';

export interface PgBossQueueOptions {
  /** `postgres://` URL. */
  connectionString: string;
  /** PostgreSQL schema pg-boss creates and owns. Default `pgboss`. */
  schema?: string;
  /** Pool size of pg-boss. Default 4. */
  poolSize?: number;
  /** Seconds a job whose group is busy waits before it is offered again. Default 2. */
  groupDeferSeconds?: number;
  /** Run pg-boss's maintenance (archive, purge, expire) on a timer; off in short-lived CLI processes. Default true. */
  supervise?: boolean;
  /** Lease of a sent job when the sender names none (config `jobs.leaseSeconds`). Default SEND_DEFAULTS'. */
  leaseSeconds?: number;
}

/** A UUID derived from the queue and a dedupe key: pg-boss's `ON CONFLICT DO NOTHING` on (name, id) dedupes. */
export function dedupeUuid(queue: string, key: string): string {
  const h = createHash('sha256').update(`${queue}\0${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const LEASE_EXPIRED: QueueError = { code: 'DS_JOB_LEASE_EXPIRED', message: 'the worker stopped answering' };

function toQueueError(output: unknown): QueueError | null {
  if (!output || typeof output !== 'object') return null;
  const o = output as { code?: unknown; message?: unknown; value?: { message?: unknown } };
  if (typeof o.code === 'string') return { code: o.code, message: String(o.message ?? '') };
  // pg-boss's own expiry writes { value: { message: "job failed by timeout in active state" } }.
  if (o.value && typeof o.value.message === 'string') return LEASE_EXPIRED;
  return null;
}

export class PgBossJobQueue implements JobQueue {
  readonly backend = 'pg-boss' as const;
  private readonly boss: PgBoss;
  private readonly schema: string;
  private readonly queues = new Set<string>();
  private started?: Promise<void>;
  private stopped = false;
  private lastExpire = 0;

  constructor(private readonly opts: PgBossQueueOptions) {
    this.schema = opts.schema ?? 'pgboss';
    if (!/^[a-z_][a-z0-9_]*$/.test(this.schema)) throw new Error(`bad pg-boss schema name ${this.schema}`);
    this.boss = new PgBoss({
      connectionString: opts.connectionString,
      schema: this.schema,
      max: opts.poolSize ?? 4,
      // Our scheduler (croner + injected clock) decides when runs happen; pg-boss's cron is not used.
      schedule: false,
      supervise: opts.supervise ?? true,
      application_name: 'datasync',
    });
    // pg-boss reports background errors (maintenance, lost connections) as events; without a listener they
    // would crash the process. Workers see the same failures on their next call.
    this.boss.on('error', () => {});
  }

  start(): Promise<void> {
    return (this.started ??= (async () => {
      await this.boss.start();
      try {
        await this.sql(
          `CREATE TABLE IF NOT EXISTS ${this.schema}.datasync_group_lock (
             queue text NOT NULL, group_key text NOT NULL, job_id uuid NOT NULL,
             lease_until timestamptz NOT NULL, PRIMARY KEY (queue, group_key))`,
        );
      } catch (e) {
        // Nodes starting together: IF NOT EXISTS is not race-free in PostgreSQL; the loser of the race gets
        // a unique violation on the catalog (23505) or "already exists" (42P07), and the table is there.
        const code = (e as { code?: string }).code;
        if (code !== '23505' && code !== '42P07') throw e;
      }
    })());
  }

  async stop(): Promise<void> {
    if (!this.started || this.stopped) return;
    this.stopped = true;
    await this.started.catch(() => {});
    await this.boss.stop({ graceful: false, wait: true, close: true });
  }

  private async sql(text: string, values: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    return (await this.boss.getDb().executeSql(text, values)).rows as Array<Record<string, unknown>>;
  }

  async createQueue(queue: string): Promise<void> {
    if (this.queues.has(queue)) return;
    await this.start();
    // Nodes starting together race to create the queue: the loser gets a duplicate key or, inside pg-boss's
    // partition creation, a deadlock; once the winner commits the queue is there. A few tries settle it.
    for (let attempt = 1; !(await this.boss.getQueue(queue)); attempt++) {
      try {
        await this.boss.createQueue(queue, { name: queue, policy: 'standard' });
      } catch (e) {
        if (attempt >= 5) throw e;
        await new Promise((r) => setTimeout(r, 100 * attempt + Math.random() * 200));
      }
    }
    this.queues.add(queue);
  }

  async send(queue: string, data: JobData, opts: SendOptions = {}): Promise<string | null> {
    await this.createQueue(queue);
    const sendOpts: PgBoss.SendOptions = {
      retryLimit: opts.retryLimit ?? SEND_DEFAULTS.retryLimit,
      retryDelay: opts.retryDelaySeconds ?? SEND_DEFAULTS.retryDelaySeconds,
      retryBackoff: opts.retryBackoff ?? SEND_DEFAULTS.retryBackoff,
      expireInSeconds: opts.leaseSeconds ?? this.opts.leaseSeconds ?? SEND_DEFAULTS.leaseSeconds,
    };
    if (opts.startAfter) sendOpts.startAfter = opts.startAfter;
    // The group lives in singleton_key: with the `standard` policy pg-boss attaches no uniqueness to it.
    if (opts.group) sendOpts.singletonKey = opts.group;
    if (opts.dedupeKey) sendOpts.id = dedupeUuid(queue, opts.dedupeKey);
    return this.boss.send(queue, data, sendOpts);
  }

  private async expireLeases(): Promise<void> {
    if (Date.now() - this.lastExpire < 1000) return;
    this.lastExpire = Date.now();
    await this.boss.expire();
  }

  async fetch(queue: string, _workerId: string): Promise<LeasedJob | null> {
    await this.createQueue(queue);
    await this.expireLeases();
    // Bounded: each deferred job moves out of the way, so the next fetch sees the job behind it.
    for (let i = 0; i < 10; i++) {
      const [job] = await this.boss.fetch<JobData>(queue, { includeMetadata: true, batchSize: 1 });
      if (!job) return null;
      // pg-boss reads `expire_seconds` back as PostgreSQL numeric text ("300.000000"), whatever its typings say.
      const leaseSeconds = Number(job.expireInSeconds);
      const leased = { ...this.toJob(job), leaseSeconds } as LeasedJob;
      if (!job.singletonKey || (await this.lockGroup(queue, job.singletonKey, job.id, leaseSeconds)))
        return leased;
      await this.sql(
        // Undo what the fetch counted: it set started_on on a first run, or bumped retry_count on a re-run.
        `UPDATE ${this.schema}.job SET
           state = CASE WHEN retry_count = 0 THEN 'created' ELSE 'retry' END::${this.schema}.job_state,
           started_on = CASE WHEN retry_count = 0 THEN NULL ELSE started_on END,
           retry_count = GREATEST(retry_count - 1, 0),
           start_after = now() + $3 * interval '1 second'
         WHERE name = $1 AND id = $2 AND state = 'active'`,
        [queue, job.id, this.opts.groupDeferSeconds ?? 2],
      );
    }
    return null;
  }

  /** Takes the group lock for a job; a lock whose job is no longer active (ended, expired) is free. */
  private async lockGroup(
    queue: string,
    group: string,
    jobId: string,
    leaseSeconds: number,
  ): Promise<boolean> {
    const t = `${this.schema}.datasync_group_lock`;
    const rows = await this.sql(
      `INSERT INTO ${t} (queue, group_key, job_id, lease_until)
       VALUES ($1, $2, $3, now() + $4 * interval '1 second')
       ON CONFLICT (queue, group_key) DO UPDATE SET job_id = excluded.job_id, lease_until = excluded.lease_until
       WHERE ${t}.job_id = excluded.job_id OR ${t}.lease_until < now() OR NOT EXISTS (
         SELECT 1 FROM ${this.schema}.job j WHERE j.name = ${t}.queue AND j.id = ${t}.job_id AND j.state = 'active')
       RETURNING job_id`,
      [queue, group, jobId, leaseSeconds],
    );
    return rows.length === 1;
  }

  private async unlockGroup(queue: string, jobId: string): Promise<void> {
    await this.sql(`DELETE FROM ${this.schema}.datasync_group_lock WHERE queue = $1 AND job_id = $2`, [
      queue,
      jobId,
    ]);
  }

  async heartbeat(queue: string, id: string): Promise<boolean> {
    await this.start();
    const rows = await this.sql(
      `UPDATE ${this.schema}.job SET started_on = now()
       WHERE name = $1 AND id = $2 AND state = 'active' RETURNING expire_in`,
      [queue, id],
    );
    if (rows.length !== 1) return false;
    await this.sql(
      `UPDATE ${this.schema}.datasync_group_lock SET lease_until = now() + $3::interval
       WHERE queue = $1 AND job_id = $2`,
      [queue, id, rows[0]!.expire_in],
    );
    return true;
  }

  async complete(queue: string, id: string, output?: JobData): Promise<void> {
    await this.boss.complete(queue, id, output ?? {});
    await this.unlockGroup(queue, id);
  }

  async fail(queue: string, id: string, error: QueueError, opts: { retryable: boolean }): Promise<void> {
    if (!opts.retryable)
      await this.sql(
        `UPDATE ${this.schema}.job SET retry_limit = retry_count WHERE name = $1 AND id = $2 AND state = 'active'`,
        [queue, id],
      );
    await this.boss.fail(queue, id, { code: error.code, message: error.message });
    await this.unlockGroup(queue, id);
  }

  async cancel(queue: string, id: string): Promise<boolean> {
    const job = await this.getJob(queue, id);
    if (!job || !['created', 'retry', 'active'].includes(job.state)) return false;
    await this.boss.cancel(queue, id);
    await this.unlockGroup(queue, id);
    return (await this.getJob(queue, id))?.state === 'cancelled';
  }

  async retry(queue: string, id: string): Promise<boolean> {
    const job = await this.getJob(queue, id);
    if (!job) return false;
    if (job.state === 'failed') {
      // A manual retry gets a fresh budget, as in the table queue.
      await this.sql(
        `UPDATE ${this.schema}.job SET retry_limit = retry_count + 1 + $3 WHERE name = $1 AND id = $2`,
        [queue, id, SEND_DEFAULTS.retryLimit],
      );
      await this.boss.retry(queue, id);
    } else if (job.state === 'cancelled') await this.boss.resume(queue, id);
    else return false;
    return true;
  }

  async getJob(queue: string, id: string): Promise<QueueJob | null> {
    await this.createQueue(queue);
    const job = await this.boss.getJobById<JobData>(queue, id, { includeArchive: true });
    return job ? this.toJob(job) : null;
  }

  private toJob(j: PgBoss.JobWithMetadata<JobData>): QueueJob {
    const state = j.state as QueueJobState;
    return {
      id: j.id,
      queue: j.name,
      data: j.data,
      state,
      // retry_count counts re-starts; started_on is set once the job has run at least once.
      attempts: j.startedOn ? j.retryCount + 1 : 0,
      retryLimit: j.retryLimit,
      group: j.singletonKey,
      startAfter: new Date(j.startAfter),
      lastError: state === 'completed' ? null : toQueueError(j.output),
      output: state === 'completed' ? ((j.output as JobData | null) ?? null) : null,
    };
  }
}
