/** The scheduler on both dialects: exactly once across schedulers, catch-up policies, no sleeps (ManualClock). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Scheduler, type ScheduledInstance } from '../../src/jobs/scheduler.js';
import { listJobs } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { openJobsEnv, type JobsEnv } from './jobs-harness.js';

const daily: ScheduledInstance = {
  instanceId: 'rome-import',
  accountId: 'acme',
  kind: 'import',
  cron: '0 4 * * *',
  timeZone: 'Europe/Rome',
  catchUp: 'once',
};

describe.each(DIALECTS)('scheduler (%s)', (dialect) => {
  let env: JobsEnv;
  beforeEach(async () => {
    env = await openJobsEnv(dialect, '2026-03-01T10:00:00Z');
  });
  afterEach(async () => env?.cleanup());

  const scheduler = (inst: ScheduledInstance[]) =>
    new Scheduler({ db: env.store.db, queue: env.queue, clock: env.clock, instances: async () => inst });

  it('fires a daily 04:00 Europe/Rome run once, at 03:00Z in winter', async () => {
    const s = scheduler([daily]);
    expect(await s.tick()).toEqual([]);
    env.clock.set('2026-03-02T02:59:59Z');
    expect(await s.tick()).toEqual([]);
    env.clock.set('2026-03-02T03:00:05Z');
    const fired = await s.tick();
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({ slot: new Date('2026-03-02T03:00:00Z'), reason: 'on-time' });
    expect(await s.tick()).toEqual([]);
    const jobs = await listJobs(env.store.db, { instanceId: 'rome-import' });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({
      trigger: 'schedule',
      status: 'queued',
      kind: 'import',
      accountId: 'acme',
    });
  });

  it('every minute for three minutes with three schedulers gives exactly three runs', async () => {
    const inst = { ...daily, instanceId: 'every-minute', cron: '* * * * *' };
    const schedulers = [scheduler([inst]), scheduler([inst]), scheduler([inst])];
    await Promise.all(schedulers.map((s) => s.tick()));
    for (let m = 1; m <= 3; m++) {
      env.clock.advance(60_000);
      await Promise.all(schedulers.map((s) => s.tick()));
    }
    const jobs = await listJobs(env.store.db, { instanceId: 'every-minute' });
    expect(jobs).toHaveLength(3);
  });

  it('runs a missed slot once at start-up with catchUp "once", and not with "skip"', async () => {
    const once = scheduler([daily]);
    await once.tick();
    const skipInst = { ...daily, instanceId: 'skipper', catchUp: 'skip' as const };
    const skip = scheduler([skipInst]);
    await skip.tick();
    // Down for three days; a new scheduler (a restart) ticks.
    env.clock.set('2026-03-04T09:00:00Z');
    const afterRestart = scheduler([daily, skipInst]);
    const fired = await afterRestart.tick();
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({
      instanceId: 'rome-import',
      reason: 'catch-up',
      slot: new Date('2026-03-04T03:00:00Z'),
    });
    expect(await afterRestart.tick()).toEqual([]);
    env.clock.set('2026-03-05T03:00:30Z');
    expect((await afterRestart.tick()).map((r) => r.instanceId).sort()).toEqual(['rome-import', 'skipper']);
  });

  it('runs a 02:30 daily job once across the fall-back night', async () => {
    env.clock.set('2026-10-24T12:00:00Z');
    const s = scheduler([{ ...daily, instanceId: 'night', cron: '30 2 * * *' }]);
    await s.tick();
    let runs = 0;
    // Tick every 5 minutes through the night of 25 October (02:00-03:00 happens twice).
    for (let t = Date.parse('2026-10-24T22:00:00Z'); t <= Date.parse('2026-10-25T04:00:00Z'); t += 300_000) {
      env.clock.set(new Date(t));
      runs += (await s.tick()).length;
    }
    expect(runs).toBe(1);
  });
});
