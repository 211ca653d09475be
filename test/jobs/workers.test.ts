/** Workers on both dialects: outcomes in job records, retryable vs unrecoverable, one import per account at a time. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseUnavailableError, ImportFileError } from '../../src/errors.js';
import { JobWorkers, enqueueJob, waitForJob, type JobHandler } from '../../src/jobs/index.js';
import { DIALECTS } from '../helpers/store.js';
import { openJobsEnv, type JobsEnv } from './jobs-harness.js';

describe.each(DIALECTS)('job workers (%s)', (dialect) => {
  let env: JobsEnv;
  let workers: JobWorkers | undefined;
  beforeEach(async () => {
    env = await openJobsEnv(dialect);
  });
  afterEach(async () => {
    await workers?.stop(5000);
    workers = undefined;
    await env?.cleanup();
  });

  const start = async (handler: JobHandler, concurrency = 2) => {
    workers = new JobWorkers({
      db: env.store.db,
      queue: env.queue,
      handlers: { import: handler },
      concurrency: { import: concurrency },
      pollIntervalMs: 50,
    });
    await workers.start();
    return workers;
  };
  const enqueue = (accountId = 'acme') =>
    enqueueJob(
      env.store.db,
      env.queue,
      { accountId, instanceId: 'imp', kind: 'import', trigger: 'cli' },
      { retryDelaySeconds: 0, retryBackoff: false, retryLimit: 2 },
    );

  it('records success with counters', async () => {
    const w = await start(async () => ({ status: 'partial', counters: { rows: 3, rejected: 1 } }));
    const job = await enqueue();
    const done = await waitForJob(w, job.id);
    expect(done).toMatchObject({ status: 'partial', counters: { rows: 3, rejected: 1 }, attempts: 1 });
  });

  it('does not retry an unrecoverable error (bad header), and retries a lost database', async () => {
    let calls = 0;
    const w = await start(async (ctx) => {
      calls++;
      if (ctx.record.inputName === null && ctx.message.accountId === 'acme')
        throw new ImportFileError('DS_IMPORT_HEADER_MISSING', 'the file has no header row');
      if (ctx.attempt < 2) throw new DatabaseUnavailableError('connection lost');
      return {};
    });
    const bad = await enqueue('acme');
    const failed = await waitForJob(w, bad.id, ['failed']);
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'DS_IMPORT_HEADER_MISSING' },
    });
    expect(calls).toBe(1);
    const flaky = await enqueue('beta');
    const ok = await waitForJob(w, flaky.id, ['succeeded']);
    expect(ok.attempts).toBe(2);
    expect(ok.error).toBeNull();
  });

  it('runs one import per account at a time, other accounts in parallel', async () => {
    const running = new Map<string, number>();
    let maxSameAccount = 0;
    let maxTotal = 0;
    const release: Array<() => void> = [];
    const w = await start(async (ctx) => {
      const a = ctx.message.accountId;
      running.set(a, (running.get(a) ?? 0) + 1);
      maxSameAccount = Math.max(maxSameAccount, running.get(a)!);
      maxTotal = Math.max(
        maxTotal,
        [...running.values()].reduce((x, y) => x + y, 0),
      );
      await new Promise<void>((r) => release.push(r));
      running.set(a, running.get(a)! - 1);
      return {};
    }, 3);
    const jobs = [await enqueue('acme'), await enqueue('acme'), await enqueue('beta')];
    w.wake();
    // Release jobs as they start, until all three are done.
    const all = Promise.all(jobs.map((j) => waitForJob(w, j.id)));
    let done = false;
    void all.then(() => (done = true));
    while (!done) {
      await new Promise((r) => setTimeout(r, 20));
      release.splice(0).forEach((r) => r());
    }
    expect(maxSameAccount).toBe(1);
    expect(maxTotal).toBeGreaterThanOrEqual(1);
    expect((await all).map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });
});
