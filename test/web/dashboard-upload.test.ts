/**
 * The dashboard's CLI-parity forms in real headless Chromium over an in-process `datasync serve` (all roles,
 * first start with the demo account): upload a CSV from the files browser (`datasync import FILE`) and watch
 * its import finish in Import status; an oversized file shows DS_SFTP_QUOTA; ingest a JSON lines events file
 * (`datasync events add`) and see the accepted / rejected counts, and the same file again recorded once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { ROLES } from '../../src/cli/roles.js';
import { startServer, type RunningServer } from '../../src/cli/server.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { ARTIFACTS, hasChromium, launchChromium, reloadUntil } from './browser.js';

const MAX_FILE = 64 * 1024;

describe.skipIf(!hasChromium)('dashboard uploads and events in headless Chromium (sqlite)', () => {
  let dir: string;
  let server: RunningServer;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-e2e-up-'));
    const config = loadConfig({
      env: {
        DATASYNC_DATA_DIR: path.join(dir, 'data'),
        DATASYNC_HTTP__HOST: '127.0.0.1',
        DATASYNC_HTTP__PORT: '0',
        DATASYNC_SFTP__HOST: '127.0.0.1',
        DATASYNC_SFTP__PORT: '0',
        DATASYNC_SFTP__MAX_FILE_BYTES: String(MAX_FILE),
      },
    });
    server = await startServer(config, new Set(ROLES), createLogger('silent'));
    base = `http://127.0.0.1:${server.httpPort}`;
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('uploads a CSV into /import and ingests an events file, as the CLI would', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.fill('#token', server.secrets.adminToken!);
    await page.click('button[type=submit]');
    await page.waitForURL('**/imports');

    // Upload from the files browser: the job starts as for an SFTP upload and finishes.
    await page.goto(`${base}/files?account=demo&path=/import`);
    expect(await page.inputValue('#upload-folder')).toBe('import');
    await page.setInputFiles('#upload-file', {
      name: 'from-dashboard.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('1;2;111\nMario;Rossi;mario@example.com\nAnna;Bianchi;anna@example.com\n'),
    });
    await page.click('#upload button[type=submit]');
    await page.waitForSelector('#upload-result.ok');
    expect(await page.textContent('#upload-result')).toContain('/import/from-dashboard.csv');
    await page.screenshot({ path: path.join(ARTIFACTS, '09-files-upload.png'), fullPage: true });
    await page.click('#upload-result a');
    await page.waitForURL('**/imports?account=demo');
    await reloadUntil(page, '#completed tr:has-text("from-dashboard.csv")');
    const row = page.locator('#completed tr', { hasText: 'from-dashboard.csv' });
    expect(await row.locator('.status').textContent()).toBe('succeeded');

    // Over sftp.maxFileBytes: the error is shown, nothing is stored.
    await page.goto(`${base}/files?account=demo&path=/sms`);
    expect(await page.inputValue('#upload-folder')).toBe('sms');
    await page.setInputFiles('#upload-file', {
      name: 'too-big.csv',
      mimeType: 'text/csv',
      buffer: Buffer.alloc(MAX_FILE + 10, 0x61),
    });
    await page.click('#upload button[type=submit]');
    await page.waitForSelector('#upload-result.error');
    expect(await page.textContent('#upload-result')).toContain('DS_SFTP_QUOTA');
    expect(fs.readdirSync(path.join(dir, 'data', 'spaces', 'demo', 'sms'))).toEqual([]);

    // Events: an email message, then a JSON lines file with one good and one bad event.
    const msg = (await (
      await fetch(`${base}/api/v1/accounts/demo/messages/email`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${server.secrets.adminToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ subject: 'Hello', text: 'hi', senderEmail: 'news@demo.test' }),
      })
    ).json()) as { idNl: number };
    const jsonl =
      JSON.stringify({ kind: 'open', email: 'mario@example.com', idNl: msg.idNl }) +
      '\n' +
      JSON.stringify({ kind: 'open', email: 'nobody-at-example.com', idNl: msg.idNl }) +
      '\n';
    await page.goto(`${base}/charts?account=demo`);
    await page.click('#ingest-events');
    await page.waitForURL('**/events?account=demo');
    const ingest = async () => {
      await page.setInputFiles('#events-file', {
        name: 'events.jsonl',
        mimeType: 'application/x-ndjson',
        buffer: Buffer.from(jsonl),
      });
      await page.click('#events-form button[type=submit]');
      await page.waitForSelector('#events-counts');
      const count = async (k: string) => Number(await page.textContent(`#events-counts [data-count=${k}]`));
      return {
        accepted: await count('accepted'),
        rejected: await count('rejected'),
        duplicates: await count('already-recorded'),
      };
    };
    expect(await ingest()).toEqual({ accepted: 1, rejected: 1, duplicates: 0 });
    expect(await page.textContent('#events-rejected')).toContain('DS_EMAIL_INVALID');
    await page.screenshot({ path: path.join(ARTIFACTS, '10-events.png'), fullPage: true });
    // The same file again: recorded once (the CLI's key, file:<sha256>).
    await page.reload();
    expect(await ingest()).toEqual({ accepted: 0, rejected: 1, duplicates: 1 });
    const summary = (await (
      await fetch(`${base}/api/v1/accounts/demo/messages/email/${msg.idNl}/summary`, {
        headers: { authorization: `Bearer ${server.secrets.adminToken}` },
      })
    ).json()) as { events: { open: number } };
    expect(summary.events.open).toBe(1);
    await context.close();
  }, 120_000);
});
