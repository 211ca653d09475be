/**
 * End to end in real headless Chromium (Debian `chromium`, driven by playwright-core): a real import job (the
 * import engine over a CSV with bad rows) and a queued upload; sign in with the admin token, see both in
 * Import status, open the detail, switch to "Rows do not match", download the rejected rows. Screenshots of
 * each page go to test-artifacts/dashboard/ (gitignored; the README's pictures come from there).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { applyInstances, importFile } from '../../src/imports/index.js';
import { insertJob, upsertInstance } from '../../src/store/index.js';
import { startAdmin, type AdminHarness } from './admin-harness.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test-artifacts/dashboard');
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `\n!!! SKIPPING the dashboard end-to-end test: ${CHROMIUM} is missing.` +
      `\n!!! Install it with: apt-get install -y chromium  (.ci/run does)\n`,
  );

describe.skipIf(!hasChromium)('dashboard in headless Chromium (sqlite)', () => {
  let h: AdminHarness;
  let browser: Browser;
  let jobId: string;

  beforeAll(async () => {
    h = await startAdmin('sqlite', { listen: true, dashboard: true });
    await applyInstances(h.store, [{ id: 'newsletter', accountId: 'acme', destination: { listId: 1 } }]);
    await upsertInstance(h.store.db, {
      id: 'nightly-unsubscribers',
      accountId: 'acme',
      kind: 'export',
      enabled: true,
      definition: {
        type: 'unsubscribers',
        lists: [1],
        schedule: { cron: '0 4 * * *', timeZone: 'Europe/Rome' },
      },
    });
    const work = path.join(h.dataDir, 'work', 'cli');
    fs.mkdirSync(work, { recursive: true });
    const csv = path.join(work, 'customers-march.csv');
    fs.writeFileSync(
      csv,
      '111;1;2\nalice@example.com;Alice;Rome\nbob@example;Bob;Milan\ncarol@example.com;Carol\ndave@example.com;Dave;Turin\n',
    );
    const summary = await importFile(h.store, {
      file: csv,
      instanceId: 'newsletter',
      rejectedCsvPath: path.join(work, 'customers-march.rejected.csv'),
    });
    jobId = summary.jobId!;
    expect(summary.counters.rejected).toBeGreaterThan(0);
    await insertJob(h.store.db, {
      accountId: 'acme',
      instanceId: 'newsletter',
      kind: 'import',
      trigger: 'upload',
      inputName: 'customers-april.csv',
      inputSize: 1_250_000,
    });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('signs in, shows the import in Import status, opens its detail and downloads the rejected rows', async () => {
    const context = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1280, height: 800 },
    });
    const page = await context.newPage();
    await page.goto(`${h.base}/`);
    await page.waitForURL('**/login');
    await page.screenshot({ path: path.join(ARTIFACTS, '01-sign-in.png') });
    await page.fill('#token', 'not-a-token');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error');
    await page.fill('#token', h.adminToken);
    await page.click('button[type=submit]');
    await page.waitForURL('**/imports');

    // Files to be imported (queued, with size) and completed imports (rows, date).
    await page.waitForSelector('#pending >> text=customers-april.csv');
    expect(await page.textContent('#pending')).toContain('1.2 MB');
    const row = page.locator(`#completed tr[data-job="${jobId}"]`);
    expect(await row.textContent()).toContain('customers-march.csv');
    expect(await row.locator('.status').textContent()).toBe('partial');
    await page.screenshot({ path: path.join(ARTIFACTS, '02-import-status.png'), fullPage: true });

    await row.locator('a', { hasText: 'customers-march.csv' }).click();
    await page.waitForURL(`**/jobs/${jobId}`);
    await page.waitForSelector('#counters');
    expect(await page.textContent('#channels')).toContain('Email addresses');
    expect(await page.isVisible('#incorrect')).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, '03-import-detail.png'), fullPage: true });
    await page.click('a[data-tab=mismatch]');
    expect(await page.isVisible('#mismatch')).toBe(true);
    expect(await page.isVisible('#incorrect')).toBe(false);

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('text=rejected rows (CSV)'),
    ]);
    const text = fs.readFileSync((await download.path())!, 'utf8');
    expect(text).toContain('_reason');
    expect(text).toContain('bob@example');

    await page.goto(`${h.base}/jobs?account=acme`);
    await page.waitForSelector('#jobs');
    await page.screenshot({ path: path.join(ARTIFACTS, '04-jobs.png'), fullPage: true });
    await page.goto(`${h.base}/instances?account=acme`);
    await page.waitForSelector('#instances >> text=nightly-unsubscribers');
    await page.screenshot({ path: path.join(ARTIFACTS, '05-instances.png'), fullPage: true });
    await context.close();
  });
});
