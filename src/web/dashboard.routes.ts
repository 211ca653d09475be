/**
 * The operator dashboard, served at `/` by the HTTP role: server-rendered pages, one CSS and one small JS file,
 * no build step. Map of web/:
 * - `session.ts`   sign-in with an API token kept in an HttpOnly, SameSite=Strict cookie (why: see there);
 * - `html.ts`      escaping template, layout, formatting;
 * - `pages.ts`     Import status (reference §2.13), job detail, jobs, instances — rendered from the admin API;
 * - `files.page.ts` the file browser of an account's hosted space, with an upload form and a dry-run check;
 * - `events.page.ts` ingest a JSON lines file of engagement events (`datasync events add`);
 * - `uploads.routes.ts` the upload, dry-run and events-file endpoints those forms send to (fetch, JSON answers);
 * - `manage.page.ts` instance editor (validate / save), export run result, SFTP users and keys;
 * - `account.page.ts` accounts, lists, groups, fields, recipients search, audit log;
 * - `tokens.page.ts` the account's API tokens (list, revoke, create; a new one shown once through a sealed
 *   cookie: `token-flash.ts`);
 * - `charts.ts`    inline SVG bar charts (rows imported per day, opens and clicks, SMS outcomes), message summary;
 * - `assets/`      dashboard.css, dashboard.js.
 * Routes: this file (assets, sign-in, the session hook, error pages) registers one file per page group:
 * `pages.routes.ts` (reading pages and their buttons), `manage.routes.ts` (instance editor, export run, SFTP
 * users), `account.routes.ts` (account page, tokens), `uploads.routes.ts`; `page-kit.ts` is what they share.
 *
 * Pages call the admin API in-process (`app.inject`) with the signed-in token, so the dashboard can never show
 * more than the token may see through the API. Actions (cancel, retry, enable…) are POST forms that call the
 * same API routes, then redirect back (POST/redirect/GET). Downloads stream from disk through the same jailed
 * resolver as the API's download route.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DatasyncError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { accountRoutes } from './account.routes.js';
import { html } from './html.js';
import { manageRoutes } from './manage.routes.js';
import { page, sendPage, type DashboardOptions, type Who } from './page-kit.js';
import type { DashboardApi } from './pages.js';
import { readingPagesRoutes } from './pages.routes.js';
import { clearSessionCookie, sameOrigin, setSessionCookie, tokenFromCookie } from './session.js';
import { uploadRoutes } from './uploads.routes.js';

export type { DashboardOptions } from './page-kit.js';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
  // connect-src: dashboard.js sends uploads and events files to this server with fetch.
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The assets folder next to this module (src/web/assets), or the source one when running from dist/. */
function assetsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const c of [path.join(here, 'assets'), path.resolve(here, '../../src/web/assets')])
    if (fs.existsSync(path.join(c, 'dashboard.css'))) return c;
  throw new Error('dashboard assets not found (src/web/assets)');
}

export async function dashboardRoutes(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const dir = assetsDir();
  const assets = new Map(
    [
      ['dashboard.css', 'text/css; charset=utf-8'],
      ['dashboard.js', 'text/javascript; charset=utf-8'],
    ].map(([name, type]) => [name!, { type: type!, body: fs.readFileSync(path.join(dir, name!)) }]),
  );

  // Sign-in and action forms post application/x-www-form-urlencoded (this scope only).
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    // Room for an instance's YAML and a few authorized_keys lines.
    { parseAs: 'string', bodyLimit: 256 * 1024 },
    (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  /** Call the admin API in-process as the given token. */
  function apiFor(token: string): DashboardApi {
    return {
      async get<T>(url: string): Promise<T> {
        const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
        if (res.statusCode >= 400) throw apiError(res.statusCode, res.body);
        return res.json() as T;
      },
      async send<T>(method: 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<T> {
        const res = await app.inject({
          method,
          url,
          headers: { authorization: `Bearer ${token}` },
          ...(body !== undefined ? { payload: body as object } : {}),
        });
        if (res.statusCode >= 400) throw apiError(res.statusCode, res.body);
        return (res.body ? res.json() : undefined) as T;
      },
    };
  }
  function apiError(status: number, body: string): DatasyncError {
    let code: ErrorCode = status === 401 ? 'DS_UNAUTHORIZED' : 'DS_INTERNAL';
    let message = 'the request failed';
    try {
      const e = (JSON.parse(body) as { error?: { code?: string; message?: string } }).error;
      if (e?.code && e.code in ERROR_CODES) code = e.code as ErrorCode;
      if (e?.message) message = e.message;
    } catch {
      // not JSON: keep the generic message
    }
    return new DatasyncError(code, message);
  }

  app.addHook('onRequest', async (_req, reply) => {
    void reply
      .header('content-security-policy', CSP)
      .header('x-frame-options', 'DENY')
      .header('referrer-policy', 'same-origin')
      .header('cache-control', 'no-store');
  });

  // Signed-in pages: the cookie's token must still be valid (a revoked token signs the browser out).
  async function requireSession(req: FastifyRequest, reply: FastifyReply) {
    const token = tokenFromCookie(req);
    if (!token) return reply.redirect('/login');
    const res = await app.inject({
      method: 'GET',
      url: '/api/v1/me',
      headers: { authorization: `Bearer ${token}` },
    });
    if (res.statusCode !== 200) {
      clearSessionCookie(req, reply);
      return reply.redirect('/login');
    }
    req.dashboard = { token, who: res.json() as Who, api: apiFor(token) };
    if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req))
      throw new DatasyncError('DS_FORBIDDEN', 'cross-origin form posts are refused');
  }

  // Errors on dashboard pages are pages too (the API's JSON shape is for the API).
  app.setErrorHandler((err, req, reply) => {
    const e = err instanceof DatasyncError ? err : undefined;
    if (e?.code === 'DS_UNAUTHORIZED') {
      clearSessionCookie(req, reply);
      return reply.redirect('/login');
    }
    const status = e?.status ?? ((err as { validation?: unknown }).validation ? 400 : 500);
    if (!e && status === 500) req.log.error({ err }, 'dashboard error');
    const message = e ? `${e.code}: ${e.message}` : status === 400 ? 'bad request' : 'internal error';
    return reply
      .status(status)
      .type('text/html; charset=utf-8')
      .send(
        page(
          req,
          'Something went wrong',
          html`<p class="error">${message}</p>
            <p><a href="/imports">Back</a></p>`,
        ).value,
      );
  });

  app.get('/assets/:name', { config: { openapi: { hide: true } } }, async (req, reply) => {
    const a = assets.get((req.params as { name: string }).name);
    if (!a) return reply.status(404).type('text/plain').send('not found');
    return reply.type(a.type).header('cache-control', 'public, max-age=300').send(a.body);
  });

  app.get('/', async (req, reply) => reply.redirect(tokenFromCookie(req) ? '/imports' : '/login'));

  const loginForm = (req: FastifyRequest, error?: string) =>
    page(
      req,
      'Sign in',
      html`<form class="login" method="post" action="/login">
        <p>Sign in with an API token: the admin token printed at the first start, or an account token.</p>
        ${error ? html`<p class="error" id="login-error">${error}</p>` : ''}
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="current-password" required />
        <button type="submit" class="primary">Sign in</button>
      </form>`,
    );
  app.get('/login', async (req, reply) => sendPage(reply, loginForm(req)));
  app.post('/login', async (req, reply) => {
    if (!sameOrigin(req)) throw new DatasyncError('DS_FORBIDDEN', 'cross-origin form posts are refused');
    const token = String((req.body as Record<string, unknown> | null)?.token ?? '').trim();
    const res = token
      ? await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })
      : undefined;
    if (!res || res.statusCode !== 200)
      return sendPage(reply.status(401), loginForm(req, 'That token is not valid.'));
    setSessionCookie(req, reply, token);
    return reply.redirect('/imports', 303);
  });
  app.post('/logout', async (req, reply) => {
    clearSessionCookie(req, reply);
    return reply.redirect('/login', 303);
  });

  // Everything below needs a session.
  await app.register(async (pages) => {
    pages.addHook('preHandler', requireSession);
    await pages.register(readingPagesRoutes, opts);
    await pages.register(manageRoutes);
    await pages.register(accountRoutes, { dataDir: opts.dataDir });
    // File uploads into the space and events files (fetch from dashboard.js; JSON answers).
    await pages.register(uploadRoutes, { tokenOf: (req) => req.dashboard!.token });
  });
}
