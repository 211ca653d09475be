/**
 * `jobs retry` of CSV2SMS jobs against the real SMSC, on both dialects: a file that failed at intake runs again
 * from a copy of its input (taken back from failed/), and a send that stopped midway is resumed by the new job
 * — same campaign, and nobody gets the message twice. The new job is run the way the worker runs it: from its
 * queue message, with the record's input path.
 *
 * A database failure at the end of the intake (injected once on the real store, FailFirstUpdate) ends the same
 * way: each SMS goes out exactly once, in one campaign. The plan save is part of the intake transaction, so its
 * failure leaves nothing (numbers, campaign, claimed code) and the retry runs the file again; a failure after
 * the intake committed is a send stopped before its first SMS, which the retry resumes.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queueOf, retryJobWithReport, type JobQueue } from '../../src/jobs/index.js';
import { runCsv2Sms, sendScheduledSms } from '../../src/sms/index.js';
import { addList, findJob, type JobRecord } from '../../src/store/index.js';
import { findSmsCode } from '../../src/store/sms-campaigns.repository.js';
import { countRows } from '../helpers/count-rows.js';
import { FailFirstUpdate } from '../helpers/fail-first-update.js';
import { openTestQueue } from '../helpers/queue.js';
import { DIALECTS } from '../helpers/store.js';
import { openFixture, SAMPLE_HEADER, type Fixture } from './csv2sms-fixture.js';

describe.each(DIALECTS)('jobs retry of CSV2SMS jobs (%s)', (dialect) => {
  let f: Fixture;
  let queue: JobQueue;
  beforeEach(async () => {
    f = await openFixture(dialect);
    queue = await openTestQueue(f.store, f.clock);
  });
  afterEach(async () => {
    await queue.stop();
    await f.close();
  });

  const retry = (jobId: string) =>
    retryJobWithReport(f.store.db, queue, jobId, f.clock.now(), {
      files: { dataDir: f.store.dir, spaces: f.spaces },
    });

  /** What the worker does with a queued csv2sms message (src/cli/job-roles.ts). */
  async function work(expected: JobRecord) {
    const leased = await queue.fetch(queueOf('csv2sms'), 'test-worker');
    expect(leased?.data).toMatchObject({ jobId: expected.id, kind: 'csv2sms', trigger: 'cli' });
    const record = (await findJob(f.store.db, expected.id))!;
    return runCsv2Sms({
      ...f.deps,
      file: record.inputPath ?? '',
      accountId: record.accountId,
      options: { ...f.deps.options, jobId: record.id, trigger: record.trigger },
    });
  }

  const sentCount = async () =>
    (await f.store.db.selectFrom('events').select('id').where('kind', '=', 'sent').execute()).length;

  it('a file that failed at intake runs again from a copy of failed/<id>_<name>; a finished one is refused', async () => {
    const unknownList = SAMPLE_HEADER.map((r, i) => (i === 4 ? '#77' : r));
    const old = await runCsv2Sms({ ...f.deps, file: f.drop('u.csv', unknownList), accountId: 'acme' });
    expect(old).toMatchObject({ status: 'failed', error: { code: 'DS_LIST_UNKNOWN' } });
    expect(old.inputPath).toBe(`/sms/failed/${old.jobId}_u.csv`);
    // The operator fixes the cause, then retries.
    await addList(f.store.db, { accountId: 'acme', listId: 77, name: 'Late list', mobilePrefix: '39' });

    const r = await retry(old.jobId);
    const copy = f.spaces.processingFile('acme', r.job.id, 'u.csv');
    expect(r).toMatchObject({
      retryOf: old.jobId,
      input: { from: `/sms/failed/${old.jobId}_u.csv`, to: copy },
      resumesSending: null,
    });
    expect(r.job).toMatchObject({ status: 'queued', kind: 'csv2sms', inputName: 'u.csv', inputPath: copy });
    expect(fs.readFileSync(copy)).toEqual(fs.readFileSync(f.disk(old.inputPath!)));

    const s = await work(r.job);
    expect(s).toMatchObject({ jobId: r.job.id, status: 'succeeded', send: 'sent', counters: { sent: 2 } });
    expect(f.smsc.submits).toHaveLength(2);
    // Results in /sms like any upload, under the new id; the old job's files stay as its history.
    expect(s.inputPath).toBe(`/sms/done/${r.job.id}_u.csv`);
    expect(fs.existsSync(f.disk(`/sms/done/${r.job.id}_u.csv.result.json`))).toBe(true);
    expect(fs.existsSync(f.disk(old.inputPath!))).toBe(true);
    expect(fs.existsSync(copy)).toBe(false);
    expect((await findJob(f.store.db, old.jobId))!.status).toBe('failed');

    // A job that sent its campaign is never run again.
    await expect(retry(s.jobId)).rejects.toMatchObject({ code: 'DS_JOB_STATE' });
    // A file the customer removed since: DS_JOB_INPUT_GONE, and no job.
    fs.rmSync(f.disk(old.inputPath!));
    const jobs = await f.store.db.selectFrom('jobs').select('id').execute();
    await expect(retry(old.jobId)).rejects.toMatchObject({ code: 'DS_JOB_INPUT_GONE' });
    expect(await f.store.db.selectFrom('jobs').select('id').execute()).toEqual(jobs);
    expect(f.smsc.submits).toHaveLength(2);
  });

  it('a send that stopped midway is resumed by the retry: same campaign, nobody messaged twice', async () => {
    const body = [
      'MOBILE NUMBER;TEXT;Field1',
      ...Array.from({ length: 6 }, (_, i) => `39333000000${i};Hi [Field1];n${i}`),
    ];
    f.deps.options = { ...f.deps.options, commitEvery: 1 };
    const provider = f.provider as unknown as { opts: { maxThrottleRetries: number } };
    provider.opts.maxThrottleRetries = 1;
    let stopped = false;
    f.smsc.on('tick', () => {
      if (f.smsc.submits.length === 3 && !stopped) {
        stopped = true;
        f.smsc.throttleNext = 100;
      }
    });
    const old = await runCsv2Sms({
      ...f.deps,
      file: f.drop('t.csv', SAMPLE_HEADER, body),
      accountId: 'acme',
    });
    expect(old).toMatchObject({ status: 'failed', send: 'stopped', error: { code: 'DS_SMS_THROTTLED' } });
    const before = f.smsc.submits.length;
    expect(before).toBeLessThan(6);
    const sentBefore = await sentCount();
    f.smsc.throttleNext = 0;

    const r = await retry(old.jobId);
    expect(r).toMatchObject({ retryOf: old.jobId, input: null, resumesSending: old.idInvio });
    // The send belongs to the new job now: a second retry, or a resume of the old job, is refused.
    const second = retry(old.jobId);
    await expect(second).rejects.toMatchObject({ code: 'DS_JOB_STATE' });
    await expect(second).rejects.toThrow(`taken over by job ${r.job.id}`);
    await expect(sendScheduledSms({ ...f.deps, jobId: old.jobId })).rejects.toMatchObject({
      code: 'DS_SMS_SEND_STATE',
    });
    expect(f.smsc.submits).toHaveLength(before);

    const s = await work(r.job);
    expect(s).toMatchObject({ jobId: r.job.id, status: 'succeeded', send: 'sent', idInvio: old.idInvio });
    expect(s.counters).toMatchObject({ toSend: 6, sent: 6 });
    const destinations = f.smsc.submits.map((x) => x.destination);
    expect(destinations).toHaveLength(6);
    expect(new Set(destinations).size).toBe(6);
    expect(f.smsc.submits.length - before).toBe(6 - sentBefore);
    expect(await sentCount()).toBe(6);
    // One campaign, one sending; the resumed job's result names the job it resumes and reports every row.
    expect(await f.store.db.selectFrom('sendings').select('id').execute()).toHaveLength(1);
    expect(await f.store.db.selectFrom('messages').select('id').execute()).toHaveLength(1);
    const result = JSON.parse(fs.readFileSync(f.disk(s.resultPath!), 'utf8'));
    expect(s.resultPath).toBe(`/sms/done/${r.job.id}_t.csv.result.json`);
    expect(result).toMatchObject({ jobId: r.job.id, resumes: old.jobId, inputPath: old.inputPath });
    expect(result.rows.map((x: { outcome: string }) => x.outcome)).toEqual(Array(6).fill('sent'));
    expect(fs.existsSync(f.disk(old.inputPath!))).toBe(true);

    // Everything is sent: neither job can be run again.
    await expect(retry(old.jobId)).rejects.toMatchObject({ code: 'DS_JOB_STATE' });
    await expect(retry(r.job.id)).rejects.toMatchObject({ code: 'DS_JOB_STATE' });
    expect(f.smsc.submits).toHaveLength(6);
  });

  describe('after a database failure at the end of the intake', () => {
    /** Six numbers, and the sample header's non-duplication code (a second run from the file would be skipped). */
    const BODY = [
      'MOBILE NUMBER;TEXT;Field1',
      ...Array.from({ length: 6 }, (_, i) => `39333000000${i};Hi [Field1];n${i}`),
    ];
    const runFailing = async (failure: FailFirstUpdate) => {
      const s = await runCsv2Sms({
        ...f.deps,
        store: failure.on(f.store),
        file: f.drop('t.csv', SAMPLE_HEADER, BODY),
        accountId: 'acme',
      });
      expect(failure.fired).toBe(true);
      expect(f.smsc.submits).toHaveLength(0);
      return s;
    };

    /** Each of the six numbers got exactly one SMS, recorded once, in one campaign. */
    async function expectEachSentOnce() {
      const destinations = f.smsc.submits.map((x) => x.destination);
      expect(destinations).toHaveLength(6);
      expect(new Set(destinations).size).toBe(6);
      const sent = await f.store.db
        .selectFrom('events')
        .select('recipient_id')
        .where('kind', '=', 'sent')
        .execute();
      expect(new Set(sent.map((e) => e.recipient_id)).size).toBe(sent.length);
      expect(sent).toHaveLength(6);
      expect(await countRows(f.store.db, 'sendings')).toBe(1);
      expect(await countRows(f.store.db, 'messages')).toBe(1);
    }

    it('the plan save fails: nothing of the intake stays, and the retry runs the file once', async () => {
      const old = await runFailing(new FailFirstUpdate('jobs', 'checkpoint_json'));
      expect(old).toMatchObject({ status: 'failed', send: null, idInvio: null });
      expect(old.inputPath).toBe(`/sms/failed/${old.jobId}_t.csv`);
      // One transaction: no number, campaign or claimed code survived the failed plan save.
      expect(await countRows(f.store.db, 'recipients')).toBe(0);
      expect(await countRows(f.store.db, 'sendings')).toBe(0);
      expect(await findSmsCode(f.store.db, 'acme', 'COD1234567')).toBeUndefined();

      const r = await retry(old.jobId);
      expect(r).toMatchObject({ input: { from: old.inputPath }, resumesSending: null });
      const s = await work(r.job);
      expect(s).toMatchObject({ jobId: r.job.id, status: 'succeeded', send: 'sent', counters: { sent: 6 } });
      await expectEachSentOnce();
    });

    it('the first write of the send fails after the intake committed: a stopped send the retry resumes', async () => {
      const old = await runFailing(new FailFirstUpdate('sendings', 'status'));
      // The numbers are imported and the plan kept: the file is done, the send stopped before its first SMS.
      expect(old).toMatchObject({ status: 'failed', send: 'stopped', counters: { toSend: 6, sent: 0 } });
      expect(old.idInvio).not.toBeNull();
      expect(old.inputPath).toBe(`/sms/done/${old.jobId}_t.csv`);
      expect(fs.existsSync(f.disk(old.inputPath!))).toBe(true);

      const r = await retry(old.jobId);
      expect(r).toMatchObject({ input: null, resumesSending: old.idInvio });
      const s = await work(r.job);
      expect(s).toMatchObject({ jobId: r.job.id, status: 'succeeded', send: 'sent', idInvio: old.idInvio });
      expect(s.counters).toMatchObject({ toSend: 6, sent: 6 });
      await expectEachSentOnce();
    });
  });
});
