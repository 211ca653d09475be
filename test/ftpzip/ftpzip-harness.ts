/**
 * FTPZIP test rig: the HTTP tracking harness (fresh store, listening tracking server, account `acme` with
 * list 1), a hosted space in a temp dir, a real SMTP sink, and helpers that build archives with yazl — and
 * patch them by hand for what yazl refuses to write (`..` names, encrypted flags).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yazl from 'yazl';
import { createEmailTransport, type EmailTransport } from '../../src/email/index.js';
import {
  runFtpZip,
  sendScheduledFtpZip,
  type FtpZipDeps,
  type FtpZipOptions,
  type FtpZipSummary,
} from '../../src/ftpzip/index.js';
import { Notifier } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logger.js';
import { HostedSpaces } from '../../src/spaces/index.js';
import type { DialectName } from '../helpers/store.js';
import { seedAccount, startHarness, type Harness, type Seed } from '../http/http-harness.js';
import { startSmtpSink, type SmtpSink } from '../email/smtp-sink.js';

export interface FtpZipRig {
  h: Harness;
  seed: Seed;
  sink: SmtpSink;
  transport: EmailTransport;
  spaces: HostedSpaces;
  /** The jobs' Notifier mailing to the same sink (only with `startRig(dialect, { notify: true })`). */
  notifier?: Notifier;
  /** Temp folder holding the spaces root; nothing may appear in it besides `spaces/`. */
  top: string;
  /** Upload `zip` as `/import_zip/<name>` and run the job. */
  run(zip: Buffer, name?: string, options?: FtpZipOptions): Promise<FtpZipSummary>;
  /** Run a job on `file` (a space path, or the input a job record names) as the worker does. */
  runFile(file: string, options?: FtpZipOptions): Promise<FtpZipSummary>;
  /** Send a scheduled job's campaign now, as the worker's timer does when its time has come. */
  sendScheduled(jobId: string): Promise<FtpZipSummary>;
  close(): Promise<void>;
}

export async function startRig(
  dialect: DialectName,
  o: { notify?: boolean; rcptReply?: NonNullable<Parameters<typeof startSmtpSink>[0]>['rcptReply'] } = {},
): Promise<FtpZipRig> {
  const h = await startHarness(dialect);
  const seed = await seedAccount(h);
  const sink = await startSmtpSink({ rcptReply: o.rcptReply });
  const notifier = o.notify
    ? new Notifier({
        db: h.store.db,
        smtp: { host: '127.0.0.1', port: sink.port, secure: false, from: 'datasync@example.com' },
        clock: h.clock,
      })
    : undefined;
  const transport = createEmailTransport({ host: '127.0.0.1', port: sink.port, secure: false });
  const top = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-ftpzip-'));
  const spaces = new HostedSpaces(path.join(top, 'spaces'));
  await spaces.ensureAccount(seed.accountId);
  const logger = createLogger('silent');
  const deps = (options: FtpZipOptions = {}): FtpZipDeps => ({
    store: h.store,
    spaces,
    clock: h.clock,
    logger,
    transport,
    links: h.links,
    // Hosted images (EmbeddedImages=false) land in the harness's data dir, served by its listening app.
    media: { dataDir: h.dataDir, publicUrl: h.base },
    notifier,
    options: { rate: { retryDelayMs: 0 }, ...options },
  });
  const runFile = (file: string, options: FtpZipOptions = {}) =>
    runFtpZip({ ...deps(options), file, accountId: seed.accountId });
  return {
    h,
    seed,
    sink,
    transport,
    spaces,
    notifier,
    top,
    runFile,
    sendScheduled: (jobId) => sendScheduledFtpZip({ ...deps(), jobId }),
    async run(zip, name = 'campaign.zip', options = {}) {
      const disk = await spaces.resolveOnDisk(seed.accountId, `/import_zip/${name}`);
      fs.writeFileSync(disk, zip);
      return runFile(`/import_zip/${name}`, options);
    },
    async close() {
      notifier?.close();
      transport.close();
      await sink.close();
      await h.close();
      fs.rmSync(top, { recursive: true, force: true });
    },
  };
}

/** Build a ZIP from name → content (string or Buffer); `opts[name]` sets yazl entry options. */
export function buildZip(
  entries: Record<string, string | Buffer>,
  opts: Record<string, { mode?: number; compress?: boolean }> = {},
): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(entries))
    zip.addBuffer(typeof content === 'string' ? Buffer.from(content) : content, name, opts[name] ?? {});
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

/**
 * The usual campaign archive: Settings.xml from `xml` (see {@link settingsXml}), Markup.htm with its logo.png,
 * and Recipients.csv.
 */
export function campaignZip(
  xml: Parameters<typeof settingsXml>[0] = {},
  recipients: string = RECIPIENTS,
): Promise<Buffer> {
  return buildZip({
    'Settings.xml': settingsXml(xml),
    'Markup.htm': MARKUP,
    'logo.png': PNG,
    'Recipients.csv': recipients,
  });
}

/** Replace an entry name by another of the same length, in the local and central headers. */
export function renameEntry(zip: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('same length only');
  const out = Buffer.from(zip);
  const needle = Buffer.from(from);
  for (let i = out.indexOf(needle); i >= 0; i = out.indexOf(needle, i + 1)) out.write(to, i, 'latin1');
  return out;
}

/** Set the "encrypted" general-purpose flag on every entry (local and central headers). */
export function markEncrypted(zip: Buffer): Buffer {
  const out = Buffer.from(zip);
  for (let i = 0; i < out.length - 4; i++) {
    const sig = out.readUInt32LE(i);
    if (sig === 0x04034b50) out.writeUInt16LE(out.readUInt16LE(i + 6) | 1, i + 6);
    else if (sig === 0x02014b50) out.writeUInt16LE(out.readUInt16LE(i + 8) | 1, i + 8);
  }
  return out;
}

export function settingsXml(
  o: {
    action?: string;
    listId?: string;
    subject?: string;
    schedule?: string;
    extraAdvanced?: string;
    messageId?: string;
    embeddedImages?: string;
  } = {},
): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<FtpZip>
  <Header>
    <ActionType>${o.action ?? 'full'}</ActionType>
    <CampaignCode>Campaign0009</CampaignCode>
    <FormatVersion>0.1</FormatVersion>
    <NotifyEmail>peter@example.com</NotifyEmail>
  </Header>
  <Content>
    ${o.listId === undefined ? '<ListId>1</ListId>' : o.listId}
    <SenderName>John Doe</SenderName>
    <SenderEmail>john@doe.com</SenderEmail>
    <ReplyToEmail>jane@doe.com</ReplyToEmail>
    <EmailSubject>${o.subject ?? 'Hello [1] &amp; co'}</EmailSubject>
    <ScheduleDateTime>${o.schedule ?? ''}</ScheduleDateTime>
    <Notes>Notes</Notes>
  </Content>
  <AdvancedSettings>
    <Separator>;</Separator>
    <Attachments>false</Attachments>
    <DynamicFields>true</DynamicFields>
    <EmbeddedImages>${o.embeddedImages ?? 'true'}</EmbeddedImages>
    <LinkTracking>true</LinkTracking>
    <HttpLinkTracking>true</HttpLinkTracking>
    <HttpsLinkTracking>true</HttpsLinkTracking>
    <MailToTracking>false</MailToTracking>
    <FtpTracking>true</FtpTracking>
    <NewsTracking>true</NewsTracking>
    <QueryStringAdditionalParams>utm_source=ftpzip</QueryStringAdditionalParams>
    <ContentOverride>
      <MessageId>${o.messageId ?? ''}</MessageId>
      <CloneMessage>true</CloneMessage>
    </ContentOverride>
    ${o.extraAdvanced ?? ''}
  </AdvancedSettings>
</FtpZip>
`;
}

export const MARKUP = `<html><body><h1>Hi [1] [2]</h1><img src="logo.png" alt="logo">
<p><a href="https://shop.example.com/offer">Offer</a></p></body></html>`;

export const RECIPIENTS = `111;1;2;4
email1@example.com;John;Doe;Male
email2@example.com;Jane;Doe;Female
email2@example.com;Mark;Key;Male
not-an-email;Bad;Row;X
`;

/** A 1×1 PNG. */
export const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

/** Every file under `dir`, relative, sorted. */
export function listTree(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((d) => d.isFile() || d.isSymbolicLink())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)))
    .sort();
}
