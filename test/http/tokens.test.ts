/**
 * Account API tokens over the admin API on both dialects: list (never a secret or hash), revoke (refused at
 * once), the scope rules (an account token sees its own account's tokens and may revoke only itself; another
 * account's tokens are out of reach), `last_used_at`, the audit log and the OpenAPI document.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiTokenRecord, verifyApiToken } from '../../src/http/index.js';
import { listAuditEntries } from '../../src/store/audit.repository.js';
import { createAccount } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { startHarness, type Harness } from './http-harness.js';

describe.each(DIALECTS)('account API tokens (%s)', (dialect) => {
  let h: Harness;
  let acme: { id: number; token: string };
  let acme2: { id: number; token: string };
  let other: { id: number; token: string };
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, token: string, payload?: object) =>
    h.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(payload ? { payload } : {}),
    });
  const listOf = async (account: string, token = h.adminToken) => {
    const res = await call('GET', `/api/v1/accounts/${account}/tokens`, token);
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { items: Record<string, unknown>[] }).items;
  };
  beforeEach(async () => {
    h = await startHarness(dialect, { listen: false });
    await createAccount(h.store.db, { id: 'acme', name: 'Acme' });
    await createAccount(h.store.db, { id: 'other', name: 'Other' });
    acme = await createApiTokenRecord(h.store.db, { accountId: 'acme', name: 'crm' });
    acme2 = await createApiTokenRecord(h.store.db, { accountId: 'acme', name: 'backup' });
    other = await createApiTokenRecord(h.store.db, { accountId: 'other', name: 'other-ci' });
  });
  afterEach(() => h.close());

  it("lists an account's tokens for an admin: no secret, no hash, no admin or other-account token", async () => {
    const made = await call('POST', '/api/v1/accounts/acme/tokens', h.adminToken, { name: 'sync' });
    expect(made.statusCode).toBe(201);
    const created = made.json() as { id: number; token: string };
    const res = await call('GET', '/api/v1/accounts/acme/tokens', h.adminToken);
    expect(res.json()).toEqual({
      items: [
        {
          id: acme.id,
          accountId: 'acme',
          name: 'crm',
          createdAt: expect.any(String),
          lastUsedAt: null,
          current: false,
        },
        {
          id: acme2.id,
          accountId: 'acme',
          name: 'backup',
          createdAt: expect.any(String),
          lastUsedAt: null,
          current: false,
        },
        {
          id: created.id,
          accountId: 'acme',
          name: 'sync',
          createdAt: '2026-03-01T10:00:00.000Z',
          lastUsedAt: null,
          current: false,
        },
      ],
    });
    const hashes = await h.store.db.selectFrom('api_tokens').select('token_hash').execute();
    for (const { token_hash } of hashes) expect(res.body).not.toContain(token_hash);
    for (const t of [acme.token, created.token, h.adminToken]) expect(res.body).not.toContain(t);
    expect((await listOf('other')).map((t) => t.name)).toEqual(['other-ci']);
    const none = await call('GET', '/api/v1/accounts/nobody/tokens', h.adminToken);
    expect(none.statusCode).toBe(404);
  });

  it('lets an account token list its own account only, marking itself as current', async () => {
    const own = await listOf('acme', acme.token);
    expect(own.map((t) => [t.name, t.current])).toEqual([
      ['crm', true],
      ['backup', false],
    ]);
    const cross = await call('GET', '/api/v1/accounts/other/tokens', acme.token);
    expect(cross.statusCode).toBe(403);
    expect(cross.json().error.code).toBe('DS_FORBIDDEN');
    expect(cross.body).not.toContain('other-ci');
  });

  it('revokes: the token is refused at once with DS_UNAUTHORIZED; audited without the secret', async () => {
    expect((await call('GET', '/api/v1/accounts/acme/messages/email', acme.token)).statusCode).toBe(200);
    const del = await call('DELETE', `/api/v1/accounts/acme/tokens/${acme.id}`, h.adminToken);
    expect(del.statusCode).toBe(204);
    const refused = await call('GET', '/api/v1/accounts/acme/messages/email', acme.token);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('DS_UNAUTHORIZED');
    expect(await verifyApiToken(h.store.db, acme.token)).toBeUndefined();
    // Its sibling and the other account's token are untouched.
    expect((await call('GET', '/api/v1/me', acme2.token)).statusCode).toBe(200);
    expect((await call('GET', '/api/v1/me', other.token)).statusCode).toBe(200);
    expect((await listOf('acme')).map((t) => t.id)).toEqual([acme2.id]);

    const again = await call('DELETE', `/api/v1/accounts/acme/tokens/${acme.id}`, h.adminToken);
    expect(again.statusCode).toBe(404);
    expect(again.json().error.code).toBe('DS_NOT_FOUND');
    const bad = await call('DELETE', '/api/v1/accounts/acme/tokens/x', h.adminToken);
    expect(bad.json().error.code).toBe('DS_VALIDATION');

    const audit = await listAuditEntries(h.store.db, { accountId: 'acme', limit: 10 });
    expect(audit.map((e) => [e.action, e.actor, e.target, e.details])).toContainEqual([
      'token.revoke',
      'admin',
      'crm',
      { id: acme.id },
    ]);
    expect(JSON.stringify(audit)).not.toContain(acme.token);
  });

  it("never reaches another account's token, even by its id under the wrong account", async () => {
    // An admin naming the wrong account: not found, and the token still works.
    const wrong = await call('DELETE', `/api/v1/accounts/acme/tokens/${other.id}`, h.adminToken);
    expect(wrong.statusCode).toBe(404);
    const adminId = (await verifyApiToken(h.store.db, h.adminToken))!.id;
    expect((await call('DELETE', `/api/v1/accounts/acme/tokens/${adminId}`, h.adminToken)).statusCode).toBe(
      404,
    );
    // An account token: another account's path is forbidden, whatever the id.
    for (const id of [other.id, acme.id]) {
      const cross = await call('DELETE', `/api/v1/accounts/other/tokens/${id}`, acme.token);
      expect(cross.statusCode).toBe(403);
      expect(cross.json().error.code).toBe('DS_FORBIDDEN');
    }
    // Nor another account's token through its own path.
    expect((await call('DELETE', `/api/v1/accounts/acme/tokens/${other.id}`, acme.token)).statusCode).toBe(
      403,
    );
    expect((await call('GET', '/api/v1/me', other.token)).statusCode).toBe(200);
    expect((await listOf('other')).map((t) => t.id)).toEqual([other.id]);
  });

  it('lets an account token revoke itself but not its siblings', async () => {
    const sibling = await call('DELETE', `/api/v1/accounts/acme/tokens/${acme2.id}`, acme.token);
    expect(sibling.statusCode).toBe(403);
    expect(sibling.json().error.message).toContain('only itself');
    expect((await call('GET', '/api/v1/me', acme2.token)).statusCode).toBe(200);
    const self = await call('DELETE', `/api/v1/accounts/acme/tokens/${acme.id}`, acme.token);
    expect(self.statusCode).toBe(204);
    expect((await call('GET', '/api/v1/me', acme.token)).statusCode).toBe(401);
    const audit = await listAuditEntries(h.store.db, { accountId: 'acme', limit: 10 });
    expect(audit.find((e) => e.action === 'token.revoke')).toMatchObject({
      actor: 'account:acme',
      target: 'crm',
    });
    // Creating stays admin only.
    const create = await call('POST', '/api/v1/accounts/acme/tokens', acme2.token, { name: 'more' });
    expect(create.statusCode).toBe(403);
  });

  it('records when a token was last used, writing it at most once a minute', async () => {
    const lastUsed = async () =>
      (
        await h.store.db
          .selectFrom('api_tokens')
          .select('last_used_at')
          .where('id', '=', acme.id)
          .executeTakeFirstOrThrow()
      ).last_used_at;
    expect(await lastUsed()).toBeNull();
    const before = Date.now();
    await call('GET', '/api/v1/me', acme.token);
    const first = await lastUsed();
    expect(Date.parse(first!)).toBeGreaterThanOrEqual(before - 1000);
    expect((await listOf('acme')).find((t) => t.id === acme.id)!.lastUsedAt).toBe(first);
    // Within the minute: not written again.
    const recent = new Date(Date.now() - 10_000).toISOString();
    await h.store.db
      .updateTable('api_tokens')
      .set({ last_used_at: recent })
      .where('id', '=', acme.id)
      .execute();
    await call('GET', '/api/v1/me', acme.token);
    expect(await lastUsed()).toBe(recent);
    // Older than that: written.
    const old = '2026-01-01T00:00:00.000Z';
    await h.store.db.updateTable('api_tokens').set({ last_used_at: old }).where('id', '=', acme.id).execute();
    await call('GET', '/api/v1/me', acme.token);
    expect(await lastUsed()).not.toBe(old);
    expect(Date.parse((await lastUsed())!)).toBeGreaterThanOrEqual(before - 1000);
  });

  it('documents the list and revoke routes in the OpenAPI document', async () => {
    const doc = (await h.app.inject({ url: '/api/openapi.json' })).json();
    const tokens = doc.paths['/api/v1/accounts/{accountId}/tokens'];
    expect(
      tokens.get.responses['200'].content['application/json'].schema.properties.items.items.properties,
    ).toHaveProperty('lastUsedAt');
    expect(tokens.post).toBeDefined();
    const del = doc.paths['/api/v1/accounts/{accountId}/tokens/{tokenId}'].delete;
    expect(del.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['accountId', 'tokenId']);
  });
});
