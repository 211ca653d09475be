import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findJob, listRecipients, setSubscriptionStatus, upsertRecipient } from '../../src/store/index.js';
import { runCsv2Sms } from '../../src/sms/index.js';
import { DIALECTS } from '../helpers/store.js';
import { openFixture, SAMPLE_BODY, SAMPLE_HEADER, untilReports, type Fixture } from './csv2sms-fixture.js';

describe.each(DIALECTS)('CSV2SMS job (%s)', (dialect) => {
  let f: Fixture;
  beforeEach(async () => {
    f = await openFixture(dialect, { statFor: (d) => (d === '393339876543' ? 'UNDELIV' : 'DELIVRD') });
  });
  afterEach(async () => f.close());

  it('imports the sample, sends through the SMSC, records sent and delivery events, writes result files', async () => {
    const file = f.drop('offers.csv');
    const s = await runCsv2Sms({ ...f.deps, file, accountId: 'acme' });
    expect(s).toMatchObject({ status: 'succeeded', send: 'sent', idSMS: 1, idInvio: 1, error: null });
    expect(s.counters).toMatchObject({
      rows: 2,
      accepted: 2,
      rejected: 0,
      recipientsCreated: 2,
      sent: 2,
      parts: 2,
    });
    expect(f.smsc.submits.map((x) => [x.destination, x.source, x.bytes.toString('latin1')])).toEqual([
      ['393331234567', 'MailUp', 'Hello Peter, your code is A12'],
      ['393339876543', 'MailUp', 'Hello Maria, your code is B34'],
    ]);
    // The input left /sms at once and landed in done/ with its result.
    expect(fs.existsSync(f.disk(file))).toBe(false);
    expect(s.inputPath).toBe(`/sms/done/${s.jobId}_offers.csv`);
    const result = JSON.parse(fs.readFileSync(f.disk(s.resultPath!), 'utf8'));
    expect(result).toMatchObject({ status: 'succeeded', campaign: 'Special offers', listId: 5, idSMS: 1 });
    expect(result.rows.map((r: { line: number; outcome: string }) => [r.line, r.outcome])).toEqual([
      [9, 'sent'],
      [10, 'sent'],
    ]);
    expect(s.rejectedPath).toBeNull();

    // Recipients are in list 5, subscribed on SMS; placemarks did not touch their fields.
    const recips = await listRecipients(f.store.db, 'acme', {
      listId: 5,
      channel: 'sms',
      status: 'subscribed',
    });
    expect(recips.map((r) => [r.recipient.mobile, r.recipient.fields])).toEqual([
      ['393331234567', {}],
      ['393339876543', {}],
    ]);

    await untilReports(f, 2);
    const events = await f.store.db
      .selectFrom('events')
      .select(['kind', 'code', 'provider_message_id', 'list_id'])
      .where('channel', '=', 'sms')
      .orderBy('id')
      .execute();
    const statuses = events
      .filter((e) => e.kind === 'sms_status')
      .map((e) => [e.provider_message_id, e.code]);
    expect(events.filter((e) => e.kind === 'sent')).toHaveLength(2);
    expect(statuses.sort()).toEqual(
      [
        [f.smsc.submits[0]!.id, 'DELIVERED'],
        [f.smsc.submits[1]!.id, 'UNDELIV'],
      ].sort(),
    );
    const job = await findJob(f.store.db, s.jobId);
    expect(job).toMatchObject({
      kind: 'csv2sms',
      status: 'succeeded',
      trigger: 'upload',
      inputName: 'offers.csv',
    });
    expect(job!.inputSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('skips unsubscribed numbers (counted), rejects bad rows, and reports each row', async () => {
    const u = await upsertRecipient(f.store.db, { accountId: 'acme', mobile: '+393339876543', listId: 5 });
    await setSubscriptionStatus(f.store.db, {
      accountId: 'acme',
      recipientId: u.recipient.id,
      listId: 5,
      channel: 'sms',
      status: 'unsubscribed',
      optoutType: '1',
    });
    const file = f.drop('mixed.csv', SAMPLE_HEADER, [
      'MOBILE NUMBER;TEXT;Field1;UNICODE',
      '393331234567;Hi [Field1];Ann;0',
      '393339876543;Hi [Field1];Bob;0',
      'abc;Hi;x;0',
      '3331112222;Привет [Field1];Olga;0',
    ]);
    const s = await runCsv2Sms({ ...f.deps, file, accountId: 'acme' });
    expect(s.status).toBe('partial');
    expect(s.counters).toMatchObject({
      rows: 4,
      accepted: 3,
      rejected: 1,
      skippedUnsubscribed: 1,
      toSend: 2,
      sent: 2,
    });
    expect(f.smsc.submits.map((x) => [x.destination, x.dataCoding])).toEqual([
      ['393331234567', 0],
      ['393331112222', 8], // national number with the list's prefix 39; Cyrillic ⇒ UCS-2 automatically
    ]);
    const rejected = fs
      .readFileSync(f.disk(s.rejectedPath!), 'utf8')
      .replace(/^\uFEFF/, '')
      .split('\r\n');
    expect(rejected[0]).toBe('MOBILE NUMBER;TEXT;Field1;UNICODE;_line;_code;_reason');
    expect(rejected[1]).toMatch(
      /^393339876543;Hi \[Field1\];Bob;0;10;DS_SMS_UNSUBSCRIBED;line 10: 393339876543 is unsubscribed/,
    );
    expect(rejected[2]).toMatch(
      /^abc;Hi;x;0;11;DS_SMS_MOBILE_INVALID;"line 11: ""abc"" is not a valid mobile number"$/,
    );
    const result = JSON.parse(fs.readFileSync(f.disk(s.resultPath!), 'utf8'));
    expect(result.rows.map((r: { line: number; outcome: string }) => [r.line, r.outcome])).toEqual([
      [9, 'sent'],
      [10, 'skipped'],
      [11, 'rejected'],
      [12, 'sent'],
    ]);
  });

  it('skips a file whose non-duplication code was already used, without importing or sending', async () => {
    const first = await runCsv2Sms({ ...f.deps, file: f.drop('a.csv'), accountId: 'acme' });
    expect(first.status).toBe('succeeded');
    const again = await runCsv2Sms({
      ...f.deps,
      file: f.drop('b.csv', SAMPLE_HEADER, ['MOBILE NUMBER;TEXT;Field1', '393330000001;New;x']),
      accountId: 'acme',
    });
    expect(again).toMatchObject({ status: 'skipped', error: { code: 'DS_SMS_DUPLICATE_CODE' } });
    expect(again.error!.message).toMatch(/^header row 7: .*COD1234567.*already used/);
    expect(again.inputPath).toBe(`/sms/failed/${again.jobId}_b.csv`);
    expect(f.smsc.submits).toHaveLength(2);
    expect(await listRecipients(f.store.db, 'acme', { search: '393330000001' })).toEqual([]);
    // Another account may use the same code.
    expect((await findJob(f.store.db, again.jobId))?.status).toBe('skipped');
  });

  it('fails a file with a bad header: nothing imported, file and result in failed/, the code stays free', async () => {
    const bad = SAMPLE_HEADER.map((r, i) => (i === 2 ? '#X' : r));
    const s = await runCsv2Sms({ ...f.deps, file: f.drop('bad.csv', bad), accountId: 'acme' });
    expect(s).toMatchObject({ status: 'failed', error: { code: 'DS_SMS_HEADER_ACTION' } });
    expect(s.error!.message).toMatch(/^header row 3: /);
    const result = JSON.parse(fs.readFileSync(f.disk(s.resultPath!), 'utf8'));
    expect(result.error.code).toBe('DS_SMS_HEADER_ACTION');
    expect(fs.existsSync(f.disk(`/sms/failed/${s.jobId}_bad.csv`))).toBe(true);
    expect(await listRecipients(f.store.db, 'acme')).toEqual([]);
    const ok = await runCsv2Sms({ ...f.deps, file: f.drop('good.csv'), accountId: 'acme' });
    expect(ok.status).toBe('succeeded');
  });

  it('fails on an unknown list (row 5) and uses Default N for an empty campaign', async () => {
    const unknown = SAMPLE_HEADER.map((r, i) => (i === 4 ? '#77' : r));
    const s = await runCsv2Sms({ ...f.deps, file: f.drop('u.csv', unknown), accountId: 'acme' });
    expect(s).toMatchObject({ status: 'failed', error: { code: 'DS_LIST_UNKNOWN' } });
    expect(s.error!.message).toMatch(/^header row 5: list 77/);
    const noName = SAMPLE_HEADER.map((r, i) => (i === 5 ? '#' : i === 6 ? '#' : r));
    const ok = await runCsv2Sms({ ...f.deps, file: f.drop('n.csv', noName), accountId: 'acme' });
    const msg = await f.store.db
      .selectFrom('messages')
      .selectAll()
      .where('channel', '=', 'sms')
      .executeTakeFirst();
    expect(ok.status).toBe('succeeded');
    expect(msg).toMatchObject({ subject: 'Default 5', sender_name: 'MailUp', message_number: 1 });
  });

  it('records a refused message as NACK and the job as partial', async () => {
    await f.close();
    f = await openFixture(dialect, { refuse: (d) => (d === '393339876543' ? 0x0b : 0) });
    const s = await runCsv2Sms({
      ...f.deps,
      file: f.drop('r.csv', SAMPLE_HEADER, SAMPLE_BODY),
      accountId: 'acme',
    });
    expect(s.status).toBe('partial');
    expect(s.counters).toMatchObject({ sent: 1, refused: 1 });
    const nack = await f.store.db.selectFrom('events').selectAll().where('code', '=', 'NACK').execute();
    expect(nack).toHaveLength(1);
    expect(nack[0]!.detail).toMatch(/ESME_RINVDSTADR/);
    expect(fs.readFileSync(f.disk(s.rejectedPath!), 'utf8')).toMatch(
      /;10;DS_SMS_SUBMIT_REJECTED;line 10: ESME_RINVDSTADR/,
    );
  });
});
