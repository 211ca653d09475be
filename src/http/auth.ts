/**
 * Admin API authentication: `Authorization: Bearer <token>`. An admin token (account_id null: from config
 * or generated on first start) reaches everything; an account token reaches only its own account.
 *
 * Route files reuse it by adding `bearerAuth(db)` as an `onRequest` hook in their encapsulated scope. The
 * hook also enforces the scope: a route with an `:accountId` path parameter is checked against the token,
 * and `config: { adminOnly: true }` refuses account tokens. Routes that learn the account elsewhere call
 * `assertAccountAccess(req, accountId)`.
 */
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Kysely } from 'kysely';
import { DatasyncError } from '../errors.js';
import type { Database } from '../store/index.js';
import { verifyApiToken } from './tokens.js';

export type Principal = { kind: 'admin' } | { kind: 'account'; accountId: string };

declare module 'fastify' {
  interface FastifyRequest {
    /** Who called; set by `bearerAuth` (undefined on public routes). */
    principal?: Principal;
    /** The id of the caller's token (`api_tokens.id`); set with `principal`. */
    tokenId?: number;
  }
  interface FastifyContextConfig {
    /** Only an admin token may call the route. */
    adminOnly?: boolean;
    /** Also accept the token as `?token=` (webhooks of providers that cannot set headers). */
    allowQueryToken?: boolean;
  }
}

function tokenOf(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    return m?.[1];
  }
  if (req.routeOptions.config.allowQueryToken) {
    const t = (req.query as Record<string, unknown> | undefined)?.token;
    if (typeof t === 'string' && t) return t;
  }
  return undefined;
}

/** The `onRequest` hook of every authenticated scope. */
export function bearerAuth(db: Kysely<Database>): onRequestHookHandler {
  return async function authenticate(req: FastifyRequest, _reply: FastifyReply) {
    const token = tokenOf(req);
    if (!token) throw new DatasyncError('DS_UNAUTHORIZED', 'an Authorization: Bearer token is required');
    const scope = await verifyApiToken(db, token);
    if (!scope) throw new DatasyncError('DS_UNAUTHORIZED', 'the token is not valid');
    req.principal =
      scope.accountId === null ? { kind: 'admin' } : { kind: 'account', accountId: scope.accountId };
    req.tokenId = scope.id;
    if (req.routeOptions.config.adminOnly && req.principal.kind !== 'admin')
      throw new DatasyncError('DS_FORBIDDEN', 'this action needs an admin token');
    const accountId = (req.params as Record<string, unknown> | undefined)?.accountId;
    if (typeof accountId === 'string') assertAccountAccess(req, accountId);
  };
}

/** Throw DS_FORBIDDEN unless the caller may act on `accountId`. */
export function assertAccountAccess(req: FastifyRequest, accountId: string): void {
  const p = req.principal;
  if (!p) throw new DatasyncError('DS_UNAUTHORIZED', 'an Authorization: Bearer token is required');
  if (p.kind === 'account' && p.accountId !== accountId)
    throw new DatasyncError('DS_FORBIDDEN', 'the token does not give access to this account');
}

/** The account the caller is limited to, or undefined for an admin. */
export function principalAccount(req: FastifyRequest): string | undefined {
  return req.principal?.kind === 'account' ? req.principal.accountId : undefined;
}
