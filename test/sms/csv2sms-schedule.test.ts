import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findJob } from '../../src/store/index.js';
import { listDueSmsSendings, runCsv2Sms, sendScheduledSms } from '../../src/sms/index.js';
import { DIALECTS } from '../helpers/store.js';
import { openFixture, SAMPLE_HEADER, untilReports, type Fixture } from './csv2sms-fixture.js';

const at = (local: string) => SAMPLE_HEADER.map((r, i) => (i === 1 ? `#${local}` : r));

describe.each(DIALECTS)('CSV2SMS scheduled and queued sends (%s)', (dialect) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture(dialect);
  });
  afterEach(async () => f.close());

  it('a future send time (account zone) waits, then sendScheduledSms sends at that time', async () => {
    // 2026-03-01 12:30 in Rome (CET, +01:00) is 11:30Z; the clock says 10:00Z.
    const s = await runCsv2Sms({
      ...f.deps,
      file: f.drop('later.csv', at('2026-03-01 12:30')),
      accountId: 'acme',
    });
    expect(s).toMatchObject({ status: 'queued', send: 'scheduled', sendAt: '2026-03-01T11:30:00.000Z' });
    expect(f.smsc.submits).toHaveLength(0);
    const job = await findJob(f.store.db, s.jobId);
    expect(job).toMatchObject({ status: 'queued', endedAt: null });
    const row = await f.store.db
      .selectFrom('jobs')
      .select('run_after')
      .where('id', '=', s.jobId)
      .executeTakeFirst();
    expect(row?.run_after).toBe('2026-03-01T11:30:00.000Z');
    const result = JSON.parse(fs.readFileSync(f.disk(s.resultPath!), 'utf8'));
    expect(result).toMatchObject({ status: 'queued', send: 'scheduled' });
    expect(result.rows.map((r: { outcome: string }) => r.outcome)).toEqual(['scheduled', 'scheduled']);

    expect(await listDueSmsSendings(f.store.db, f.clock.now())).toEqual([]);
    await expect(sendScheduledSms({ ...f.deps, jobId: s.jobId })).rejects.toMatchObject({
      code: 'DS_SMS_SEND_STATE',
    });

    f.clock.set('2026-03-01T11:30:00.000Z');
    const due = await listDueSmsSendings(f.store.db, f.clock.now());
    expect(due.map((d) => d.counters.jobId)).toEqual([s.jobId]);
    const sent = await sendScheduledSms({ ...f.deps, jobId: s.jobId });
    expect(sent).toMatchObject({ status: 'succeeded', send: 'sent', counters: { sent: 2 } });
    expect(f.smsc.submits).toHaveLength(2);
    await untilReports(f, 2);
    const after = JSON.parse(fs.readFileSync(f.disk(s.resultPath!), 'utf8'));
    expect(after.rows.map((r: { outcome: string }) => r.outcome)).toEqual(['sent', 'sent']);
    expect(await listDueSmsSendings(f.store.db, f.clock.now())).toEqual([]);
    await expect(sendScheduledSms({ ...f.deps, jobId: s.jobId })).rejects.toMatchObject({
      code: 'DS_SMS_SEND_STATE',
    });
  });

  it('a past send time means now', async () => {
    const s = await runCsv2Sms({
      ...f.deps,
      file: f.drop('past.csv', at('2026-03-01 10:59')),
      accountId: 'acme',
    });
    expect(s).toMatchObject({ status: 'succeeded', send: 'sent', sendAt: null });
  });

  it('action A only queues: nothing is sent until someone asks', async () => {
    const queueOnly = SAMPLE_HEADER.map((r, i) => (i === 2 ? '#A' : r));
    const s = await runCsv2Sms({ ...f.deps, file: f.drop('queue.csv', queueOnly), accountId: 'acme' });
    expect(s).toMatchObject({ status: 'succeeded', send: 'queued' });
    expect(f.smsc.submits).toHaveLength(0);
    const sending = await f.store.db.selectFrom('sendings').selectAll().executeTakeFirstOrThrow();
    expect(sending.status).toBe('queued');
    const sent = await sendScheduledSms({ ...f.deps, jobId: s.jobId });
    expect(sent).toMatchObject({ status: 'succeeded', send: 'sent' });
    expect(f.smsc.submits).toHaveLength(2);
  });

  it('a send stopped by throttling resumes without sending anything twice', async () => {
    const body = [
      'MOBILE NUMBER;TEXT;Field1',
      ...Array.from({ length: 6 }, (_, i) => `39333000000${i};Hi [Field1];n${i}`),
    ];
    f.deps.options = { ...f.deps.options, commitEvery: 1 };
    const provider = f.provider as unknown as { opts: { maxThrottleRetries: number; windowSize: number } };
    provider.opts.maxThrottleRetries = 1;
    f.smsc.on('tick', () => {
      if (f.smsc.submits.length === 3 && f.smsc.throttleNext === 0 && !stopped) {
        stopped = true;
        f.smsc.throttleNext = 100;
      }
    });
    let stopped = false;
    const s = await runCsv2Sms({ ...f.deps, file: f.drop('t.csv', SAMPLE_HEADER, body), accountId: 'acme' });
    expect(s).toMatchObject({ status: 'failed', send: 'stopped', error: { code: 'DS_SMS_THROTTLED' } });
    const before = f.smsc.submits.length;
    expect(before).toBeGreaterThanOrEqual(3);
    expect(before).toBeLessThan(6);
    f.smsc.throttleNext = 0;
    const resumed = await sendScheduledSms({ ...f.deps, jobId: s.jobId });
    expect(resumed).toMatchObject({ status: 'succeeded', send: 'sent', counters: { sent: 6 } });
    const destinations = f.smsc.submits.map((x) => x.destination);
    expect(new Set(destinations).size).toBe(6);
    expect(destinations).toHaveLength(6);
    const sentEvents = await f.store.db
      .selectFrom('events')
      .select('id')
      .where('kind', '=', 'sent')
      .execute();
    expect(sentEvents).toHaveLength(6);
  });
});
