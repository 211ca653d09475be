/**
 * The counters of a CSV2SMS job whose send stopped after the intake, against the real SMSC on both dialects:
 * sent / refused / parts are what the sending's events record (the same events its result rows come from),
 * not what the run counted in memory or what the plan held at intake. Failures are injected once on the real
 * store (FailFirstUpdate).
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { queueOf, retryJobWithReport, type JobQueue } from '../../src/jobs/index.js';
import { runCsv2Sms } from '../../src/sms/index.js';
import { findJob, type JobRecord } from '../../src/store/index.js';
import { FailFirstUpdate } from '../helpers/fail-first-update.js';
import { openTestQueue } from '../helpers/queue.js';
import { DIALECTS } from '../helpers/store.js';
import { openFixture, SAMPLE_HEADER, type Fixture } from './csv2sms-fixture.js';
import type { SmscOptions } from './smsc-harness.js';

/** Six numbers; the first message is long enough for two parts. */
const BODY = [
  'MOBILE NUMBER;TEXT;Field1',
  `393330000000;Hi [Field1] ${'x'.repeat(170)};n0`,
  ...Array.from({ length: 5 }, (_, i) => `39333000000${i + 1};Hi [Field1];n${i + 1}`),
];

describe.each(DIALECTS)('counters of a CSV2SMS send stopped after the intake (%s)', (dialect) => {
  let f: Fixture;
  let queue: JobQueue;
  const open = async (smsc: SmscOptions = {}) => {
    f = await openFixture(dialect, smsc);
    queue = await openTestQueue(f.store, f.clock);
  };
  afterEach(async () => {
    await queue.stop();
    await f.close();
  });

  const runFailing = async (failure: FailFirstUpdate) => {
    const s = await runCsv2Sms({
      ...f.deps,
      store: failure.on(f.store),
      file: f.drop('t.csv', SAMPLE_HEADER, BODY),
      accountId: 'acme',
    });
    expect(failure.fired).toBe(true);
    return s;
  };

  /** The counters on the job record and in its result.json. */
  const stored = async (s: { jobId: string; resultPath: string | null }) => ({
    record: (await findJob(f.store.db, s.jobId))!.counters,
    result: JSON.parse(fs.readFileSync(f.disk(s.resultPath!), 'utf8')).counters,
  });

  /** Numbers the SMSC got a message for, from its `from`-th submit on (a two-part message is two submits). */
  const messaged = (from: number) => new Set(f.smsc.submits.slice(from).map((x) => x.destination)).size;

  const sentEvents = async () =>
    (await f.store.db.selectFrom('events').select('id').where('kind', '=', 'sent').execute()).length;

  /** What the worker does with the queued message of a `jobs retry` (src/cli/job-roles.ts). */
  async function retryAndWork(jobId: string) {
    const r = await retryJobWithReport(f.store.db, queue, jobId, f.clock.now(), {
      files: { dataDir: f.store.dir, spaces: f.spaces },
    });
    const leased = await queue.fetch(queueOf('csv2sms'), 'test-worker');
    expect(leased?.data).toMatchObject({ jobId: r.job.id });
    const record: JobRecord = (await findJob(f.store.db, r.job.id))!;
    return runCsv2Sms({
      ...f.deps,
      file: record.inputPath ?? '',
      accountId: record.accountId,
      options: { ...f.deps.options, jobId: record.id, trigger: record.trigger },
    });
  }

  it('the last write of the send fails after every SMS went out: sent, refused and parts from the events', async () => {
    // The SMSC refuses the last number (a NACK) and receipts the others (sms_status events that are no outcome).
    await open({ refuse: (d) => (d === '393330000005' ? 0x45 : 0) });
    const old = await runFailing(new FailFirstUpdate('sendings', 'ended_at'));
    expect(old).toMatchObject({ status: 'failed', send: 'stopped' });
    // The refused number is not among the SMSC's accepted submits.
    expect(messaged(0)).toBe(5);
    const submitted = f.smsc.submits.length;
    const counted = { toSend: 6, sent: 5, refused: 1, parts: 6 };
    expect(old.counters).toMatchObject(counted);
    const s = await stored(old);
    expect(s.record).toMatchObject(counted);
    expect(s.result).toMatchObject(counted);

    // The retry sends nothing again and counts the whole campaign the same way.
    const re = await retryAndWork(old.jobId);
    expect(re).toMatchObject({ status: 'partial', send: 'sent', counters: counted });
    expect(f.smsc.submits).toHaveLength(submitted);
  });

  it('a commit of the send fails: the stopped job counts only what was recorded, the retry the whole campaign', async () => {
    await open();
    f.deps.options = { ...f.deps.options, commitEvery: 1 };
    // The first batch's events and counters are one transaction: it rolls back, and the send stops.
    const old = await runFailing(new FailFirstUpdate('sendings', 'counters_json'));
    expect(old).toMatchObject({ status: 'failed', send: 'stopped' });
    const submitted = f.smsc.submits.length;
    const recorded = await sentEvents();
    // The run submitted messages it could not record (at-least-once: the retry sends those again).
    expect(messaged(0)).toBeGreaterThan(recorded);
    const counted = { toSend: 6, sent: recorded, refused: 0 };
    expect(old.counters).toMatchObject(counted);
    const s = await stored(old);
    expect(s.record).toMatchObject(counted);
    expect(s.result).toMatchObject(counted);

    const re = await retryAndWork(old.jobId);
    expect(re).toMatchObject({
      status: 'succeeded',
      send: 'sent',
      counters: { toSend: 6, sent: 6, parts: 7 },
    });
    expect(await sentEvents()).toBe(6);
    // Each number the first run could not record gets the message once more; the recorded ones do not.
    expect(messaged(submitted)).toBe(6 - recorded);
  });
});
