/**
 * The dashboard's Account page and its forms: create an account (admin), lists, groups, fields, and API
 * tokens — create (admin; POST/redirect/GET with the token shown once, sealed in a cookie: token-flash.ts)
 * and revoke (each asks first; revoking the session's own token signs it out at the next page). Rendering is
 * in account.page.ts and tokens.page.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DatasyncError } from '../errors.js';
import { loadTrackingKey } from '../http/index.js';
import { qs } from './html.js';
import { accountPage } from './account.page.js';
import {
  accountOf,
  enc,
  formOf as form,
  page,
  query as q,
  redirectDone,
  sendPage,
  session as s,
} from './page-kit.js';
import { TokenFlash } from './token-flash.js';
import type { NewTokenShown } from './tokens.page.js';

export interface AccountRoutesOptions {
  /** The data directory: the token flash's key derives from the server secret kept there (token-flash.ts). */
  dataDir: string;
}

export async function accountRoutes(pages: FastifyInstance, opts: AccountRoutesOptions): Promise<void> {
  const flash = new TokenFlash(loadTrackingKey(opts.dataDir));

  pages.get('/account', async (req: FastifyRequest, reply: FastifyReply) => {
    const account = accountOf(req, q(req).account);
    const { q: search, listId, status, after, created } = q(req);
    // After a creation: the token once (this session, any process), else only the note that it is gone.
    const id = created && /^\d{1,15}$/.test(created) ? Number(created) : undefined;
    const newToken: NewTokenShown | undefined =
      id === undefined ? undefined : (flash.take(req, reply, s(req).token, id) ?? { id });
    const rq = { q: search, listId, status, after };
    const r = await accountPage(s(req).api, account, rq, s(req).who.kind === 'admin', q(req).done, newToken);
    const title = account ? `Account ${account}` : 'Accounts';
    return sendPage(reply, page(req, title, r.body, { section: 'account', account }));
  });
  const toAccount = (reply: FastifyReply, account: string | undefined, done: string) =>
    redirectDone(reply, '/account', account, done);

  // `datasync tokens create ACCOUNT --name N` (admin). The redirect names the token's id, never the secret.
  pages.post('/account/:accountId/tokens', async (req, reply) => {
    const accountId = (req.params as { accountId: string }).accountId;
    const r = await s(req).api.send<{ id: number; token: string; name: string }>(
      'POST',
      `/api/v1/accounts/${enc(accountId)}/tokens`,
      { name: (form(req).name ?? '').trim() },
    );
    flash.put(req, reply, s(req).token, { id: r.id, name: r.name, token: r.token });
    const done = `Created API token "${r.name}".`;
    return reply.redirect(`/account${qs({ account: accountId, done, created: r.id })}`, 303);
  });
  // `datasync tokens revoke ACCOUNT TOKEN_ID`; the button asked first (data-confirm).
  pages.post('/account/:accountId/tokens/:tokenId/revoke', async (req, reply) => {
    const { accountId, tokenId } = req.params as { accountId: string; tokenId: string };
    await s(req).api.send('DELETE', `/api/v1/accounts/${enc(accountId)}/tokens/${enc(tokenId)}`);
    const name = form(req).name;
    return toAccount(reply, accountId, `Revoked API token ${tokenId}${name ? ` "${name}"` : ''}.`);
  });

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
}
