/**
 * End-of-job notifications (reference §5.8): every FTPZIP job that ends mails its job record to NotifyEmail
 * through the jobs' Notifier — success, partial, failure, and a scheduled send only once it is sent — over the
 * real SMTP sink, with the delivery logged.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listDeliveries } from '../../src/jobs/index.js';
import { DIALECTS } from '../helpers/store.js';
import { campaignZip, startRig, type FtpZipRig } from './ftpzip-harness.js';

const notifications = (r: FtpZipRig) =>
  r.sink.messages.filter((m) => m.from?.value[0]?.address === 'datasync@example.com');

describe.each(DIALECTS)('ftpzip notifications (%s)', (dialect) => {
  let r: FtpZipRig;
  beforeEach(async () => {
    r = await startRig(dialect, { notify: true });
  });
  afterEach(() => r.close());

  it('mails the job record to NotifyEmail when a FULL job ends, with counters and rejected rows', async () => {
    const s = await r.run(await campaignZip());
    expect(s.status).toBe('partial');
    await r.sink.waitFor(3); // two campaign messages and the notification
    const [n] = notifications(r);
    expect(n!.to).toMatchObject({ value: [{ address: 'peter@example.com' }] });
    expect(n!.subject).toBe('[datasync] ftpzip: partial');
    expect(n!.text).toContain(`Job: ${s.jobId}`);
    expect(n!.text).toContain('sent: 2');
    expect(n!.text).toContain('line 5: DS_EMAIL_INVALID');
    const log = await listDeliveries(r.h.store.db, s.jobId);
    expect(log).toMatchObject([{ channel: 'email', target: 'peter@example.com', status: 'delivered' }]);
  });

  it('notifies a failure with the reference message; a scheduled send notifies when it is sent', async () => {
    const bad = await r.run(await campaignZip({ listId: '<ListId>9</ListId>' }), 'bad.zip');
    expect(bad.status).toBe('failed');
    await r.sink.waitFor(1);
    const [n] = notifications(r);
    expect(n!.subject).toBe('[datasync] ftpzip: failed');
    expect(n!.text).toContain('List 9, defined in XML file, does not exist (DS_FTPZIP_LIST_UNKNOWN)');

    const sched = await r.run(
      await campaignZip({ schedule: '2026-03-01T12:30:00.000' }, '111\nsched@example.com\n'),
      'sched.zip',
    );
    expect(sched.status).toBe('queued');
    expect(await listDeliveries(r.h.store.db, sched.jobId)).toEqual([]);
    await r.sendScheduled(sched.jobId);
    await r.sink.waitFor(3); // failure notice, the campaign message, the success notice
    expect(notifications(r).map((m) => m.subject)).toEqual([
      '[datasync] ftpzip: failed',
      '[datasync] ftpzip: succeeded',
    ]);
    expect(await listDeliveries(r.h.store.db, sched.jobId)).toMatchObject([{ status: 'delivered' }]);
  });
});
