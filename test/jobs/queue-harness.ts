/**
 * The two `JobQueue` backends behind one harness, so the conformance suite runs unchanged on both: the table
 * queue on a fresh SQLite store with a ManualClock, and pg-boss on the test PostgreSQL in a fresh schema.
 * `expireLeases` makes leases run out: the table queue's clock jumps; pg-boss's leases are real time, so the
 * harness waits for the lease (1 s in these tests) by polling `fetch` until the job is offered again.
 */
import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock.js';
import { TableJobQueue } from '../../src/jobs/table-queue.js';
import { PgBossJobQueue } from '../../src/jobs/pg-boss-queue.js';
import type { JobQueue, LeasedJob } from '../../src/jobs/job-queue.js';
import { DATABASE_URL, freshStore, type TestStore } from '../helpers/store.js';

export type QueueBackendName = 'table on sqlite' | 'pg-boss on postgres';
export const QUEUE_BACKENDS: QueueBackendName[] = DATABASE_URL
  ? ['table on sqlite', 'pg-boss on postgres']
  : ['table on sqlite'];

export interface QueueHarness {
  queue: JobQueue;
  /** Returns the next job offered to `workerId` once every active lease has run out. */
  fetchAfterLeaseExpiry(queueName: string, workerId: string): Promise<LeasedJob | null>;
  /** Makes jobs whose start time is up to `seconds` ahead fetchable. */
  fetchAfter(queueName: string, workerId: string, seconds: number): Promise<LeasedJob | null>;
  cleanup(): Promise<void>;
}

/** Polls until `fn` resolves a non-null value or the deadline passes (for real-time leases only). */
export async function eventually<T>(fn: () => Promise<T | null>, ms = 10_000): Promise<T | null> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function openHarness(name: QueueBackendName): Promise<QueueHarness> {
  if (name === 'table on sqlite') {
    const store: TestStore = await freshStore('sqlite');
    const clock = new ManualClock('2026-03-01T10:00:00Z');
    const queue = new TableJobQueue(store.db, clock);
    return {
      queue,
      async fetchAfterLeaseExpiry(q, w) {
        clock.advance(3600_000);
        return queue.fetch(q, w);
      },
      async fetchAfter(q, w, seconds) {
        clock.advance(seconds * 1000 + 1);
        return queue.fetch(q, w);
      },
      cleanup: () => store.cleanup(),
    };
  }
  const schema = `t_pgb_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const queue = new PgBossJobQueue({ connectionString: DATABASE_URL!, schema, supervise: false });
  await queue.start();
  return {
    queue,
    fetchAfterLeaseExpiry: (q, w) => eventually(() => queue.fetch(q, w)),
    fetchAfter: (q, w, seconds) => eventually(() => queue.fetch(q, w), seconds * 1000 + 5000),
    async cleanup() {
      await queue.stop();
      // Not dropped now (see test/helpers/store.ts): global setup removes `t_…` schemas before the next run.
    },
  };
}
