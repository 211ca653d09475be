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
 * - `account.page.ts` accounts, lists, groups, fields, recipients search, audit log, API tokens (shown once);
 * - `charts.ts`    inline SVG bar charts (rows imported per day, opens and clicks, SMS outcomes), message summary;
 * - `assets/`      dashboard.css, dashboard.js.
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
import { z } from 'zod';
import { DatasyncError, ERROR_CODES, type ErrorCode } from '../errors.js';
import { JOB_FILES, resolveJobFile, sendJobFile } from '../http/index.js';
import type { HostedSpaces } from '../spaces/index.js';
import { findJob, type Store } from '../store/index.js';
import { eventsPage } from './events.page.js';
import { filesPage } from './files.page.js';
import { accountPage } from './account.page.js';
import { chartsPage, messageSummaryPage } from './charts.js';
import { html, layout, qs, type Raw, type Section } from './html.js';
import {
  exportResultPage,
  instanceEditorPage,
  parseDefinition,
  sftpUsersPage,
  utcInstant,
  type EditorState,
} from './manage.page.js';
import { importStatusPage, instancesPage, jobDetailPage, jobsPage, type DashboardApi } from './pages.js';
import { clearSessionCookie, sameOrigin, setSessionCookie, tokenFromCookie } from './session.js';
import { uploadRoutes } from './uploads.routes.js';

export interface DashboardOptions {
  store: Store;
  /** The data directory (`config.dataDir`): downloads are served only from inside it. */
  dataDir: string;
  /** The hosted spaces, for the file browser and job files named as space paths. */
  spaces: HostedSpaces;
}

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

type Who = { kind: 'admin' } | { kind: 'account'; accountId: string };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the dashboard's session hook on signed-in page requests. */
    dashboard?: { token: string; who: Who; api: DashboardApi };
  }
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
  async function apiPost(token: string, url: string): Promise<void> {
    const res = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` } });
    if (res.statusCode >= 400) throw apiError(res.statusCode, res.body);
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

  function who(req: FastifyRequest): string | undefined {
    const w = req.dashboard?.who;
    return w ? (w.kind === 'admin' ? 'admin' : w.accountId) : undefined;
  }
  /** The account a page is about: the token's own, or the admin's `?account=` choice. */
  function accountOf(req: FastifyRequest, asked: string | undefined): string | undefined {
    const w = req.dashboard?.who;
    return w?.kind === 'account' ? w.accountId : asked || undefined;
  }
  function page(
    req: FastifyRequest,
    title: string,
    body: Raw,
    o: { section?: Section; account?: string; autoRefresh?: boolean } = {},
  ): Raw {
    return layout({ title, who: who(req), ...o }, body);
  }
  const sendPage = (reply: FastifyReply, r: Raw) => reply.type('text/html; charset=utf-8').send(r.value);

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
    const s = (req: FastifyRequest) => req.dashboard!;
    const q = (req: FastifyRequest) => req.query as Record<string, string | undefined>;

    pages.get('/imports', async (req, reply) => {
      const account = accountOf(req, q(req).account);
      const r = await importStatusPage(s(req).api, account, q(req).before);
      return sendPage(
        reply,
        page(req, 'Import status', r.body, { section: 'imports', account, autoRefresh: r.autoRefresh }),
      );
    });
    pages.get('/jobs', async (req, reply) => {
      const f = { ...q(req), account: accountOf(req, q(req).account) };
      const r = await jobsPage(s(req).api, f);
      return sendPage(reply, page(req, 'Jobs', r.body, { section: 'jobs', account: f.account }));
    });
    pages.get('/jobs/:jobId', async (req, reply) => {
      const r = await jobDetailPage(s(req).api, (req.params as { jobId: string }).jobId);
      return sendPage(
        reply,
        page(req, r.title, r.body, { section: 'imports', account: accountOf(req, r.account) }),
      );
    });
    pages.get('/jobs/:jobId/files/:file', async (req, reply) => {
      const p = z
        .object({ jobId: z.string().regex(/^[0-9a-z]{6,40}$/), file: z.enum(JOB_FILES) })
        .safeParse(req.params);
      if (!p.success) throw new DatasyncError('DS_VALIDATION', 'no such file');
      // The API answers only when the token may see the job; the record (with its paths) comes from the store.
      await s(req).api.get(`/api/v1/jobs/${p.data.jobId}`);
      const record = await findJob(opts.store.db, p.data.jobId);
      if (!record) throw new DatasyncError('DS_JOB_NOT_FOUND', 'the job does not exist');
      return sendJobFile(reply, await resolveJobFile(opts, record, p.data.file));
    });
    pages.get('/instances', async (req, reply) => {
      const account = accountOf(req, q(req).account);
      const r = await instancesPage(s(req).api, account, q(req).after);
      return sendPage(reply, page(req, 'Instances', r.body, { section: 'instances', account }));
    });
    pages.get('/files', async (req, reply) => {
      const account = accountOf(req, q(req).account);
      const r = await filesPage(s(req).api, opts.spaces, account, q(req).path || '/', q(req).check);
      return sendPage(reply, page(req, 'Files', r.body, { section: 'files', account }));
    });
    pages.get('/events', async (req, reply) => {
      const account = accountOf(req, q(req).account);
      const r = await eventsPage(s(req).api, account);
      return sendPage(reply, page(req, 'Ingest events', r.body, { section: 'charts', account }));
    });
    // File uploads into the space and events files (fetch from dashboard.js; JSON answers).
    await pages.register(uploadRoutes, { tokenOf: (req) => s(req).token });

    for (const action of ['retry', 'cancel'] as const)
      pages.post(`/jobs/:jobId/${action}`, async (req, reply) => {
        const id = encodeURIComponent((req.params as { jobId: string }).jobId);
        await apiPost(s(req).token, `/api/v1/jobs/${id}/${action}`);
        return reply.redirect(req.headers.referer && sameOrigin(req) ? refererPath(req) : `/jobs/${id}`, 303);
      });
    for (const action of ['enable', 'disable', 'run'] as const)
      pages.post(`/instances/:accountId/:instanceId/${action}`, async (req, reply) => {
        const { accountId, instanceId } = req.params as { accountId: string; instanceId: string };
        await apiPost(
          s(req).token,
          `/api/v1/accounts/${encodeURIComponent(accountId)}/instances/${encodeURIComponent(instanceId)}/${action}`,
        );
        return reply.redirect(`/instances${qs({ account: accountId })}`, 303);
      });

    const form = (req: FastifyRequest) => (req.body ?? {}) as Record<string, string | undefined>;
    const enc = encodeURIComponent;

    // Charts and the events summary of one message.
    pages.get('/charts', async (req, reply) => {
      const account = accountOf(req, q(req).account);
      const r = await chartsPage(s(req).api, account);
      return sendPage(reply, page(req, 'Charts', r.body, { section: 'charts', account }));
    });
    pages.get('/messages/:channel/:n', async (req, reply) => {
      const p = z
        .object({ channel: z.enum(['email', 'sms']), n: z.coerce.number().int().positive() })
        .safeParse(req.params);
      const account = accountOf(req, q(req).account);
      if (!p.success || !account) throw new DatasyncError('DS_VALIDATION', 'name an account and a message');
      const r = await messageSummaryPage(s(req).api, account, p.data.channel, p.data.n);
      return sendPage(reply, page(req, r.title, r.body, { section: 'charts', account }));
    });

    // Instance editor: `instances apply` one instance at a time, with "validate without saving".
    const editor = async (req: FastifyRequest, reply: FastifyReply, st: EditorState, status = 200) => {
      const r = await instanceEditorPage(s(req).api, st);
      const title = st.id ? `Instance ${st.id}` : 'New instance';
      return sendPage(
        reply.status(status),
        page(req, title, r.body, { section: 'instances', account: st.account }),
      );
    };
    pages.get('/instances/:accountId/new', async (req, reply) =>
      editor(req, reply, { account: (req.params as { accountId: string }).accountId }),
    );
    pages.get('/instances/:accountId/:instanceId/edit', async (req, reply) => {
      const { accountId, instanceId } = req.params as { accountId: string; instanceId: string };
      return editor(req, reply, { account: accountId, id: instanceId });
    });
    pages.post('/instances/:accountId/edit', async (req, reply) => {
      const account = (req.params as { accountId: string }).accountId;
      const f = form(req);
      const id = (f.id ?? '').trim();
      const text = f.definition ?? '';
      const st: EditorState = { account, id, text };
      try {
        if (!/^[A-Za-z0-9._-]{1,64}$/.test(id))
          throw new DatasyncError(
            'DS_VALIDATION',
            'the instance id is 1 to 64 letters, digits, ".", "_" or "-"',
          );
        const def = parseDefinition(text);
        const url = `/api/v1/accounts/${enc(account)}/instances/${enc(id)}`;
        if (f.action === 'save') {
          await s(req).api.send('PUT', url, def);
          return reply.redirect(`/instances${qs({ account })}`, 303);
        }
        await s(req).api.send('POST', `${url}/validate`, def);
        return editor(req, reply, {
          ...st,
          message: { kind: 'ok', text: 'The definition is valid (not saved).' },
        });
      } catch (e) {
        // Problems are shown above the operator's own text, so nothing typed is lost.
        if (!(e instanceof DatasyncError) || e.code === 'DS_UNAUTHORIZED') throw e;
        return editor(
          req,
          reply,
          { ...st, message: { kind: 'error', text: `${e.code}: ${e.message}` } },
          e.status,
        );
      }
    });

    // Export run now, optionally for a one-off window (`datasync export run ID --from --to`).
    pages.post('/exports/:instanceId/run', async (req, reply) => {
      const instanceId = (req.params as { instanceId: string }).instanceId;
      const f = form(req);
      const body = { from: utcInstant(f.from), to: utcInstant(f.to) };
      const r = await s(req).api.send<Parameters<typeof exportResultPage>[2]>(
        'POST',
        `/api/v1/exports/${enc(instanceId)}/run`,
        body,
      );
      const job = await s(req).api.get<{ accountId: string }>(`/api/v1/jobs/${enc(r.jobId)}`);
      const out = exportResultPage(job.accountId, instanceId, r);
      return sendPage(
        reply,
        page(req, out.title, out.body, { section: 'instances', account: job.accountId }),
      );
    });

    // Account: lists, groups, fields, recipients, audit log, API tokens; accounts (admin).
    const accountView = async (
      req: FastifyRequest,
      reply: FastifyReply,
      account: string | undefined,
      done?: string,
      newToken?: { name: string; token: string },
    ) => {
      const { q: search, listId, status, after } = q(req);
      const rq = newToken ? {} : { q: search, listId, status, after };
      const r = await accountPage(s(req).api, account, rq, s(req).who.kind === 'admin', done, newToken);
      const title = account ? `Account ${account}` : 'Accounts';
      return sendPage(reply, page(req, title, r.body, { section: 'account', account }));
    };
    pages.get('/account', async (req, reply) =>
      accountView(req, reply, accountOf(req, q(req).account), q(req).done),
    );
    // `datasync tokens create ACCOUNT --name N` (admin): the answer is the page showing the token, once.
    pages.post('/account/:accountId/tokens', async (req, reply) => {
      const accountId = (req.params as { accountId: string }).accountId;
      const r = await s(req).api.send<{ token: string; name: string }>(
        'POST',
        `/api/v1/accounts/${enc(accountId)}/tokens`,
        { name: (form(req).name ?? '').trim() },
      );
      return accountView(req, reply, accountId, `Created API token "${r.name}".`, r);
    });
    const toAccount = (reply: FastifyReply, account: string | undefined, done: string) =>
      reply.redirect(`/account${qs({ account, done })}`, 303);
    const int = (v: string | undefined) => (v && /^\d+$/.test(v) ? Number(v) : v);
    pages.post('/accounts', async (req, reply) => {
      const f = form(req);
      const id = (f.id ?? '').trim();
      await s(req).api.send('POST', '/api/v1/accounts', { id, ...(f.name ? { name: f.name } : {}) });
      return toAccount(reply, id, `Created account ${id}.`);
    });
    pages.post('/account/:accountId/:what', async (req, reply) => {
      const { accountId, what } = req.params as { accountId: string; what: string };
      const f = form(req);
      const a = `/api/v1/accounts/${enc(accountId)}`;
      if (what === 'lists')
        await s(req).api.send('POST', `${a}/lists`, {
          listId: int(f.listId),
          name: f.name ?? '',
          ...(f.mobilePrefix ? { mobilePrefix: f.mobilePrefix } : {}),
        });
      else if (what === 'groups')
        await s(req).api.send('POST', `${a}/groups`, { listId: int(f.listId), name: f.name ?? '' });
      else if (what === 'fields')
        await s(req).api.send('PUT', `${a}/fields/${enc(f.fieldId ?? '')}`, { name: f.name ?? '' });
      else throw new DatasyncError('DS_NOT_FOUND', `nothing to add called "${what}"`);
      return toAccount(reply, accountId, `Saved (${what}).`);
    });

    // SFTP users and keys (`datasync users …`).
    pages.get('/sftp-users', async (req, reply) => {
      const account = accountOf(req, q(req).account);
      const r = await sftpUsersPage(s(req).api, account, q(req).done);
      return sendPage(reply, page(req, 'SFTP users', r.body, { section: 'sftp', account }));
    });
    const users = (account: string, user?: string) =>
      `/api/v1/accounts/${enc(account)}/sftp-users${user ? `/${enc(user)}` : ''}`;
    const back = (reply: FastifyReply, account: string, done: string) =>
      reply.redirect(`/sftp-users${qs({ account, done })}`, 303);
    pages.post('/sftp-users/:accountId', async (req, reply) => {
      const account = (req.params as { accountId: string }).accountId;
      const f = form(req);
      await s(req).api.send('POST', users(account), {
        username: (f.username ?? '').trim(),
        ...(f.password ? { password: f.password } : {}),
        ...(f.authorizedKeys?.trim() ? { authorizedKeys: f.authorizedKeys } : {}),
      });
      return back(reply, account, `Added user ${f.username}.`);
    });
    pages.post('/sftp-users/:accountId/:username/password', async (req, reply) => {
      const { accountId, username } = req.params as { accountId: string; username: string };
      const f = form(req);
      await s(req).api.send('PUT', `${users(accountId, username)}/password`, {
        password: f.remove ? null : (f.password ?? ''),
      });
      return back(
        reply,
        accountId,
        f.remove ? `Removed the password of ${username}.` : `Set the password of ${username}.`,
      );
    });
    pages.post('/sftp-users/:accountId/:username/keys', async (req, reply) => {
      const { accountId, username } = req.params as { accountId: string; username: string };
      const r = await s(req).api.send<{ added: unknown[] }>('POST', `${users(accountId, username)}/keys`, {
        authorizedKeys: form(req).authorizedKeys ?? '',
      });
      return back(reply, accountId, `Added ${r.added.length} key(s) to ${username}.`);
    });
    pages.post('/sftp-users/:accountId/:username/keys/remove', async (req, reply) => {
      const { accountId, username } = req.params as { accountId: string; username: string };
      await s(req).api.send(
        'DELETE',
        `${users(accountId, username)}/keys${qs({ fingerprint: form(req).fingerprint })}`,
      );
      return back(reply, accountId, `Removed a key of ${username}.`);
    });
    pages.post('/sftp-users/:accountId/:username/remove', async (req, reply) => {
      const { accountId, username } = req.params as { accountId: string; username: string };
      await s(req).api.send('DELETE', users(accountId, username));
      return back(reply, accountId, `Removed user ${username}.`);
    });
  });
}

/** Back to the page the form was on (same origin only; only its path and query are kept). */
function refererPath(req: FastifyRequest): string {
  try {
    const u = new URL(req.headers.referer!);
    return u.host === req.headers.host ? u.pathname + u.search : '/imports';
  } catch {
    return '/imports';
  }
}
