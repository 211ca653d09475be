/**
 * What every signed-in dashboard route file (`*.routes.ts`) shares: the session the dashboard hook attached
 * to the request (token, who, the in-process API), the query and form of the request, the account a page is
 * about, and the page layout. Pure functions of the request, so route files need nothing from the core plugin.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HostedSpaces } from '../spaces/index.js';
import type { Store } from '../store/index.js';
import { layout, qs, type Raw, type Section } from './html.js';
import type { DashboardApi } from './pages.js';
import { sameOrigin } from './session.js';

export interface DashboardOptions {
  store: Store;
  /** The data directory (`config.dataDir`): downloads are served only from inside it. */
  dataDir: string;
  /** The hosted spaces, for the file browser and job files named as space paths. */
  spaces: HostedSpaces;
}

export type Who = { kind: 'admin' } | { kind: 'account'; accountId: string };

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the dashboard's session hook on signed-in page requests. */
    dashboard?: { token: string; who: Who; api: DashboardApi };
  }
}

/** The signed-in session (only on routes behind the session hook). */
export const session = (req: FastifyRequest) => req.dashboard!;
export const query = (req: FastifyRequest) => req.query as Record<string, string | undefined>;
export const formOf = (req: FastifyRequest) => (req.body ?? {}) as Record<string, string | undefined>;
export const enc = encodeURIComponent;

/** The account a page is about: the token's own, or the admin's `?account=` choice. */
export function accountOf(req: FastifyRequest, asked: string | undefined): string | undefined {
  const w = req.dashboard?.who;
  return w?.kind === 'account' ? w.accountId : asked || undefined;
}

function who(req: FastifyRequest): string | undefined {
  const w = req.dashboard?.who;
  return w ? (w.kind === 'admin' ? 'admin' : w.accountId) : undefined;
}

export function page(
  req: FastifyRequest,
  title: string,
  body: Raw,
  o: { section?: Section; account?: string; autoRefresh?: boolean } = {},
): Raw {
  return layout({ title, who: who(req), ...o }, body);
}

export const sendPage = (reply: FastifyReply, r: Raw) => reply.type('text/html; charset=utf-8').send(r.value);

/** POST/redirect/GET back to `path` with a `done` message (and the account the page is about). */
export const redirectDone = (reply: FastifyReply, path: string, account: string | undefined, done: string) =>
  reply.redirect(`${path}${qs({ account, done })}`, 303);

/** Back to the page the form was on (same origin only; only its path and query are kept). */
export function refererPath(req: FastifyRequest, fallback: string): string {
  if (!req.headers.referer || !sameOrigin(req)) return fallback;
  try {
    const u = new URL(req.headers.referer);
    return u.host === req.headers.host ? u.pathname + u.search : '/imports';
  } catch {
    return '/imports';
  }
}
