/** Dashboard pages over app.inject: sign-in cookie, Import status, job detail, downloads, scoping, escaping, CSRF. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertJob, newJobId, updateJob, upsertInstance } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from './admin-harness.js';

describe.each(DIALECTS)('dashboard pages (%s)', (dialect) => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdmin(dialect, { dashboard: true });
  });
  afterEach(() => h.close());

  const form = (url: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      payload: new URLSearchParams(body).toString(),
    });
  async function signIn(token: string): Promise<string> {
    const res = await form('/login', { token });
    expect(res.statusCode).toBe(303);
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^ds_token=.+; Path=\/; HttpOnly; SameSite=Strict$/);
    return cookie.split(';')[0]!;
  }
  const page = (url: string, cookie?: string) =>
    h.app.inject({ method: 'GET', url, headers: cookie ? { cookie } : {} });

  it('signs in with a valid token only, and sends signed-out browsers to the sign-in page', async () => {
    expect((await page('/imports')).headers.location).toBe('/login');
    const login = await page('/login');
    expect(login.headers['content-type']).toMatch(/text\/html/);
    expect(login.headers['content-security-policy']).toContain("script-src 'self'");
    expect(login.body).toContain('name="token"');
    const bad = await form('/login', { token: 'ds_nope' });
    expect(bad.statusCode).toBe(401);
    expect(bad.body).toContain('That token is not valid');
    expect((await page('/imports', 'ds_token=ds_nope')).headers.location).toBe('/login');
    const cookie = await signIn(h.adminToken);
    expect((await page('/imports', cookie)).statusCode).toBe(200);
    expect((await page('/assets/dashboard.css')).headers['content-type']).toMatch(/text\/css/);
    const out = await form('/logout', {}, { cookie });
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
  });

  it('shows queued and completed imports, their detail with rejected rows, and downloads; escapes names', async () => {
    const db = h.store.db;
    const queued = await insertJob(db, {
      accountId: 'acme',
      instanceId: 'imp',
      kind: 'import',
      trigger: 'upload',
      inputName: '<script>alert(1)</script>.csv',
      inputSize: 2048,
    });
    const id = newJobId(new Date('2026-03-01T09:00:00Z'));
    const done = h.spaces.resolve('acme', '/import/done');
    fs.mkdirSync(done, { recursive: true });
    fs.writeFileSync(
      path.join(done, `${id}_list.csv.rejected.csv`),
      'email,_line,_code,_reason\nbad,3,DS_EMAIL_INVALID,bad\n',
    );
    await insertJob(db, {
      id,
      accountId: 'acme',
      instanceId: 'imp',
      kind: 'import',
      trigger: 'upload',
      inputName: 'list.csv',
    });
    await updateJob(db, id, {
      status: 'partial',
      ended_at: '2026-03-01T09:00:05.000Z',
      counters_json: JSON.stringify({
        processed: 4,
        valid: 2,
        rejected: 2,
        malformed: 1,
        email: { valid: 2, invalidSyntax: 1, invalidMapping: 0 },
      }),
      result_json: JSON.stringify({
        rejected: [
          { line: 3, code: 'DS_EMAIL_INVALID', reason: 'bad email' },
          { line: 4, code: 'DS_IMPORT_ROW_COLUMNS', reason: '3 columns, header has 2' },
        ],
        resultFiles: { rejected: `/import/done/${id}_list.csv.rejected.csv` },
      }),
    });
    await insertJob(db, {
      accountId: 'other',
      kind: 'import',
      trigger: 'upload',
      inputName: 'secret-other.csv',
    });
    const admin = await signIn(h.adminToken);
    const status = await page('/imports', admin);
    expect(status.body).toContain('Files to be imported');
    expect(status.body).toContain(`data-job="${queued.id}"`);
    expect(status.body).toContain('2.0 KB');
    expect(status.body).not.toContain('<script>alert(1)</script>');
    expect(status.body).toContain('&lt;script&gt;alert(1)&lt;/script&gt;.csv');
    expect(status.body).toContain('data-autorefresh="5"');
    expect(status.body).toMatch(new RegExp(`<tr data-job="${id}">.*list\\.csv.*>4<`, 's'));

    const acme = await signIn(h.acmeToken);
    expect((await page('/imports', acme)).body).not.toContain('secret-other.csv');
    const detail = await page(`/jobs/${id}`, acme);
    expect(detail.statusCode).toBe(200);
    expect(detail.body).toContain('Incorrect data (1)');
    expect(detail.body).toContain('Rows do not match (1)');
    expect(detail.body).toContain('3 columns, header has 2');
    const csv = await page(`/jobs/${id}/files/rejected`, acme);
    expect(csv.statusCode).toBe(200);
    expect(csv.body).toContain('DS_EMAIL_INVALID');
    const otherJob = (await h.req('GET', '/api/v1/jobs?accountId=other')).json().items[0].id as string;
    expect((await page(`/jobs/${otherJob}`, acme)).statusCode).toBe(404);
    expect((await page(`/jobs/${otherJob}/files/input`, acme)).statusCode).toBe(404);

    // Cancel through the page; a cross-origin post is refused even with the cookie.
    const evil = await form(`/jobs/${queued.id}/cancel`, {}, { cookie: acme, origin: 'http://evil.example' });
    expect(evil.statusCode).toBe(403);
    const cancel = await form(`/jobs/${queued.id}/cancel`, {}, { cookie: acme });
    expect(cancel.statusCode).toBe(303);
    expect((await h.req('GET', `/api/v1/jobs/${queued.id}`)).json().status).toBe('cancelled');
  });

  it('lists jobs with filters, instances with their next run, and the files of the hosted space', async () => {
    const db = h.store.db;
    await upsertInstance(db, {
      id: 'nightly',
      accountId: 'acme',
      kind: 'export',
      enabled: true,
      definition: {
        type: 'unsubscribers',
        lists: [1],
        schedule: { cron: '0 4 * * *', timeZone: 'Europe/Rome' },
      },
    });
    const j = await insertJob(db, {
      accountId: 'acme',
      instanceId: 'nightly',
      kind: 'export',
      trigger: 'schedule',
    });
    await updateJob(db, j.id, {
      status: 'failed',
      error_code: 'DS_EXPORT_DESTINATION',
      ended_at: '2026-03-01T04:00:01.000Z',
    });
    const cookie = await signIn(h.adminToken);
    const jobs = await page('/jobs?kind=export&status=failed', cookie);
    expect(jobs.body).toContain(j.id);
    expect(jobs.body).toContain('DS_EXPORT_DESTINATION');
    expect((await page('/jobs?kind=import', cookie)).body).not.toContain(j.id);
    const inst = await page('/instances?account=acme', cookie);
    expect(inst.body).toContain('nightly');
    expect(inst.body).toContain('2026-03-02 03:00:00 UTC');
    expect(inst.body).toContain(`/jobs/${j.id}`);
    const off = await form('/instances/acme/nightly/disable', {}, { cookie });
    expect(off.headers.location).toBe('/instances?account=acme');
    expect((await page('/instances?account=acme', cookie)).body).toContain('disabled');

    await h.spaces.ensureAccount('acme');
    fs.writeFileSync(h.spaces.resolve('acme', '/import/new.csv'), 'email\n');
    const root = await page('/files?account=acme', cookie);
    expect(root.body).toContain('import/');
    const folder = await page('/files?account=acme&path=/import', cookie);
    expect(folder.body).toContain('new.csv');
    expect(folder.body).toContain('6 B');
    expect((await page('/files?account=acme&path=/../../etc', cookie)).statusCode).toBe(403);
    const acme = await signIn(h.acmeToken);
    expect((await page('/files?account=other&path=/import', acme)).body).toContain('new.csv'); // an account token sees its own space
  });
});
