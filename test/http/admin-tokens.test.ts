/**
 * Admin API tokens over the admin API on both dialects: list (never a secret or hash, never an account
 * token), create (shown once), revoke (refused at once), the last admin token kept (DS_TOKEN_LAST_ADMIN, also
 * under two concurrent revokes), admin only, audited, and in the OpenAPI document.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DatasyncError } from '../../src/errors.js';
import {
  createApiTokenRecord,
  listAdminTokens,
  revokeAdminToken,
  verifyApiToken,
} from '../../src/http/index.js';
import { listAuditEntries } from '../../src/store/audit.repository.js';
import { createAccount } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { startHarness, type Harness } from './http-harness.js';

describe.each(DIALECTS)('admin API tokens (%s)', (dialect) => {
  let h: Harness;
  let adminId: number;
  let acme: { id: number; token: string };
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, token: string, payload?: object) =>
    h.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload ? { payload } : {}),
    });
  const adminList = async (token = h.adminToken) => {
    const res = await call('GET', '/api/v1/admin/tokens', token);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { items: Record<string, unknown>[] }).items;
  };
  beforeEach(async () => {
    h = await startHarness(dialect, { listen: false });
    adminId = (await verifyApiToken(h.store.db, h.adminToken))!.id;
    await createAccount(h.store.db, { id: 'acme', name: 'Acme' });
    acme = await createApiTokenRecord(h.store.db, { accountId: 'acme', name: 'crm' });
  });
  afterEach(() => h.close());

  it('lists the admin tokens only, marking the caller: no secret, no hash, no account token', async () => {
    const made = await call('POST', '/api/v1/admin/tokens', h.adminToken, { name: 'ops-laptop' });
    expect(made.statusCode, made.body).toBe(201);
    const created = made.json() as { id: number; token: string; name: string };
    expect(created).toEqual({
      id: expect.any(Number),
      token: expect.stringMatching(/^ds_adm_/),
      name: 'ops-laptop',
    });

    const res = await call('GET', '/api/v1/admin/tokens', h.adminToken);
    expect(res.json()).toEqual({
      items: [
        {
          id: adminId,
          name: 'test-admin',
          createdAt: expect.any(String),
          lastUsedAt: expect.any(String),
          current: true,
        },
        {
          id: created.id,
          name: 'ops-laptop',
          createdAt: '2026-03-01T10:00:00.000Z',
          lastUsedAt: null,
          current: false,
        },
      ],
    });
    const hashes = await h.store.db.selectFrom('api_tokens').select('token_hash').execute();
    for (const { token_hash } of hashes) expect(res.body).not.toContain(token_hash);
    for (const t of [h.adminToken, created.token, acme.token]) expect(res.body).not.toContain(t);
    expect(res.body).not.toContain('"crm"');
    expect(await verifyApiToken(h.store.db, created.token)).toEqual({ id: created.id, accountId: null });
    // The new token lists too, and marks itself.
    expect((await adminList(created.token)).map((t) => [t.id, t.current])).toEqual([
      [adminId, false],
      [created.id, true],
    ]);
  });

  it('is admin only: an account token can neither list, create nor revoke admin tokens', async () => {
    const second = await createApiTokenRecord(h.store.db, { accountId: null, name: 'spare' });
    for (const [method, url, body] of [
      ['GET', '/api/v1/admin/tokens', undefined],
      ['POST', '/api/v1/admin/tokens', { name: 'mine' }],
      ['DELETE', `/api/v1/admin/tokens/${second.id}`, undefined],
    ] as const) {
      const res = await call(method, url, acme.token, body);
      expect(res.statusCode, `${method} ${url}`).toBe(403);
      expect(res.json().error.code).toBe('DS_FORBIDDEN');
      expect(res.body).not.toContain('spare');
    }
    expect((await call('GET', '/api/v1/admin/tokens', 'ds_adm_nope')).statusCode).toBe(401);
    expect(await verifyApiToken(h.store.db, second.token)).toBeDefined();
    expect((await adminList()).map((t) => t.name)).toEqual(['test-admin', 'spare']);
  });

  it('revokes: refused at once; an account token id is not found here; audited without the secret', async () => {
    const spare = await createApiTokenRecord(h.store.db, { accountId: null, name: 'spare' });
    expect((await call('GET', '/api/v1/me', spare.token)).statusCode).toBe(200);
    const del = await call('DELETE', `/api/v1/admin/tokens/${spare.id}`, h.adminToken);
    expect(del.statusCode, del.body).toBe(204);
    const refused = await call('GET', '/api/v1/me', spare.token);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('DS_UNAUTHORIZED');
    expect((await adminList()).map((t) => t.id)).toEqual([adminId]);

    const again = await call('DELETE', `/api/v1/admin/tokens/${spare.id}`, h.adminToken);
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('DS_NOT_FOUND');
    // An account token's id is not an admin token: not found, and it keeps working.
    const acct = await call('DELETE', `/api/v1/admin/tokens/${acme.id}`, h.adminToken);
    expect(acct.statusCode).toBe(404);
    expect(await verifyApiToken(h.store.db, acme.token)).toBeDefined();
    expect((await call('DELETE', '/api/v1/admin/tokens/x', h.adminToken)).json().error.code).toBe(
      'DS_VALIDATION',
    );

    const audit = await listAuditEntries(h.store.db, { limit: 10 });
    expect(audit.map((e) => [e.action, e.actor, e.accountId, e.target, e.details])).toContainEqual([
      'token.revoke',
      'admin',
      null,
      'spare',
      { id: spare.id },
    ]);
    expect(JSON.stringify(audit)).not.toContain(spare.token);
  });

  it('keeps the last admin token (DS_TOKEN_LAST_ADMIN); rotation is create, then revoke the old one', async () => {
    const last = await call('DELETE', `/api/v1/admin/tokens/${adminId}`, h.adminToken);
    expect(last.statusCode).toBe(409);
    expect(last.json().error.code).toBe('DS_TOKEN_LAST_ADMIN');
    expect((await call('GET', '/api/v1/me', h.adminToken)).statusCode).toBe(200);

    const made = await call('POST', '/api/v1/admin/tokens', h.adminToken, { name: 'rotated' });
    const next = made.json() as { id: number; token: string };
    // Revoking itself is allowed once another exists: the caller is refused from its next request.
    expect((await call('DELETE', `/api/v1/admin/tokens/${adminId}`, h.adminToken)).statusCode).toBe(204);
    expect((await call('GET', '/api/v1/me', h.adminToken)).statusCode).toBe(401);
    const self = await call('DELETE', `/api/v1/admin/tokens/${next.id}`, next.token);
    expect(self.json().error.code).toBe('DS_TOKEN_LAST_ADMIN');
    const audit = await listAuditEntries(h.store.db, { limit: 10 });
    expect(audit.filter((e) => e.action === 'token.create').map((e) => [e.target, e.details])).toEqual([
      ['rotated', { id: next.id }],
    ]);
  });

  it('keeps one admin token when the last two are revoked at the same time', async () => {
    // Straight through the store (two pooled connections on PostgreSQL): over HTTP the loser would often be
    // refused earlier, at authentication, by the token the winner just revoked.
    for (let round = 0; round < 5; round++) {
      await createApiTokenRecord(h.store.db, { accountId: null, name: `b${round}` });
      const ids = (await listAdminTokens(h.store.db)).map((t) => t.id);
      expect(ids).toHaveLength(2);
      const results = await Promise.allSettled(ids.map((id) => revokeAdminToken(h.store.db, id)));
      expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect((refused.reason as DatasyncError).code).toBe('DS_TOKEN_LAST_ADMIN');
      expect(await listAdminTokens(h.store.db)).toHaveLength(1);
    }
  });

  it('documents the admin token routes in the OpenAPI document', async () => {
    const doc = (await h.app.inject({ url: '/api/openapi.json' })).json();
    const tokens = doc.paths['/api/v1/admin/tokens'];
    expect(
      tokens.get.responses['200'].content['application/json'].schema.properties.items.items.properties,
    ).toHaveProperty('lastUsedAt');
    expect(tokens.post).toBeDefined();
    const del = doc.paths['/api/v1/admin/tokens/{tokenId}'].delete;
    expect(del.parameters.map((p: { name: string }) => p.name)).toEqual(['tokenId']);
  });
});
