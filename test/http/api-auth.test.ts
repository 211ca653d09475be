/** Admin API auth (admin vs account tokens), request ids, error shape and the OpenAPI document. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/http/index.js';
import { createAccount } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { seedAccount, startHarness, type Harness } from './http-harness.js';

describe.each(DIALECTS)('admin API auth (%s)', (dialect) => {
  let h: Harness;
  let acmeToken: string;
  const get = (url: string, token?: string) =>
    h.app.inject({ method: 'GET', url, headers: token ? { authorization: `Bearer ${token}` } : {} });
  beforeEach(async () => {
    h = await startHarness(dialect, { listen: false });
    await seedAccount(h);
    await createAccount(h.store.db, { id: 'other', name: 'Other' });
    acmeToken = await createApiToken(h.store.db, { accountId: 'acme', name: 'acme-ci' });
  });
  afterEach(() => h.close());

  it('refuses missing and wrong tokens with DS_UNAUTHORIZED', async () => {
    const none = await get('/api/v1/accounts/acme/sendings');
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({ error: { code: 'DS_UNAUTHORIZED', message: expect.any(String) } });
    expect((await get('/api/v1/accounts/acme/sendings', 'ds_adm_wrong')).statusCode).toBe(401);
    const basic = await h.app.inject({ url: '/api/v1/me', headers: { authorization: 'Basic YTpi' } });
    expect(basic.statusCode).toBe(401);
  });

  it('lets an admin token reach every account and an account token only its own', async () => {
    expect((await get('/api/v1/me', h.adminToken)).json()).toEqual({ kind: 'admin' });
    expect((await get('/api/v1/me', acmeToken)).json()).toEqual({ kind: 'account', accountId: 'acme' });
    expect((await get('/api/v1/accounts/acme/sendings', h.adminToken)).statusCode).toBe(200);
    expect((await get('/api/v1/accounts/other/sendings', h.adminToken)).statusCode).toBe(200);
    expect((await get('/api/v1/accounts/acme/sendings', acmeToken)).statusCode).toBe(200);
    const cross = await get('/api/v1/accounts/other/messages/email', acmeToken);
    expect(cross.statusCode).toBe(403);
    expect(cross.json().error.code).toBe('DS_FORBIDDEN');
    const ingest = await h.app.inject({
      method: 'POST',
      url: '/api/v1/accounts/other/events',
      headers: { authorization: `Bearer ${acmeToken}`, 'content-type': 'application/json' },
      payload: '[]',
    });
    expect(ingest.statusCode).toBe(403);
  });

  it('creates account tokens only with an admin token; the new token works for its account', async () => {
    const denied = await h.app.inject({
      method: 'POST',
      url: '/api/v1/accounts/acme/tokens',
      headers: { authorization: `Bearer ${acmeToken}` },
      payload: { name: 'x' },
    });
    expect(denied.statusCode).toBe(403);
    const made = await h.app.inject({
      method: 'POST',
      url: '/api/v1/accounts/other/tokens',
      headers: { authorization: `Bearer ${h.adminToken}` },
      payload: { name: 'crm' },
    });
    expect(made.statusCode).toBe(201);
    const { token } = made.json() as { token: string };
    expect(token).toMatch(/^ds_acc_/);
    expect((await get('/api/v1/me', token)).json()).toEqual({ kind: 'account', accountId: 'other' });
    const stored = await h.store.db.selectFrom('api_tokens').select('token_hash').execute();
    expect(stored.some((r) => r.token_hash === token)).toBe(false);
  });

  it('keeps a plain X-Request-Id, replaces a hostile one, and answers validation errors in the one shape', async () => {
    const kept = await h.app.inject({ url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(kept.headers['x-request-id']).toBe('abc-123');
    const replaced = await h.app.inject({ url: '/healthz', headers: { 'x-request-id': 'a\nb'.repeat(40) } });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await h.app.inject({
      method: 'POST',
      url: '/api/v1/accounts/acme/messages/email',
      headers: { authorization: `Bearer ${h.adminToken}` },
      payload: { subject: '', senderEmail: 'not-an-email' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('DS_VALIDATION');
    expect(bad.json().error.message).toMatch(/subject|senderEmail/);
  });

  it('serves an OpenAPI 3.1 document generated from the route schemas', async () => {
    const res = await h.app.inject({ url: '/api/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
    const post = doc.paths['/api/v1/accounts/{accountId}/messages/email'].post;
    expect(post.requestBody.content['application/json'].schema.properties.subject.type).toBe('string');
    expect(post.responses['201'].content['application/json'].schema.properties.idNl.type).toBe('integer');
    expect(post.parameters).toEqual([
      expect.objectContaining({ name: 'accountId', in: 'path', required: true }),
    ]);
    const ingest = doc.paths['/api/v1/accounts/{accountId}/events'].post;
    expect(Object.keys(ingest.requestBody.content)).toContain('application/x-ndjson');
    expect(ingest.requestBody.content['application/json'].schema.items.properties.kind.enum).toContain(
      'bounce',
    );
    expect(doc.paths['/hooks/sms/{provider}'].post).toBeDefined();
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/t/'))).toBe(false);
  });
});
