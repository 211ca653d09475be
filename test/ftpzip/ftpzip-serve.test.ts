/**
 * The whole path as a customer uses it: `datasync serve` (first start, demo account) with its SMTP relay set to
 * a real SMTP sink on loopback; OpenSSH's `sftp` uploads a FULL archive to /import_zip → the campaign and the
 * NotifyEmail notice arrive in the sink; with `EmbeddedImages=false` its image is served by the HTTP role; a CSV2SMS file uploaded to /sms → an SMS job runs (`log` provider).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type SmtpSink } from '../email/smtp-sink.js';
import { startServe, stopServe, type Served } from '../helpers/cli.js';
import { runSftp } from '../sftp/sftp-harness.js';
import { PNG, campaignZip } from './ftpzip-harness.js';

async function waitForFile(dir: string, suffix: string): Promise<string> {
  for (let i = 0; i < 240; i++) {
    const f = fs.existsSync(dir) ? fs.readdirSync(dir).find((n) => n.endsWith(suffix)) : undefined;
    if (f) return path.join(dir, f);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no *${suffix} in ${dir}`);
}

describe('datasync serve: FTPZIP and CSV2SMS uploads over SFTP', () => {
  let cwd: string;
  let sink: SmtpSink;
  let s: Served;
  let password: string;
  beforeAll(async () => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-serve-ftpzip-'));
    sink = await startSmtpSink();
    s = await startServe(
      cwd,
      {
        DATASYNC_SMTP__HOST: '127.0.0.1',
        DATASYNC_SMTP__PORT: String(sink.port),
        DATASYNC_SMTP__FROM: 'datasync@example.com',
      },
      true,
    );
    password = /demo password: +(\S+)/.exec(s.stderr())![1]!;
  });
  afterAll(async () => {
    if (s?.child.exitCode === null) await stopServe(s.child);
    await sink?.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('a FULL archive uploaded to /import_zip is sent to its recipients and NotifyEmail hears of it', async () => {
    const zip = path.join(cwd, 'campaign.zip');
    fs.writeFileSync(
      zip,
      await campaignZip(
        { subject: 'Hello [First_name]' },
        '111;1;2\nmario.rossi@example.com;Mario;Rossi\nanna@example.com;Anna;Bianchi\n',
      ),
    );
    const put = await runSftp(
      { port: s.sftpPort, dir: cwd },
      'demo',
      [`put ${zip} /import_zip/campaign.zip`],
      {
        password,
      },
    );
    expect(put.code, put.stderr).toBe(0);
    const mails = await sink.waitFor(3);
    const campaign = mails.filter((m) => m.from?.value[0]?.address === 'john@doe.com');
    expect(campaign.map((m) => m.subject).sort()).toEqual(['Hello Anna', 'Hello Mario']);
    const mario = campaign.find((m) => m.subject === 'Hello Mario')!;
    expect(String(mario.html)).toContain('Hi Mario Rossi');
    expect(mario.attachments.some((a) => a.contentType === 'image/png')).toBe(true);
    const notice = mails.find((m) => m.from?.value[0]?.address === 'datasync@example.com')!;
    expect(notice.to).toMatchObject({ value: [{ address: 'peter@example.com' }] });
    expect(notice.subject).toBe('[datasync] ftpzip: succeeded');
    const result = await waitForFile(
      path.join(cwd, 'data', 'spaces', 'demo', 'import_zip', 'done'),
      '.result.json',
    );
    expect(JSON.parse(fs.readFileSync(result, 'utf8'))).toMatchObject({
      status: 'succeeded',
      counters: { imported: 2, sent: 2 },
    });
  });

  it('EmbeddedImages=false: the worker stores the image, the HTTP role serves it at the linked path', async () => {
    const zip = path.join(cwd, 'hosted.zip');
    fs.writeFileSync(
      zip,
      await campaignZip(
        { subject: 'Hosted [First_name]', embeddedImages: 'false' },
        '111;1;2\nmario.rossi@example.com;Mario;Rossi\n',
      ),
    );
    const before = sink.messages.length;
    const put = await runSftp({ port: s.sftpPort, dir: cwd }, 'demo', [`put ${zip} /import_zip/hosted.zip`], {
      password,
    });
    expect(put.code, put.stderr).toBe(0);
    const mails = await sink.waitFor(before + 2);
    const mail = mails.find((m) => m.subject === 'Hosted Mario')!;
    expect(mail.attachments).toEqual([]);
    // http.publicUrl is unset and the port was 0, so only the path of the link is checked against the server.
    const src = /<img src="(http[^"]+)" alt="logo">/.exec(String(mail.html))![1]!;
    const res = await fetch(`http://127.0.0.1:${s.httpPort}${new URL(src).pathname}`);
    expect(new URL(src).pathname).toMatch(/^\/m\/demo\/[0-9a-f]{64}\.png$/);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer()).equals(PNG)).toBe(true);
  });

  it('a CSV2SMS file uploaded to /sms runs as an SMS job (log provider)', async () => {
    const csv = path.join(cwd, 'offers.csv');
    fs.writeFileSync(
      csv,
      [
        '#peter@example.com',
        '#2012-03-01 14:30',
        '#I',
        '#MailUp',
        '#1',
        '#Special offers',
        '#COD1234567',
        'MOBILE NUMBER;TEXT;Field1;Field2;Field3;Field4;UNICODE',
        '393331234567;Hello [Field1];Peter;A12;;;0',
        '393339876543;Hello [Field1];Maria;B34;;;0',
        '#end of file',
        '',
      ].join('\r\n'),
    );
    const put = await runSftp({ port: s.sftpPort, dir: cwd }, 'demo', [`put ${csv} /sms/offers.csv`], {
      password,
    });
    expect(put.code, put.stderr).toBe(0);
    const result = await waitForFile(path.join(cwd, 'data', 'spaces', 'demo', 'sms', 'done'), '.result.json');
    const r = JSON.parse(fs.readFileSync(result, 'utf8')) as {
      status: string;
      counters: Record<string, number>;
    };
    expect(r.status).toBe('succeeded');
    expect(r.counters).toMatchObject({ sent: 2 });
  });
});
