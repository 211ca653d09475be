/** FTPZIP modes end to end: a FULL archive imports, sends and leaves its files; SAVE; scheduled FULL; SEND. */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findJob, listRecipients } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import {
  MARKUP,
  PNG,
  RECIPIENTS,
  buildZip,
  campaignZip,
  listTree,
  settingsXml,
  startRig,
  type FtpZipRig,
} from './ftpzip-harness.js';

describe.each(DIALECTS)('ftpzip modes (%s)', (dialect) => {
  let r: FtpZipRig;
  beforeEach(async () => {
    r = await startRig(dialect);
  });
  afterEach(() => r.close());

  it('FULL: imports Recipients.csv, sends personalised tracked mail with the inline image, writes result files', async () => {
    const zip = await buildZip({
      'Settings.xml': settingsXml(),
      'Markup.htm': MARKUP,
      'logo.png': PNG,
      'Recipients.csv': RECIPIENTS,
      'extra.txt': 'ignored',
    });
    const s = await r.run(zip);
    expect(s.error).toBeNull();
    expect(s).toMatchObject({ status: 'partial', action: 'full', send: 'sent' });
    expect(s.counters).toMatchObject({ rows: 4, imported: 3, rejected: 1, sent: 2 });
    expect(s.rejected[0]).toMatchObject({ line: 5, code: 'DS_EMAIL_INVALID' });

    const mails = await r.sink.waitFor(2);
    const m2 = mails.find((m) => JSON.stringify(m.to).includes('email2@example.com'))!;
    // The second row of email2 updated the same recipient: Mark Key.
    expect(m2.subject).toBe('Hello Mark & co');
    expect(String(m2.html)).toContain('Hi Mark Key');
    const img = m2.attachments.find((a) => a.contentType === 'image/png')!;
    expect(img.content.equals(PNG)).toBe(true);
    expect(String(m2.html)).toContain(`src="cid:${img.cid}"`);
    const click = /href="([^"]*\/t\/c\/[^"]+)"/.exec(String(m2.html))![1]!;
    const res = await fetch(click, { redirect: 'manual' });
    expect(res.headers.get('location')).toBe('https://shop.example.com/offer?utm_source=ftpzip');

    const recips = await listRecipients(r.h.store.db, r.seed.accountId, { listId: 1 } as never);
    expect(JSON.stringify(recips)).toContain('email1@example.com');
    const job = await findJob(r.h.store.db, s.jobId);
    expect(job).toMatchObject({ kind: 'ftpzip', status: 'partial' });
    const space = r.spaces.accountRoot(r.seed.accountId);
    expect(listTree(space)).toEqual([
      `import_zip/done/${s.jobId}_campaign.zip`,
      `import_zip/done/${s.jobId}_campaign.zip.result.json`,
    ]);
    const result = JSON.parse(
      fs.readFileSync(`${space}/import_zip/done/${s.jobId}_campaign.zip.result.json`, 'utf8'),
    );
    expect(result).toMatchObject({
      status: 'partial',
      counters: { sent: 2 },
      idNl: s.idNl,
      idInvio: s.idInvio,
    });
  });

  it('SAVE creates the message only; a scheduled FULL waits and sends when due', async () => {
    const save = await r.run(
      await buildZip({
        'Settings.xml': settingsXml({ action: 'save' }),
        'Markup.htm': MARKUP,
        'logo.png': PNG,
      }),
      'save.zip',
    );
    expect(save).toMatchObject({ status: 'succeeded', send: null });
    expect(save.idNl).toBeGreaterThan(0);

    // Harness clock: 2026-03-01T10:00Z; 12:30 in Rome (UTC+1 in March before DST) = 11:30Z.
    const sched = await r.run(
      await campaignZip({ schedule: '2026-03-01T12:30:00.000' }, '111\nsched@example.com\n'),
      'sched.zip',
    );
    expect(sched).toMatchObject({ status: 'queued', send: 'scheduled', sendAt: '2026-03-01T11:30:00.000Z' });
    expect(r.sink.messages).toHaveLength(0);
    expect((await findJob(r.h.store.db, sched.jobId))?.status).toBe('queued');
    const sent = await r.sendScheduled(sched.jobId);
    expect(sent).toMatchObject({ status: 'succeeded', send: 'sent', counters: { sent: 1 } });
    await r.sink.waitFor(1);
  });

  it('SEND sends a copy of an existing message to the recipients of the archive', async () => {
    const s = await r.run(
      await buildZip({
        'Settings.xml': settingsXml({ action: 'send', messageId: String(r.seed.idNl) }),
        'Recipients.csv': '111;1\nsend@example.com;Sam\n',
      }),
      'send.zip',
    );
    expect(s.error).toBeNull();
    expect(s).toMatchObject({ status: 'succeeded', send: 'sent', counters: { sent: 1 } });
    expect(s.idNl).not.toBe(r.seed.idNl);
    const [m] = await r.sink.waitFor(1);
    expect(m!.subject).toBe('Hello Sam & co');
  });
});
