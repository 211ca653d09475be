/**
 * The HTTP app of `datasync serve` with the admin API (and, when asked, the dashboard) over a fresh store
 * and a temp data dir, an admin token and an account token for `acme`. The queue is the table queue on both
 * dialects: the routes only enqueue, and the table queue needs no pg-boss start-up per test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/clock.js';
import { adminApiRoutes } from '../../src/http/admin-api.routes.js';
import { buildApp, createApiToken } from '../../src/http/index.js';
import { TableJobQueue } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logger.js';
import { FileReadyBus, HostedSpaces } from '../../src/spaces/index.js';
import { addList, createAccount } from '../../src/store/index.js';
import { dashboardRoutes } from '../../src/web/index.js';
import { freshStore, type DialectName, type TestStore } from '../helpers/store.js';

export interface AdminHarness {
  store: TestStore;
  app: FastifyInstance;
  dataDir: string;
  spaces: HostedSpaces;
  queue: TableJobQueue;
  /** The FileReadyBus uploads emit on (nothing listens unless a test subscribes). */
  bus: FileReadyBus;
  clock: ManualClock;
  adminToken: string;
  acmeToken: string;
  /** `http://127.0.0.1:<port>` when listening. */
  base: string;
  req(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    opts?: { token?: string | null; body?: unknown },
  ): Promise<LightMyRequestResponse>;
  /** Sign in to the dashboard with `token`: the session cookie (`ds_token=…`) to send back. */
  signIn(token: string): Promise<string>;
  /** A dashboard form post (urlencoded) with the session cookie. */
  form(url: string, body: Record<string, string>, cookie: string): Promise<LightMyRequestResponse>;
  /** A dashboard page with the session cookie. */
  page(url: string, cookie: string): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function startAdmin(
  dialect: DialectName,
  opts: {
    listen?: boolean;
    queue?: boolean;
    dashboard?: boolean;
    uploadLimits?: { maxFileBytes: number; maxAccountBytes: number };
  } = {},
): Promise<AdminHarness> {
  const store = await freshStore(dialect);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-admin-'));
  const spaces = new HostedSpaces(path.join(dataDir, 'spaces'));
  const clock = new ManualClock('2026-03-01T10:00:00.000Z');
  const queue = new TableJobQueue(store.db, clock);
  const adminToken = await createApiToken(store.db, { accountId: null, name: 'test-admin' });
  await createAccount(store.db, { id: 'acme', name: 'Acme' });
  await createAccount(store.db, { id: 'other', name: 'Other' });
  await addList(store.db, { accountId: 'acme', listId: 1, name: 'News' });
  const acmeToken = await createApiToken(store.db, { accountId: 'acme', name: 'acme-ci' });
  const app = await buildApp({
    logger: createLogger('silent'),
    bodyLimitBytes: 1024 * 1024,
    registry: new Registry(),
    db: store.db,
    maxParameters: store.dialect.maxParameters,
    clock,
  });
  const bus = new FileReadyBus();
  const deps = {
    store,
    dataDir,
    spaces,
    queue: opts.queue === false ? undefined : queue,
    clock,
    bus,
    uploadLimits: opts.uploadLimits,
  };
  await app.register(adminApiRoutes, deps);
  if (opts.dashboard) await app.register(dashboardRoutes, deps);
  let base = '';
  if (opts.listen) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  } else await app.ready();
  return {
    store,
    app,
    dataDir,
    spaces,
    queue,
    bus,
    clock,
    adminToken,
    acmeToken,
    base,
    req(method, url, o = {}) {
      const token = o.token === undefined ? adminToken : o.token;
      return app.inject({
        method,
        url,
        headers: token ? { authorization: `Bearer ${token}` } : {},
        ...(o.body !== undefined ? { payload: o.body as object } : {}),
      });
    },
    async signIn(token) {
      const res = await app.inject({
        method: 'POST',
        url: '/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ token }).toString(),
      });
      return String(res.headers['set-cookie']).split(';')[0]!;
    },
    form(url, body, cookie) {
      return app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
        payload: new URLSearchParams(body).toString(),
      });
    },
    page(url, cookie) {
      return app.inject({ method: 'GET', url, headers: { cookie } });
    },
    async close() {
      await app.close();
      await store.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
