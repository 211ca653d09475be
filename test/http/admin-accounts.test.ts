/** Admin API: accounts, fields, lists, groups and the audit log — auth, validation, pagination, both dialects. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from '../web/admin-harness.js';

describe.each(DIALECTS)('admin API accounts (%s)', (dialect) => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdmin(dialect);
  });
  afterEach(() => h.close());

  it('needs a token (401) and keeps account tokens to their account (403)', async () => {
    expect((await h.req('GET', '/api/v1/accounts', { token: null })).statusCode).toBe(401);
    expect((await h.req('GET', '/api/v1/accounts/acme/lists', { token: 'ds_wrong' })).statusCode).toBe(401);
    const cross = await h.req('GET', '/api/v1/accounts/other/lists', { token: h.acmeToken });
    expect(cross.statusCode).toBe(403);
    expect(cross.json().error.code).toBe('DS_FORBIDDEN');
    const create = await h.req('POST', '/api/v1/accounts', { token: h.acmeToken, body: { id: 'x' } });
    expect(create.statusCode).toBe(403);
    const own = await h.req('GET', '/api/v1/accounts', { token: h.acmeToken });
    expect(own.json()).toEqual({ items: [expect.objectContaining({ id: 'acme' })], next: null });
    expect((await h.req('GET', '/api/v1/audit', { token: h.acmeToken })).statusCode).toBe(403);
  });

  it('creates accounts, validates them, and pages them with a keyset cursor', async () => {
    const bad = await h.req('POST', '/api/v1/accounts', { body: { id: 'Bad Id!' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('DS_VALIDATION');
    expect((await h.req('POST', '/api/v1/accounts', { body: { nope: 1 } })).statusCode).toBe(400);
    const made = await h.req('POST', '/api/v1/accounts', {
      body: { id: 'zeta', name: 'Zeta', timeZone: 'Europe/Berlin', defaultCountry: 'de' },
    });
    expect(made.statusCode).toBe(201);
    expect(made.json()).toMatchObject({ id: 'zeta', timeZone: 'Europe/Berlin', defaultCountry: 'DE' });
    expect((await h.req('POST', '/api/v1/accounts', { body: { id: 'zeta' } })).statusCode).toBe(409);
    for (const id of ['b1', 'b2', 'b3']) await createAccount(h.store.db, { id });
    const seen: string[] = [];
    let url = '/api/v1/accounts?limit=2';
    for (;;) {
      const page = (await h.req('GET', url)).json() as { items: { id: string }[]; next: string | null };
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((a) => a.id));
      if (!page.next) break;
      url = `/api/v1/accounts?limit=2&after=${page.next}`;
    }
    expect(seen).toEqual(['acme', 'b1', 'b2', 'b3', 'other', 'zeta']);
    expect((await h.req('GET', '/api/v1/accounts?limit=0')).statusCode).toBe(400);
    expect((await h.req('GET', '/api/v1/accounts/nope')).statusCode).toBe(404);
  });

  it('sets fields, creates lists and groups, pages them, and records each change in the audit log', async () => {
    const f = await h.req('PUT', '/api/v1/accounts/acme/fields/3', {
      token: h.acmeToken,
      body: { name: 'City' },
    });
    expect(f.statusCode).toBe(200);
    expect((await h.req('PUT', '/api/v1/accounts/acme/fields/40', { body: { name: 'x' } })).statusCode).toBe(
      400,
    );
    expect((await h.req('GET', '/api/v1/accounts/acme/fields')).json().items).toEqual([
      { fieldId: 3, name: 'City', defaultValue: null },
    ]);
    const l = await h.req('POST', '/api/v1/accounts/acme/lists', {
      body: { listId: 2, name: 'Offers', mobilePrefix: '39' },
    });
    expect(l.statusCode).toBe(201);
    expect(
      (await h.req('POST', '/api/v1/accounts/acme/lists', { body: { listId: 2, name: 'Again' } })).statusCode,
    ).toBe(409);
    expect(
      (await h.req('POST', '/api/v1/accounts/acme/lists', { body: { listId: -1, name: 'x' } })).statusCode,
    ).toBe(400);
    const lists = (await h.req('GET', '/api/v1/accounts/acme/lists?limit=1')).json();
    expect(lists.items.map((x: { listId: number }) => x.listId)).toEqual([1]);
    expect(lists.next).toBe('1');
    const rest = (await h.req('GET', '/api/v1/accounts/acme/lists?limit=1&after=1')).json();
    expect(rest).toMatchObject({ items: [{ listId: 2, mobilePrefix: '39' }], next: null });

    const g = await h.req('POST', '/api/v1/accounts/acme/groups', { body: { listId: 1, name: 'VIP' } });
    expect(g.statusCode).toBe(201);
    const unknownList = await h.req('POST', '/api/v1/accounts/acme/groups', {
      body: { listId: 9, name: 'x' },
    });
    expect(unknownList.json().error.code).toBe('DS_LIST_UNKNOWN');
    await h.req('POST', '/api/v1/accounts/acme/groups', { body: { listId: 2, name: 'Test', isTest: true } });
    const groups = (await h.req('GET', '/api/v1/accounts/acme/groups?listId=2')).json();
    expect(groups.items).toEqual([expect.objectContaining({ name: 'Test', isTest: true, listId: 2 })]);

    const audit = (await h.req('GET', '/api/v1/accounts/acme/audit?limit=3', { token: h.acmeToken })).json();
    expect(audit.items.map((e: { action: string }) => e.action)).toEqual([
      'group.create',
      'group.create',
      'list.create',
    ]);
    expect(audit.items[2]).toMatchObject({ actor: 'admin', target: '2', accountId: 'acme' });
    const older = (await h.req('GET', `/api/v1/accounts/acme/audit?before=${audit.next}`)).json();
    expect(older.items).toEqual([
      expect.objectContaining({ action: 'field.set', actor: 'account:acme', target: '3' }),
    ]);
    const all = (await h.req('GET', '/api/v1/audit')).json();
    expect(all.items).toHaveLength(4);
  });

  it('documents every admin route in the OpenAPI document', async () => {
    const doc = (await h.req('GET', '/api/openapi.json', { token: null })).json();
    for (const [p, m] of [
      ['/api/v1/accounts', 'get'],
      ['/api/v1/accounts', 'post'],
      ['/api/v1/accounts/{accountId}/fields/{fieldId}', 'put'],
      ['/api/v1/accounts/{accountId}/recipients', 'get'],
      ['/api/v1/accounts/{accountId}/sftp-users', 'post'],
      ['/api/v1/accounts/{accountId}/instances/{instanceId}', 'put'],
      ['/api/v1/accounts/{accountId}/instances/{instanceId}/validate', 'post'],
      ['/api/v1/jobs', 'get'],
      ['/api/v1/jobs/{jobId}/files/{file}', 'get'],
      ['/api/v1/jobs/{jobId}/retry', 'post'],
      ['/api/v1/audit', 'get'],
    ] as const)
      expect(doc.paths[p]?.[m], `${m} ${p}`).toBeDefined();
    const jobs = doc.paths['/api/v1/jobs'].get;
    expect(jobs.parameters.map((x: { name: string }) => x.name)).toEqual(
      expect.arrayContaining(['limit', 'before', 'status', 'kind', 'accountId']),
    );
  });
});
