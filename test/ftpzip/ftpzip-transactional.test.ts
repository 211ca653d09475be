/**
 * Transactional FTPZIP sends (SendType=transactional) against the real SMTP sink: rows mailed at once with
 * their own values (extra columns included), nothing of them imported, KeepDuplicates both ways, unsubscribed
 * addresses skipped, hard bounces through the status rules, and the refusals (attachments, ScheduleDateTime).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setField, setSubscriptionStatus } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { MARKUP, PNG, buildZip, listTree, settingsXml, startRig, type FtpZipRig } from './ftpzip-harness.js';

const TRANSACTIONAL = (keep: boolean) => `<SendType>transactional</SendType>
    <Transactional>
      <Username>sxxxxxxx</Username>
      <Password>secret-password</Password>
      <AggregationCode>agg1</AggregationCode>
      <KeepDuplicates>${keep}</KeepDuplicates>
    </Transactional>`;

const ROWS = `111;1;2;4;FieldUndefinedInMailupAccount1;FieldUndefinedInMailupAccount2
email1@example.com;John;Doe;Male;Dear;Friend
email2@example.com;Jane;Doe;Female;Distinguished;Madam
email2@example.com;Mark;Key;Male;Distinguished;Sir
alice@example.com;Alicia;Stored;Female;Hello;There
bob@example.com;Bob;Gone;Male;Hi;You
not-an-email;Bad;Row;X;a;b
`;

const HTML = `<html><body><p>[FieldUndefinedInMailupAccount1] [FieldUndefinedInMailupAccount2] [1] [FirstName] [2]</p>
<img src="logo.png"><a href="https://shop.example.com/x">x</a></body></html>`;

describe.each(DIALECTS)('ftpzip transactional (%s)', (dialect) => {
  let r: FtpZipRig;
  afterEach(() => r.close());

  async function run(keep: boolean, extra: Record<string, string | Buffer> = {}, xml = {}) {
    return r.run(
      await buildZip({
        'Settings.xml': settingsXml({ extraAdvanced: TRANSACTIONAL(keep), ...xml }),
        'Markup.htm': HTML,
        'logo.png': PNG,
        'Recipients.csv': ROWS,
        ...extra,
      }),
    );
  }

  it('mails each distinct address once with its row values, imports nothing, skips the unsubscribed', async () => {
    r = await startRig(dialect);
    const db = r.h.store.db;
    await setField(db, r.seed.accountId, 1, 'FirstName');
    // bob opted out of list 1: a transactional archive must not mail him nor subscribe him again.
    await setSubscriptionStatus(db, {
      accountId: r.seed.accountId,
      recipientId: r.seed.bob,
      listId: 1,
      channel: 'email',
      status: 'unsubscribed',
      optoutType: '2',
    });
    const s = await run(false);
    expect(s.error).toBeNull();
    expect(s).toMatchObject({ status: 'partial', action: 'full', send: 'sent' });
    expect(s.counters).toEqual({
      rows: 6,
      imported: 0,
      rejected: 1,
      duplicates: 1,
      skipped: 1,
      sent: 3,
      bounced: 0,
    });
    expect(s.rejected.map((x) => [x.line, x.code])).toEqual([
      [6, 'DS_EMAIL_UNSUBSCRIBED'],
      [7, 'DS_EMAIL_INVALID'],
    ]);

    const mails = await r.sink.waitFor(3);
    const byTo = (a: string) => mails.filter((m) => JSON.stringify(m.to).includes(a));
    expect(byTo('bob@example.com')).toHaveLength(0);
    const [e2] = byTo('email2@example.com');
    expect(byTo('email2@example.com')).toHaveLength(1);
    // The first row of the repeated address wins; extra columns and field names/ids are placeholders.
    expect(String(e2!.html)).toContain('Distinguished Madam Jane Jane Doe');
    expect(String(byTo('alice@example.com')[0]!.html)).toContain('Hello There Alicia Alicia Stored');
    expect(e2!.attachments.some((a) => a.contentType === 'image/png')).toBe(true);

    // Nothing of the rows is stored: recipients have addresses only, alice's fields are untouched.
    const recips = await db
      .selectFrom('recipients')
      .select(['id', 'email', 'f1', 'f2', 'f4'])
      .where('account_id', '=', r.seed.accountId)
      .orderBy('id')
      .execute();
    expect(recips.map((x) => x.email)).toEqual([
      'alice@example.com',
      'bob@example.com',
      'email1@example.com',
      'email2@example.com',
    ]);
    for (const x of recips) expect([x.f1, x.f2, x.f4]).toEqual([null, null, null]);
    // New addresses are subscribed to ListId; bob stays unsubscribed.
    const subs = await db
      .selectFrom('subscriptions')
      .innerJoin('recipients', 'recipients.id', 'subscriptions.recipient_id')
      .select(['recipients.email', 'subscriptions.status'])
      .where('subscriptions.list_id', '=', 1)
      .where('recipients.account_id', '=', r.seed.accountId)
      .orderBy('recipients.email')
      .execute();
    expect(subs.map((x) => `${x.email}:${x.status}`)).toEqual([
      'alice@example.com:subscribed',
      'bob@example.com:unsubscribed',
      'email1@example.com:subscribed',
      'email2@example.com:subscribed',
    ]);
    // One `sent` event per message, on the sending named in the summary; no group was made for the job.
    const sending = await db
      .selectFrom('sendings')
      .selectAll()
      .where('account_id', '=', r.seed.accountId)
      .where('sending_number', '=', s.idInvio!)
      .executeTakeFirstOrThrow();
    expect(sending).toMatchObject({ status: 'sent', group_id: null, list_id: 1 });
    const sent = await db
      .selectFrom('events')
      .select('recipient_id')
      .where('sending_id', '=', sending.id)
      .where('kind', '=', 'sent')
      .execute();
    expect(sent).toHaveLength(3);
    const groups = await db
      .selectFrom('groups')
      .select('name')
      .where('account_id', '=', r.seed.accountId)
      .execute();
    expect(groups.map((g) => g.name)).toEqual(['VIP']);
    // The SMTP+ password of Settings.xml is not copied into the job record or result.json.
    const job = await db.selectFrom('jobs').selectAll().where('id', '=', s.jobId).executeTakeFirstOrThrow();
    expect(JSON.stringify(job)).not.toContain('secret-password');
    expect(listTree(r.spaces.accountRoot(r.seed.accountId))).toEqual([
      `import_zip/done/${s.jobId}_campaign.zip`,
      `import_zip/done/${s.jobId}_campaign.zip.result.json`,
    ]);
  });

  it('KeepDuplicates=true mails every row; a 5xx answer is a hard bounce through the status rules', async () => {
    r = await startRig(dialect, {
      rcptReply: (a) =>
        a === 'email1@example.com' ? { code: 550, message: '5.1.1 No such user' } : undefined,
    });
    const s = await run(true);
    expect(s.error).toBeNull();
    expect(s.counters).toMatchObject({ rows: 6, duplicates: 0, sent: 4, bounced: 1 });
    const mails = await r.sink.waitFor(4);
    const e2 = mails.filter((m) => JSON.stringify(m.to).includes('email2@example.com'));
    expect(
      e2.map((m) => /Distinguished (\w+) (\w+)/.exec(String(m.html))!.slice(1).join(' ')).sort(),
    ).toEqual(['Madam Jane', 'Sir Mark']);
    const email1 = await r.h.store.db
      .selectFrom('subscriptions')
      .innerJoin('recipients', 'recipients.id', 'subscriptions.recipient_id')
      .select(['subscriptions.status', 'subscriptions.optout_type'])
      .where('recipients.email', '=', 'email1@example.com')
      .executeTakeFirstOrThrow();
    expect(email1).toEqual({ status: 'unsubscribed', optout_type: '83' });
  });

  it('refuses attachments and ScheduleDateTime before anything is written', async () => {
    r = await startRig(dialect);
    const att = await run(false, { 'Attachments/terms.pdf': Buffer.from('%PDF-1.4') });
    expect(att).toMatchObject({ status: 'failed', error: { code: 'DS_FTPZIP_TRANSACTIONAL_REFUSED' } });
    expect(att.error!.message).toMatch(/no attachments/);
    const sched = await r.run(
      await buildZip({
        'Settings.xml': settingsXml({
          extraAdvanced: TRANSACTIONAL(false),
          schedule: '2030-01-01T10:00:00.000',
        }),
        'Markup.htm': MARKUP,
        'logo.png': PNG,
        'Recipients.csv': ROWS,
      }),
      'sched.zip',
    );
    expect(sched).toMatchObject({ status: 'failed', error: { code: 'DS_FTPZIP_TRANSACTIONAL_REFUSED' } });
    expect(sched.error!.message).toMatch(/immediate/);
    const messages = await r.h.store.db
      .selectFrom('messages')
      .select('id')
      .where('account_id', '=', r.seed.accountId)
      .execute();
    expect(messages).toHaveLength(1); // the seeded one only
    expect(r.sink.messages).toHaveLength(0);
  });
});
