/**
 * The last two CLI-parity forms in real headless Chromium, over the admin API + dashboard app on both
 * dialects: create an account API token on the Account page (`datasync tokens create ACCOUNT --name N`) —
 * shown once, usable to sign in, audited, never shown again, not created twice by a reload — revoke it
 * (`datasync tokens revoke`: the button asks first, the browser signed in with it is signed out), and check a CSV with an import instance without
 * importing it (`datasync import FILE --instance ID --dry-run`) from the Instances page's "Check a file" link:
 * counters and rejected rows on the page, nothing written.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { countRows } from '../helpers/count-rows.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from './admin-harness.js';
import { ARTIFACTS, hasChromium, launchChromium } from './browser.js';

describe.skipIf(!hasChromium).each(DIALECTS)(
  'dashboard tokens and import dry run in Chromium (%s)',
  (dialect) => {
    let h: AdminHarness;
    let browser: Browser;

    beforeAll(async () => {
      h = await startAdmin(dialect, { dashboard: true, listen: true });
      const imp = await h.req('PUT', '/api/v1/accounts/acme/instances/customers', {
        body: { kind: 'import', destination: { listId: 1 } },
      });
      expect(imp.statusCode).toBe(201);
      browser = await launchChromium();
    }, 60_000);
    afterAll(async () => {
      await browser?.close();
      await h?.close();
    });

    async function signIn(token: string): Promise<Page> {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${h.base}/login`);
      await page.fill('#token', token);
      await page.click('button[type=submit]');
      await page.waitForURL('**/imports');
      return page;
    }

    it('creates an account token, shows it once, and the token signs in to that account only', async () => {
      const page = await signIn(h.adminToken);
      await page.goto(`${h.base}/account?account=acme`);
      expect(await page.locator('#new-token').count()).toBe(0);
      await page.fill('#token-form input[name=name]', 'crm-sync');
      await page.click('#token-form button[type=submit]');
      await page.waitForSelector('#new-token-box');
      const token = await page.inputValue('#new-token');
      expect(token).toMatch(/^ds_acc_/);
      expect(await page.textContent('#new-token-box')).toContain('not shown again');
      expect(await page.textContent('#account-message')).toContain('crm-sync');
      // Not in the URL, and the audit log (as the API writes it) names the token, not the secret.
      expect(page.url()).not.toContain(token);
      const audit = await page.textContent('#audit');
      expect(audit).toContain('token.create');
      expect(audit).toContain('crm-sync');
      expect(audit).not.toContain(token);
      await page.screenshot({
        path: path.join(ARTIFACTS, `11-account-token-${dialect}.png`),
        fullPage: true,
      });
      // A reload of that page (the GET after the redirect) neither shows the token again nor creates another.
      const tokensBefore = await countRows(h.store.db, 'api_tokens');
      await page.reload();
      expect(await page.locator('#new-token').count()).toBe(0);
      expect(await page.locator('#new-token-gone').count()).toBe(1);
      expect(await page.locator('#tokens tr', { hasText: 'crm-sync' }).count()).toBe(1);
      expect(await countRows(h.store.db, 'api_tokens')).toBe(tokensBefore);
      // Never shown again.
      await page.goto(`${h.base}/account?account=acme`);
      expect(await page.locator('#new-token').count()).toBe(0);
      expect(await page.content()).not.toContain(token);

      // The new token signs in as acme: no token form (admin only), and other accounts stay out of reach.
      const asAcme = await signIn(token);
      expect(await asAcme.textContent('header .who span')).toBe('acme');
      await asAcme.goto(`${h.base}/account`);
      expect(await asAcme.locator('#token-form').count()).toBe(0);
      const denied = await asAcme.request.post(`${h.base}/account/acme/tokens`, {
        form: { name: 'sneaky' },
        headers: { origin: h.base },
      });
      expect(denied.status()).toBe(403);
      expect(await denied.text()).toContain('DS_FORBIDDEN');

      // Revoke it: the button asks first (dismissed: nothing happens), then the token is refused at once.
      await page.goto(`${h.base}/account?account=acme`);
      const row = () => page.locator('#tokens tr', { hasText: 'crm-sync' });
      page.once('dialog', (d) => void d.dismiss());
      await row().locator('button:has-text("Revoke")').click();
      await page.waitForTimeout(300);
      expect(await row().count()).toBe(1);
      expect(await countRows(h.store.db, 'api_tokens')).toBe(tokensBefore);
      let asked = '';
      page.once('dialog', (d) => {
        asked = d.message();
        void d.accept();
      });
      await Promise.all([
        page.waitForURL('**/account?account=acme&done=*'),
        row().locator('button:has-text("Revoke")').click(),
      ]);
      expect(asked).toContain('crm-sync');
      expect(await row().count()).toBe(0);
      expect(await page.textContent('#account-message')).toContain('Revoked API token');
      expect(await page.textContent('#audit')).toContain('token.revoke');
      const refused = await page.request.get(`${h.base}/api/v1/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(refused.status()).toBe(401);
      await asAcme.goto(`${h.base}/imports`);
      expect(new URL(asAcme.url()).pathname).toBe('/login');
      await page.context().close();
      await asAcme.context().close();
    }, 60_000);

    it('checks a CSV with an import instance: counters and rejected rows shown, nothing imported', async () => {
      const jobsBefore = await countRows(h.store.db, 'jobs');
      const page = await signIn(h.adminToken);
      await page.goto(`${h.base}/instances?account=acme`);
      await page.click('a:has-text("Check a file")');
      await page.waitForURL('**/files?account=acme&check=customers#dry-run');
      expect(await page.inputValue('#dry-run-instance')).toBe('customers');
      await page.setInputFiles('#dry-run-file', {
        name: 'march.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(
          '1;2;111\nMario;Rossi;mario@example.com\nAnna;Bianchi;not-an-email\nZed;Zeta;zed@example.com\n',
        ),
      });
      await page.click('#dry-run button[type=submit]');
      await page.waitForSelector('#dry-run-counts');
      const count = async (k: string) => Number(await page.textContent(`#dry-run-counts [data-count=${k}]`));
      expect({
        processed: await count('processed'),
        valid: await count('valid'),
        rejected: await count('rejected'),
        created: await count('created'),
      }).toEqual({ processed: 3, valid: 2, rejected: 1, created: 2 });
      expect(await page.textContent('#dry-run-summary')).toContain('Nothing was imported');
      const rows = page.locator('#dry-run-rejected tbody tr');
      expect(await rows.count()).toBe(1);
      expect(await rows.first().locator('td').first().textContent()).toBe('3');
      expect(await rows.first().textContent()).toContain('DS_EMAIL_INVALID');
      await page.screenshot({
        path: path.join(ARTIFACTS, `12-import-dry-run-${dialect}.png`),
        fullPage: true,
      });
      // A dry run: no recipient, no job, no file left in the space or the work folder.
      expect(await countRows(h.store.db, 'recipients')).toBe(0);
      expect(await countRows(h.store.db, 'jobs')).toBe(jobsBefore);
      const work = path.join(h.dataDir, 'work', 'dry-runs');
      expect(fs.existsSync(work) ? fs.readdirSync(work) : []).toEqual([]);

      // A file the instance cannot read shows the error instead of counters' summary.
      await page.setInputFiles('#dry-run-file', {
        name: 'bad.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from('999;nope\nx;y\n'),
      });
      await page.click('#dry-run button[type=submit]');
      await page.waitForSelector('#dry-run-summary:has-text("cannot be imported")');
      expect(await page.textContent('#dry-run-summary')).toMatch(/DS_[A-Z_]+/);
      await page.context().close();
    }, 60_000);
  },
);
