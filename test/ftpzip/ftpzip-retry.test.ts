/**
 * `jobs retry` of FTPZIP jobs against the real SMTP sink, on both dialects: an archive that failed at intake runs
 * again from a copy taken back from failed/; a massive send the relay stopped is resumed by the new job (same
 * sending, nobody mailed twice; the stopped job counts what it sent, the new one the whole campaign); a transactional send that started is refused (it cannot be resumed). The new
 * job runs the way the worker runs it: from its queue message, with the record's input path.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { queueOf, retryJobWithReport, type JobQueue } from '../../src/jobs/index.js';
import { addList, findJob, type JobRecord } from '../../src/store/index.js';
import { countRows } from '../helpers/count-rows.js';
import { openTestQueue } from '../helpers/queue.js';
import { DIALECTS } from '../helpers/store.js';
import { campaignZip, startRig, type FtpZipRig } from './ftpzip-harness.js';

describe.each(DIALECTS)('jobs retry of FTPZIP jobs (%s)', (dialect) => {
  let r: FtpZipRig;
  let queue: JobQueue;
  /** Addresses the relay answers 451 (try later) for, until the test clears them. */
  const refused = new Set<string>();
  const start = async () => {
    r = await startRig(dialect, {
      rcptReply: (a) => (refused.has(a) ? { code: 451, message: 'try again later' } : undefined),
    });
    queue = await openTestQueue(r.h.store, r.h.clock);
  };
  afterEach(async () => {
    refused.clear();
    await queue.stop();
    await r.close();
  });

  const retry = (jobId: string) =>
    retryJobWithReport(r.h.store.db, queue, jobId, r.h.clock.now(), {
      files: { dataDir: r.h.dataDir, spaces: r.spaces },
    });

  /** What the worker does with a queued ftpzip message (src/cli/job-roles.ts). */
  async function work(expected: JobRecord) {
    const leased = await queue.fetch(queueOf('ftpzip'), 'test-worker');
    expect(leased?.data).toMatchObject({ jobId: expected.id, kind: 'ftpzip', trigger: 'cli' });
    const record = (await findJob(r.h.store.db, expected.id))!;
    return r.runFile(record.inputPath ?? '', { jobId: record.id, trigger: record.trigger });
  }

  /** The result.json a job left next to its archive in done/. */
  const resultOf = (jobId: string) =>
    JSON.parse(
      fs.readFileSync(
        `${r.spaces.accountRoot(r.seed.accountId)}/import_zip/done/${jobId}_campaign.zip.result.json`,
        'utf8',
      ),
    );

  const mailedTo = () => r.sink.messages.map((m) => JSON.stringify(m.to?.valueOf())).sort();

  it('an archive that failed at intake runs again from a copy of failed/<id>_<name>', async () => {
    await start();
    const old = await r.run(await campaignZip({ listId: '<ListId>9</ListId>' }));
    expect(old).toMatchObject({ status: 'failed', error: { code: 'DS_FTPZIP_LIST_UNKNOWN' } });
    expect(old.inputPath).toBe(`/import_zip/failed/${old.jobId}_campaign.zip`);
    await addList(r.h.store.db, { accountId: r.seed.accountId, listId: 9, name: 'Late list' });

    const re = await retry(old.jobId);
    const copy = r.spaces.processingFile(r.seed.accountId, re.job.id, 'campaign.zip');
    expect(re).toMatchObject({ input: { from: old.inputPath, to: copy }, resumesSending: null });
    expect(re.job).toMatchObject({ status: 'queued', kind: 'ftpzip', inputPath: copy });

    const s = await work(re.job);
    expect(s).toMatchObject({ jobId: re.job.id, status: 'partial', send: 'sent', counters: { sent: 2 } });
    await r.sink.waitFor(2);
    const space = r.spaces.accountRoot(r.seed.accountId);
    expect(s.inputPath).toBe(`/import_zip/done/${re.job.id}_campaign.zip`);
    expect(fs.existsSync(`${space}/import_zip/done/${re.job.id}_campaign.zip.result.json`)).toBe(true);
    expect(fs.existsSync(`${space}${old.inputPath}`)).toBe(true);
    expect(fs.existsSync(copy)).toBe(false);
    await expect(retry(s.jobId)).rejects.toMatchObject({ code: 'DS_JOB_STATE' });
  });

  it('a massive send the relay stopped is resumed by the retry: same sending, nobody mailed twice', async () => {
    await start();
    refused.add('email2@example.com');
    const old = await r.run(await campaignZip());
    expect(old).toMatchObject({ status: 'failed' });
    expect(old.idInvio).not.toBeNull();
    // email1 got it before the relay stopped taking messages for email2.
    await r.sink.waitFor(1);
    const sentEvents = r.h.store.db.selectFrom('events').select('id').where('kind', '=', 'sent');
    expect(await sentEvents.execute()).toHaveLength(1);
    // The stopped job counts the message that went out before it stopped: summary, record and result.json.
    expect(old.counters).toMatchObject({ sent: 1, bounced: 0, imported: 3 });
    expect((await findJob(r.h.store.db, old.jobId))!.counters).toMatchObject({ sent: 1, bounced: 0 });
    expect(resultOf(old.jobId).counters).toMatchObject({ sent: 1 });
    refused.clear();
    const sendings = () => r.h.store.db.selectFrom('sendings').select('id').orderBy('id').execute();
    const sendingsBefore = await sendings();

    const re = await retry(old.jobId);
    expect(re).toMatchObject({ input: null, resumesSending: old.idInvio });
    await expect(retry(old.jobId)).rejects.toThrow(`taken over by job ${re.job.id}`);

    const s = await work(re.job);
    expect(s).toMatchObject({ jobId: re.job.id, resumes: old.jobId, status: 'partial', send: 'sent' });
    // The resumed job counts every message of the campaign (as a resumed CSV2SMS send does); the stopped
    // job's record keeps what it sent.
    expect(s.counters).toMatchObject({ sent: 2, bounced: 0, imported: 3 });
    expect((await findJob(r.h.store.db, re.job.id))!.counters).toMatchObject({ sent: 2 });
    expect((await findJob(r.h.store.db, old.jobId))!.counters).toMatchObject({ sent: 1 });
    await r.sink.waitFor(2);
    expect(mailedTo()).toEqual(
      ['email1@example.com', 'email2@example.com'].map((a) => expect.stringContaining(a)),
    );
    expect(r.sink.messages).toHaveLength(2);
    // The same sending: no new campaign.
    expect(await sendings()).toEqual(sendingsBefore);
    expect(await sentEvents.execute()).toHaveLength(2);
    expect(resultOf(re.job.id)).toMatchObject({
      jobId: re.job.id,
      resumes: old.jobId,
      inputPath: old.inputPath,
      counters: { sent: 2 },
    });
    await expect(retry(re.job.id)).rejects.toMatchObject({ code: 'DS_JOB_STATE' });
  });

  /** The stored counters of the sending numbered `idInvio` (its owner is `jobId`). */
  const sendingCounters = async (idInvio: number | null) => {
    const row = await r.h.store.db
      .selectFrom('sendings')
      .select('counters_json')
      .where('sending_number', '=', idInvio!)
      .executeTakeFirstOrThrow();
    return JSON.parse(row.counters_json ?? '{}') as Record<string, unknown>;
  };

  it('a stopped send keeps its owner: only the job that stopped it last can hand it on, to one retry', async () => {
    await start();
    refused.add('email2@example.com');
    const old = await r.run(await campaignZip());
    expect(old).toMatchObject({ status: 'failed' });
    // The stopped run's counters are merged with the owner, not written over it.
    expect(await sendingCounters(old.idInvio)).toMatchObject({ jobId: old.jobId, sent: 1 });

    const re = await retry(old.jobId);
    expect(re).toMatchObject({ resumesSending: old.idInvio });
    // The relay still refuses email2: the resumed send stops too, and stays the retry's.
    const s = await work(re.job);
    expect(s).toMatchObject({ jobId: re.job.id, status: 'failed' });
    expect(await sendingCounters(old.idInvio)).toMatchObject({ jobId: re.job.id });
    const jobs = await countRows(r.h.store.db, 'jobs');

    // The first job lost the send when it was taken over: retrying it again is refused, whoever stopped last.
    const stale = retry(old.jobId);
    await expect(stale).rejects.toMatchObject({ code: 'DS_JOB_STATE' });
    await expect(stale).rejects.toThrow(`taken over by job ${re.job.id}`);
    expect(await countRows(r.h.store.db, 'jobs')).toBe(jobs);

    // Two retries of the owner at once: one takes the send over, the other is refused.
    refused.clear();
    const both = await Promise.allSettled([retry(re.job.id), retry(re.job.id)]);
    const won = both.filter((b) => b.status === 'fulfilled');
    const lost = both.filter((b) => b.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({ code: 'DS_JOB_STATE' });
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof retry>>>).value;
    expect(String(lost[0]!.reason.message)).toContain(`taken over by job ${winner.job.id}`);
    expect(await countRows(r.h.store.db, 'jobs')).toBe(jobs + 1);

    const done = await work(winner.job);
    expect(done).toMatchObject({
      jobId: winner.job.id,
      status: 'partial',
      send: 'sent',
      counters: { sent: 2 },
    });
    await r.sink.waitFor(2);
    expect(r.sink.messages).toHaveLength(2);
    expect(await sendingCounters(old.idInvio)).toMatchObject({ jobId: winner.job.id, sent: 1 });
  });

  it('a transactional send that started is refused: it cannot be resumed', async () => {
    await start();
    refused.add('email2@example.com');
    const old = await r.run(await campaignZip({ extraAdvanced: '<SendType>transactional</SendType>' }));
    expect(old).toMatchObject({ status: 'failed' });
    expect(old.idInvio).not.toBeNull();
    // The message email1 got before the relay stopped is counted.
    await r.sink.waitFor(1);
    expect(old.counters).toMatchObject({ sent: 1, bounced: 0 });
    expect((await findJob(r.h.store.db, old.jobId))!.counters).toMatchObject({ sent: 1 });
    const jobs = await r.h.store.db.selectFrom('jobs').select('id').execute();
    const refusal = retry(old.jobId);
    await expect(refusal).rejects.toMatchObject({ code: 'DS_JOB_STATE' });
    await expect(refusal).rejects.toThrow(/cannot be resumed.*twice/);
    expect(await r.h.store.db.selectFrom('jobs').select('id').execute()).toEqual(jobs);
  });
});
