/**
 * Dashboard pages added for CLI parity and the charts, over app.inject: charts drawn from real events and
 * import jobs, a message's events summary, the instance editor (validate without saving, save), an export run
 * for a window, SFTP users and keys. Both dialects.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertJob, updateJob, upsertRecipient } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from './admin-harness.js';

describe.each(DIALECTS)('dashboard management pages and charts (%s)', (dialect) => {
  let h: AdminHarness;
  let cookie: string;
  beforeEach(async () => {
    h = await startAdmin(dialect, { dashboard: true });
    cookie = await signIn(h.adminToken);
  });
  afterEach(() => h.close());

  const form = (url: string, body: Record<string, string>, c = cookie) => h.form(url, body, c);
  const signIn = (token: string) => h.signIn(token);
  const page = (url: string, c = cookie) => h.page(url, c);

  it('draws rows imported per day, opens and clicks per message and SMS outcomes from real data', async () => {
    for (const [email, mobile] of [
      ['alice@example.com', '+393471111111'],
      ['bob@example.com', '+393472222222'],
    ])
      await upsertRecipient(h.store.db, { accountId: 'acme', email, mobile, listId: 1 });
    const idNl = (
      await h.req('POST', '/api/v1/accounts/acme/messages/email', {
        body: { subject: 'Spring <sale>', text: 'hi', senderEmail: 'news@acme.test' },
      })
    ).json().idNl as number;
    const idSMS = (await h.req('POST', '/api/v1/accounts/acme/messages/sms', { body: { text: 'hi' } })).json()
      .idSMS as number;
    const ev = await h.req('POST', '/api/v1/accounts/acme/events', {
      body: [
        { kind: 'open', email: 'alice@example.com', idNl },
        { kind: 'open', email: 'bob@example.com', idNl },
        { kind: 'click', email: 'bob@example.com', idNl, url: 'https://shop.example.com/x' },
        { kind: 'sms_status', channel: 'sms', mobile: '+393471111111', idSMS, status: 'DELIVRD' },
        { kind: 'sms_status', channel: 'sms', mobile: '+393472222222', idSMS, status: 'EXPIRED' },
      ],
    });
    expect(ev.json().recorded).toBe(5);
    const j = await insertJob(
      h.store.db,
      { accountId: 'acme', kind: 'import', trigger: 'upload', inputName: 'a.csv' },
      new Date('2026-02-27T10:00:00Z'),
    );
    await updateJob(h.store.db, j.id, {
      status: 'partial',
      counters_json: JSON.stringify({ processed: 1240, valid: 1234, rejected: 6 }),
    });

    // An admin picks the account; without one the page asks for it.
    expect((await page('/charts')).body).toContain('Choose an account.');
    const res = await page('/charts?account=acme');
    expect(res.statusCode).toBe(200);
    const body = res.body;
    for (const id of ['chart-imports', 'chart-messages', 'chart-sms']) expect(body).toContain(`id="${id}"`);
    // Bars carry their figures in a tooltip; the subject is escaped in the SVG and the table.
    expect(body).toContain('02-27 — imported: 1234');
    expect(body).toContain('02-27 — rejected: 6');
    expect(body).toContain(`#${idNl} Spring &lt;sale&gt; — unique opens: 2`);
    expect(body).toContain(`#${idNl} Spring &lt;sale&gt; — unique clicks: 1`);
    expect(body).toContain('DELIVERED — reports: 1');
    expect(body).toContain('EXPIRED — reports: 1');
    expect(body).not.toContain('<sale>');
    expect((body.match(/<rect class="bar /g) ?? []).length).toBe(6);

    const acme = await signIn(h.acmeToken);
    expect((await page('/charts', acme)).body).toContain('chart-imports'); // an account token: its own account
    const summary = await page(`/messages/email/${idNl}?account=acme`, acme);
    expect(summary.statusCode).toBe(200);
    expect(summary.body).toContain('https://shop.example.com/x');
    expect(summary.body).toMatch(/unique opens<\/th>\s*<td class="num">2</);
    expect((await page(`/messages/email/999?account=acme`, acme)).statusCode).toBe(404);
  });

  it('validates and saves instances from the editor, and runs an export for a window', async () => {
    const editor = await page('/instances/acme/new');
    expect(editor.body).toContain('name="definition"');
    const bad = await form('/instances/acme/edit', {
      id: 'unsubs',
      definition: 'kind: export\ntype: unsubscribers\nlists: [7]\n',
      action: 'validate',
    });
    expect(bad.statusCode).toBe(404);
    expect(bad.body).toContain('DS_LIST_UNKNOWN');
    expect(bad.body).toContain('lists: [7]'); // the operator's text is kept
    const notYaml = await form('/instances/acme/edit', {
      id: 'x',
      definition: 'kind: [',
      action: 'validate',
    });
    expect(notYaml.statusCode).toBe(400);
    const definition = 'kind: export\ntype: unsubscribers\nlists: [1]\n';
    const ok = await form('/instances/acme/edit', { id: 'unsubs', definition, action: 'validate' });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('The definition is valid (not saved).');
    expect((await h.req('GET', '/api/v1/accounts/acme/instances/unsubs')).statusCode).toBe(404);
    const save = await form('/instances/acme/edit', { id: 'unsubs', definition, action: 'save' });
    expect(save.statusCode).toBe(303);
    expect(save.headers.location).toBe('/instances?account=acme');
    const list = await page('/instances?account=acme');
    expect(list.body).toContain('/instances/acme/unsubs/edit');
    expect(list.body).toContain('action="/exports/unsubs/run"');
    expect((await page('/instances/acme/unsubs/edit')).body).toContain('type: unsubscribers');

    await upsertRecipient(h.store.db, { accountId: 'acme', email: 'dave@example.com', listId: 1 });
    await h.req('POST', '/api/v1/accounts/acme/events', {
      body: [{ kind: 'unsubscribe', email: 'dave@example.com', idList: 1 }],
    });
    h.clock.set('2026-03-01T12:00:00.000Z');
    // datetime-local values have no zone: the form says UTC.
    const run = await form('/exports/unsubs/run', { from: '2026-03-01T09:00', to: '2026-03-01T11:00' });
    expect(run.statusCode).toBe(200);
    expect(run.body).toContain('2026-03-01 09:00:00 UTC');
    expect(run.body).toMatch(/<th>Rows<\/th>\s*<td class="num">1</);
    const jobId = /href="\/jobs\/([0-9a-z]+)"/.exec(run.body)![1]!;
    expect((await h.req('GET', `/api/v1/jobs/${jobId}`)).json()).toMatchObject({
      trigger: 'api',
      status: 'succeeded',
    });
    const file = /<code>hosted:\/export\/([^<]+)<\/code>/.exec(run.body)![1]!;
    expect(fs.readFileSync(h.spaces.resolve('acme', `/export/${file}`), 'utf8')).toContain(
      'dave@example.com',
    );
    const reversed = await form('/exports/unsubs/run', { from: '2026-03-01T11:00', to: '2026-03-01T09:00' });
    expect(reversed.statusCode).toBe(400);
    expect(reversed.body).toContain('DS_EXPORT_WINDOW_INVALID');
  });

  it('adds SFTP users, sets and removes passwords, adds and removes keys, removes users', async () => {
    const dir = fs.mkdtempSync(path.join(h.dataDir, 'keys-'));
    const key = path.join(dir, 'id');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ops@acme', '-f', key]);
    const pub = fs.readFileSync(`${key}.pub`, 'utf8');
    const fp = execFileSync('ssh-keygen', ['-lf', `${key}.pub`], { encoding: 'utf8' }).split(' ')[1]!;

    const add = await form('/sftp-users/acme', {
      username: 'uploader',
      password: 'correct horse',
      authorizedKeys: '',
    });
    expect(add.statusCode).toBe(303);
    expect(add.headers.location).toContain('/sftp-users?account=acme');
    const short = await form('/sftp-users/acme', { username: 'other', password: 'short' });
    expect(short.statusCode).toBe(400);
    const list = await page('/sftp-users?account=acme');
    expect(list.body).toContain('data-user="uploader"');
    expect(list.body).toMatch(/data-user="uploader">[\s\S]*?<td>\s*set/);

    expect((await form('/sftp-users/acme/uploader/keys', { authorizedKeys: pub })).statusCode).toBe(303);
    expect((await page('/sftp-users?account=acme')).body).toContain(fp);
    expect((await form('/sftp-users/acme/uploader/password', { remove: '1' })).statusCode).toBe(303);
    let api = (await h.req('GET', '/api/v1/accounts/acme/sftp-users')).json().items[0];
    expect(api).toMatchObject({ username: 'uploader', hasPassword: false, keys: [{ fingerprint: fp }] });
    expect(
      (await form('/sftp-users/acme/uploader/password', { password: 'another secret' })).statusCode,
    ).toBe(303);
    expect((await form('/sftp-users/acme/uploader/keys/remove', { fingerprint: fp })).statusCode).toBe(303);
    api = (await h.req('GET', '/api/v1/accounts/acme/sftp-users')).json().items[0];
    expect(api).toMatchObject({ hasPassword: true, keys: [] });

    // An account token cannot manage another account's users.
    const acme = await signIn(h.acmeToken);
    expect(
      (await form('/sftp-users/other', { username: 'x', password: 'long enough' }, acme)).statusCode,
    ).toBe(403);
    expect((await form('/sftp-users/acme/uploader/remove', {})).statusCode).toBe(303);
    expect((await h.req('GET', '/api/v1/accounts/acme/sftp-users')).json().items).toEqual([]);
    const audit = (await h.req('GET', '/api/v1/accounts/acme/audit?limit=20'))
      .json()
      .items.map((e: { action: string }) => e.action);
    expect(audit).toContain('sftp_user.create');
  });

  it('creates accounts, lists, groups and fields, searches recipients and shows the audit log', async () => {
    expect((await page('/account')).body).toContain('Create an account');
    const created = await form('/accounts', { id: 'shop', name: 'Shop Ltd' });
    expect(created.statusCode).toBe(303);
    expect(created.headers.location).toContain('/account?account=shop');
    expect(
      (await form('/account/shop/lists', { listId: '3', name: 'Offers', mobilePrefix: '39' })).statusCode,
    ).toBe(303);
    expect((await form('/account/shop/groups', { listId: '3', name: 'VIP' })).statusCode).toBe(303);
    expect((await form('/account/shop/fields', { fieldId: '1', name: 'First name' })).statusCode).toBe(303);
    const badField = await form('/account/shop/fields', { fieldId: '40', name: 'x' });
    expect(badField.statusCode).toBe(400);
    await upsertRecipient(h.store.db, { accountId: 'shop', email: 'zed@example.com', listId: 3 });
    await upsertRecipient(h.store.db, { accountId: 'shop', email: 'amy@example.com', listId: 3 });
    const p = await page('/account?account=shop&q=zed@example.com');
    expect(p.statusCode).toBe(200);
    expect(p.body).toMatch(/id="lists"[\s\S]*Offers[\s\S]*\+39/);
    expect(p.body).toMatch(/id="groups"[\s\S]*VIP/);
    expect(p.body).toMatch(/id="fields"[\s\S]*First name/);
    expect(p.body).toContain('zed@example.com');
    expect(p.body).not.toContain('amy@example.com');
    expect(p.body).toContain('list 3 email: subscribed');
    for (const action of ['account.create', 'list.create', 'group.create', 'field.set'])
      expect(p.body).toContain(`<code>${action}</code>`);

    // An account token sees its own account and cannot create accounts.
    const acme = await signIn(h.acmeToken);
    expect((await page('/account', acme)).body).not.toContain('Create an account');
    expect((await form('/accounts', { id: 'x' }, acme)).statusCode).toBe(403);
    expect((await form('/account/shop/lists', { listId: '4', name: 'n' }, acme)).statusCode).toBe(403);
  });
});
