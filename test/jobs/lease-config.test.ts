/**
 * `jobs.leaseSeconds`: the configured lease reaches the jobs sent without one, on both queue backends, and the
 * config refuses a lease too short for a worker to renew (heartbeats every third of it).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { openJobQueue } from '../../src/jobs/open-queue.js';
import { DATABASE_URL, DIALECTS, freshStore, type TestStore } from '../helpers/store.js';

const stores: TestStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.cleanup();
});

describe('jobs.leaseSeconds', () => {
  it('defaults to 300 and reads DATASYNC_JOBS__LEASE_SECONDS; under 30 is refused', () => {
    expect(loadConfig({ env: {} }).jobs.leaseSeconds).toBe(300);
    expect(loadConfig({ env: { DATASYNC_JOBS__LEASE_SECONDS: '90' } }).jobs.leaseSeconds).toBe(90);
    expect(() => loadConfig({ env: { DATASYNC_JOBS__LEASE_SECONDS: '5' } })).toThrow(ConfigError);
  });

  for (const dialect of DIALECTS)
    it(`a job sent without a lease gets the configured one, and an explicit one still wins (${dialect})`, async () => {
      const store = await freshStore(dialect);
      stores.push(store);
      const queue = openJobQueue(store, {
        databaseUrl: DATABASE_URL,
        pgBossSchema: `t_lease_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`,
        supervise: false,
        leaseSeconds: 45,
        clock: new ManualClock('2026-03-01T10:00:00Z'),
      });
      await queue.start();
      try {
        const q = `lease-${randomBytes(3).toString('hex')}`;
        await queue.createQueue(q);
        const a = await queue.send(q, { n: 1 });
        const first = await queue.fetch(q, 'w1');
        expect(first).toMatchObject({ id: a, leaseSeconds: 45 });
        const b = await queue.send(q, { n: 2 }, { leaseSeconds: 120 });
        expect(await queue.fetch(q, 'w1')).toMatchObject({ id: b, leaseSeconds: 120 });
      } finally {
        await queue.stop();
      }
    });
});
