/**
 * The show-once flash of a new API token without sticky sessions, on both dialects: two dashboard apps over
 * the same store and data directory (two HTTP processes behind a load balancer, as far as the flash can
 * tell: it keeps no memory) — the POST on one, the redirect's GET on the other shows the token; an app whose
 * server secret differs shows nothing. And the sealed cookie's refusals, with real AES-GCM: another session,
 * another token id, expired, edited, another key, another format.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminApiRoutes } from '../../src/http/admin-api.routes.js';
import { buildApp, loadTrackingKey } from '../../src/http/index.js';
import { createLogger } from '../../src/logger.js';
import { dashboardRoutes } from '../../src/web/index.js';
import { FLASH_COOKIE, FLASH_TTL_SECONDS, TokenFlash } from '../../src/web/token-flash.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from './admin-harness.js';

const newTokenOf = (body: string) => /id="new-token" readonly value="([^"]+)"/.exec(body)?.[1];

describe.each(DIALECTS)('token flash across HTTP processes (%s)', (dialect) => {
  let h: AdminHarness;
  let other: FastifyInstance | undefined;
  let otherDir: string | undefined;
  beforeEach(async () => {
    h = await startAdmin(dialect, { dashboard: true });
  });
  afterEach(async () => {
    await other?.close();
    if (otherDir) fs.rmSync(otherDir, { recursive: true, force: true });
    other = otherDir = undefined;
    await h.close();
  });

  /** A second dashboard app on the same store: a separate process as far as anything in memory goes. */
  async function secondApp(dataDir: string): Promise<FastifyInstance> {
    const app = await buildApp({
      logger: createLogger('silent'),
      bodyLimitBytes: 1024 * 1024,
      registry: new Registry(),
      db: h.store.db,
      maxParameters: h.store.dialect.maxParameters,
    });
    const deps = { store: h.store, dataDir, spaces: h.spaces, clock: h.clock, bus: h.bus };
    await app.register(adminApiRoutes, deps);
    await app.register(dashboardRoutes, deps);
    await app.ready();
    return app;
  }

  async function createOnFirst() {
    const session = await h.signIn(h.adminToken);
    const post = await h.form('/account/acme/tokens', { name: 'crm-sync' }, session);
    expect(post.statusCode).toBe(303);
    return {
      session,
      location: String(post.headers.location),
      flash: String(post.headers['set-cookie']).split(';')[0]!,
    };
  }

  it('shows the token on another process that shares the data directory, once', async () => {
    const { session, location, flash } = await createOnFirst();
    other = await secondApp(h.dataDir);
    const shown = await other.inject({
      method: 'GET',
      url: location,
      headers: { cookie: `${session}; ${flash}` },
    });
    expect(shown.statusCode).toBe(200);
    const token = newTokenOf(shown.body);
    expect(token).toMatch(/^ds_acc_/);
    expect((await h.req('GET', '/api/v1/me', { token: token! })).json()).toEqual({
      kind: 'account',
      accountId: 'acme',
    });
    expect(String(shown.headers['set-cookie'])).toContain(`${FLASH_COOKIE}=; Max-Age=0`);
    // Back on the first process without the cleared cookie: gone.
    const reload = await h.page(location, session);
    expect(newTokenOf(reload.body)).toBeUndefined();
    expect(reload.body).toContain('id="new-token-gone"');
  });

  it('shows nothing on a process with another server secret', async () => {
    const { session, location, flash } = await createOnFirst();
    otherDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-flash-other-'));
    other = await secondApp(otherDir);
    const res = await other.inject({
      method: 'GET',
      url: location,
      headers: { cookie: `${session}; ${flash}` },
    });
    expect(res.statusCode).toBe(200);
    expect(newTokenOf(res.body)).toBeUndefined();
    expect(res.body).toContain('id="new-token-gone"');
  });
});

describe('the sealed token cookie', () => {
  let dir: string;
  let key: Buffer;
  let now: number;
  const t = { id: 7, name: 'crm "sync" ✓', token: 'ds_acc_secret-value' };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-flash-'));
    key = loadTrackingKey(dir);
    now = Date.parse('2026-03-01T10:00:00Z');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const flashAt = (k = key) => new TokenFlash(k, () => now);

  it('opens for the same session and id, before it expires, on any instance with the key', () => {
    const sealed = flashAt().seal('session-a', t);
    expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(sealed, 'base64url').toString('latin1')).not.toContain('secret-value');
    expect(flashAt().open('session-a', 7, sealed)).toEqual(t);
    // Two seals of the same token differ (random IV).
    expect(flashAt().seal('session-a', t)).not.toBe(sealed);
    now += FLASH_TTL_SECONDS * 1000 - 1;
    expect(flashAt().open('session-a', 7, sealed)).toEqual(t);
  });

  it('refuses another session, another id, an expired, edited or foreign cookie', () => {
    const sealed = flashAt().seal('session-a', t);
    expect(flashAt().open('session-b', 7, sealed)).toBeUndefined();
    expect(flashAt().open('session-a', 8, sealed)).toBeUndefined();
    const raw = Buffer.from(sealed, 'base64url');
    for (const at of [0, 5, 20, raw.length - 1]) {
      const edited = Buffer.from(raw);
      edited[at] = edited[at]! ^ 1;
      expect(flashAt().open('session-a', 7, edited.toString('base64url')), `byte ${at}`).toBeUndefined();
    }
    expect(flashAt().open('session-a', 7, raw.subarray(0, 20).toString('base64url'))).toBeUndefined();
    expect(flashAt().open('session-a', 7, '')).toBeUndefined();
    expect(flashAt().open('session-a', 7, 'not base64 at all!')).toBeUndefined();
    const otherKey = loadTrackingKey(fs.mkdtempSync(path.join(dir, 'other-')));
    expect(flashAt(otherKey).open('session-a', 7, sealed)).toBeUndefined();
    now += FLASH_TTL_SECONDS * 1000;
    expect(flashAt().open('session-a', 7, sealed)).toBeUndefined();
  });
});
