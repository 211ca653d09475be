/**
 * A started job queue on a test store, as `datasync jobs retry` and the workers open it: the table queue on
 * SQLite, pg-boss on PostgreSQL in a schema of its own (named `t_…`, so global set-up drops it next run).
 */
import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../../src/clock.js';
import { openJobQueue, type JobQueue } from '../../src/jobs/index.js';
import type { Store } from '../../src/store/index.js';
import { DATABASE_URL } from './store.js';

export async function openTestQueue(
  store: Pick<Store, 'db' | 'dialect'>,
  clock: Clock = systemClock,
): Promise<JobQueue> {
  const queue = openJobQueue(store, {
    databaseUrl: DATABASE_URL,
    pgBossSchema: `t_pgb_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`,
    supervise: false,
    clock,
  });
  await queue.start();
  return queue;
}
