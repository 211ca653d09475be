/** A fresh store with the queue of its dialect (table queue on SQLite, pg-boss on PostgreSQL) and a ManualClock. */
import { ManualClock } from '../../src/clock.js';
import { openJobQueue } from '../../src/jobs/open-queue.js';
import type { JobQueue } from '../../src/jobs/job-queue.js';
import { createAccount } from '../../src/store/index.js';
import { DATABASE_URL, freshStore, type DialectName, type TestStore } from '../helpers/store.js';

export interface JobsEnv {
  store: TestStore;
  queue: JobQueue;
  clock: ManualClock;
  bossSchema?: string;
  cleanup(): Promise<void>;
}

export async function openJobsEnv(dialect: DialectName, start = '2026-03-01T10:00:00Z'): Promise<JobsEnv> {
  const store = await freshStore(dialect);
  const clock = new ManualClock(start);
  const bossSchema = store.pgSchema ? `${store.pgSchema}_boss` : undefined;
  const queue = openJobQueue(store, {
    databaseUrl: DATABASE_URL,
    pgBossSchema: bossSchema,
    supervise: false,
    clock,
  });
  await queue.start();
  await createAccount(store.db, { id: 'acme', name: 'Acme' });
  await createAccount(store.db, { id: 'beta', name: 'Beta' });
  return {
    store,
    queue,
    clock,
    bossSchema,
    async cleanup() {
      await queue.stop();
      // Not dropped now (see test/helpers/store.ts): global setup removes `t_…` schemas before the next run.
      void bossSchema;
      await store.cleanup();
    },
  };
}
