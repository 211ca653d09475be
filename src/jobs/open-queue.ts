/** Picks the queue backend from the store's dialect (CONVENTIONS #3): the table queue on SQLite, pg-boss on PostgreSQL. */
import type { Clock } from '../clock.js';
import type { Store } from '../store/index.js';
import type { JobQueue } from './job-queue.js';
import { PgBossJobQueue } from './pg-boss-queue.js';
import { TableJobQueue } from './table-queue.js';

export interface OpenJobQueueOptions {
  /** The `postgres://` URL of the store (needed for pg-boss, which owns its own pool). */
  databaseUrl?: string;
  /** pg-boss schema. Default `pgboss`. */
  pgBossSchema?: string;
  /** pg-boss maintenance timers; off for short CLI commands. Default true. */
  supervise?: boolean;
  /** Lease of a job whose sender names none, seconds (config `jobs.leaseSeconds`). Default 300. */
  leaseSeconds?: number;
  clock: Clock;
}

export function openJobQueue(store: Pick<Store, 'db' | 'dialect'>, opts: OpenJobQueueOptions): JobQueue {
  if (store.dialect.supportsSkipLocked) {
    if (!opts.databaseUrl) throw new Error('openJobQueue: a PostgreSQL store needs databaseUrl for pg-boss');
    return new PgBossJobQueue({
      connectionString: opts.databaseUrl,
      schema: opts.pgBossSchema ?? 'pgboss',
      supervise: opts.supervise ?? true,
      leaseSeconds: opts.leaseSeconds,
    });
  }
  return new TableJobQueue(store.db, opts.clock, opts.leaseSeconds);
}
