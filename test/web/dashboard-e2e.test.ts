/**
 * End to end in real headless Chromium (Debian `chromium`, driven by playwright-core) against a real
 * `datasync serve` instance (in-process `startServer`: SFTP, HTTP, worker and scheduler roles over a fresh
 * data dir, first start with the demo account): sign in with the admin token printed on the first start,
 * upload a CSV with bad rows over SFTP with OpenSSH's `sftp` as the demo user, watch it appear in Import status
 * and finish, open its detail, switch to "Rows do not match", download the rejected rows; then the jobs,
 * instances, instance editor, SFTP users and charts pages. Screenshots of each page go to
 * test-artifacts/dashboard/ (gitignored; docs/screenshots/ holds copies for the README).
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
import { upsertRecipient } from '../../src/store/index.js';
import { runSftp } from '../sftp/sftp-harness.js';
import { ARTIFACTS, hasChromium, launchChromium, reloadUntil } from './browser.js';

describe.skipIf(!hasChromium)('dashboard in headless Chromium over datasync serve (sqlite)', () => {
  let dir: string;
  let server: RunningServer;
  let base: string;
  let browser: Browser;
  const api = (method: string, url: string, body?: unknown) =>
    fetch(`${base}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${server.secrets.adminToken}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-e2e-'));
    const config = loadConfig({
      env: {
        DATASYNC_DATA_DIR: path.join(dir, 'data'),
        DATASYNC_HTTP__HOST: '127.0.0.1',
        DATASYNC_HTTP__PORT: '0',
        DATASYNC_SFTP__HOST: '127.0.0.1',
        DATASYNC_SFTP__PORT: '0',
      },
    });
    server = await startServer(config, new Set(ROLES), createLogger('silent'));
    base = `http://127.0.0.1:${server.httpPort}`;
    expect(server.secrets.adminToken).toBeTruthy();
    expect(server.secrets.demo?.password).toBeTruthy();

    // Engagement data for the charts: an email message opened and clicked, SMS delivery reports.
    const msg = (await (
      await api('POST', '/api/v1/accounts/demo/messages/email', {
        subject: 'Spring sale',
        text: 'hi',
        senderEmail: 'news@demo.test',
      })
    ).json()) as { idNl: number };
    const sms = (await (
      await api('POST', '/api/v1/accounts/demo/messages/sms', { text: 'Sale today' })
    ).json()) as { idSMS: number };
    const people = ['anna', 'bruno', 'carla', 'dario', 'elena'];
    for (const [i, p] of people.entries())
      await upsertRecipient(server.store.db, {
        accountId: 'demo',
        email: `${p}@example.com`,
        mobile: `+39347000000${i}`,
        listId: 1,
      });
    const events = await api('POST', '/api/v1/accounts/demo/events', [
      ...people.map((p) => ({ kind: 'sent', email: `${p}@example.com`, idNl: msg.idNl })),
      ...people.slice(0, 4).map((p) => ({ kind: 'open', email: `${p}@example.com`, idNl: msg.idNl })),
      ...people.slice(0, 2).map((p) => ({
        kind: 'click',
        email: `${p}@example.com`,
        idNl: msg.idNl,
        url: 'https://shop.example.com/spring',
      })),
      ...['DELIVRD', 'DELIVRD', 'DELIVRD', 'UNDELIV'].map((status, i) => ({
        kind: 'sms_status',
        channel: 'sms',
        mobile: `+39347000000${i}`,
        idSMS: sms.idSMS,
        status,
      })),
    ]);
    expect(((await events.json()) as { rejected: unknown[] }).rejected).toEqual([]);

    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('signs in, sees an SFTP upload go through Import status, opens its detail and downloads the rejected rows', async () => {
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1280, height: 800 },
    });
    const page = await context.newPage();
    await page.goto(`${base}/`);
    await page.waitForURL('**/login');
    await page.screenshot({ path: path.join(ARTIFACTS, '01-sign-in.png') });
    await page.fill('#token', 'not-a-token');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error');
    await page.fill('#token', server.secrets.adminToken!);
    await page.click('button[type=submit]');
    await page.waitForURL('**/imports');
    expect(await page.textContent('main')).toContain('No completed imports');

    // The demo user uploads over SFTP (OpenSSH's client), as a customer would.
    const csv = path.join(dir, 'customers-march.csv');
    fs.writeFileSync(
      csv,
      '1;2;111;444\n' +
        'Mario;Rossi;mario.rossi@example.com;+393471234567\n' +
        'Anna;Bianchi;not-an-email;\n' +
        'Carla;Verdi;carla@example.com\n' +
        'Dario;Neri;dario@example.com;+393479876543\n',
    );
    const put = await runSftp(
      { port: server.sftpPort!, dir },
      'demo',
      [`put ${csv} /import/customers-march.csv`],
      {
        password: server.secrets.demo!.password,
      },
    );
    expect(put.code, put.stderr).toBe(0);

    // It shows up (queued or running, or already done: the worker is quick) and then finishes.
    await reloadUntil(page, 'tr[data-job]:has-text("customers-march.csv")');
    await reloadUntil(page, '#completed tr:has-text("customers-march.csv")');
    const row = page.locator('#completed tr', { hasText: 'customers-march.csv' });
    expect(await row.locator('.status').textContent()).toBe('partial');
    expect(await row.textContent()).toContain('demo-import');
    await page.screenshot({ path: path.join(ARTIFACTS, '02-import-status.png'), fullPage: true });

    await row.locator('a', { hasText: 'customers-march.csv' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-z]+$/);
    await page.waitForSelector('#counters');
    expect(await page.textContent('#channels')).toContain('Email addresses');
    expect(await page.isVisible('#incorrect')).toBe(true);
    expect(await page.textContent('#incorrect')).toContain('DS_EMAIL_INVALID');
    await page.screenshot({ path: path.join(ARTIFACTS, '03-import-detail.png'), fullPage: true });
    await page.click('a[data-tab=mismatch]');
    expect(await page.isVisible('#mismatch')).toBe(true);
    expect(await page.isVisible('#incorrect')).toBe(false);
    expect(await page.textContent('#mismatch')).toContain('DS_IMPORT_ROW_COLUMNS');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('text=rejected rows (CSV)'),
    ]);
    const text = fs.readFileSync((await download.path())!, 'utf8');
    expect(text).toContain('_reason');
    expect(text).toContain('not-an-email');
    expect(text).toContain('Carla');

    await page.goto(`${base}/jobs?account=demo`);
    await page.waitForSelector('#jobs >> text=customers-march.csv');
    await page.screenshot({ path: path.join(ARTIFACTS, '04-jobs.png'), fullPage: true });
    await page.goto(`${base}/instances?account=demo`);
    await page.waitForSelector('#instances >> text=demo-unsubscribers');
    await page.screenshot({ path: path.join(ARTIFACTS, '05-instances.png'), fullPage: true });

    // Edit an instance: validate shows the problem without saving.
    await page.click('#instances tr:has-text("demo-statistics") >> text=Edit');
    await page.waitForSelector('#definition');
    expect(await page.inputValue('#definition')).toContain('type: statistics');
    await page.screenshot({ path: path.join(ARTIFACTS, '06-instance-editor.png'), fullPage: true });
    await page.click('button[value=validate]');
    await page.waitForSelector('#editor-message');
    expect(await page.textContent('#editor-message')).toContain('valid');

    await page.goto(`${base}/sftp-users?account=demo`);
    await page.waitForSelector('#sftp-users >> text=demo');
    await page.screenshot({ path: path.join(ARTIFACTS, '07-sftp-users.png'), fullPage: true });

    await page.goto(`${base}/charts?account=demo`);
    await page.waitForSelector('#chart-imports svg');
    expect(await page.locator('#chart-imports rect.bar').count()).toBeGreaterThan(0);
    expect(await page.locator('#chart-messages rect.bar').count()).toBe(2);
    expect(await page.locator('#chart-sms rect.bar').count()).toBe(2);
    await page.screenshot({ path: path.join(ARTIFACTS, '08-charts.png'), fullPage: true });
    await context.close();
  }, 120_000);
});
