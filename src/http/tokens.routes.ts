/**
 * Admin API for API tokens. Account tokens (`datasync tokens create|list|revoke ACCOUNT`, the dashboard's
 * Account → API tokens):
 * - `POST /accounts/{id}/tokens` (admin only): a new token, shown once in the answer;
 * - `GET /accounts/{id}/tokens`: the account's tokens (id, name, created, last used), never a secret or hash;
 *   `current` marks the caller's own token;
 * - `DELETE /accounts/{id}/tokens/{tokenId}`: revoke; refused at once afterwards (`DS_UNAUTHORIZED`).
 *
 * Scope: the `:accountId` check of `bearerAuth` keeps an account token to its own account (`DS_FORBIDDEN`
 * elsewhere). Within it, an account token may list the tokens and revoke itself only — retiring a token that
 * leaked or is no longer needed must not wait for an admin — but not its siblings: it cannot create tokens,
 * so it must not be able to cut off the other systems an admin gave tokens to.
 *
 * Admin tokens (no account; `datasync tokens create|list|revoke --admin`), admin only:
 * - `POST /admin/tokens`: a new admin token, shown once (rotation: create the new one, then revoke the old);
 * - `GET /admin/tokens`: id, name, created, last used, `current`; never a secret or hash;
 * - `DELETE /admin/tokens/{tokenId}`: revoke; the last admin token is refused (`409 DS_TOKEN_LAST_ADMIN`), so
 *   the API can never lock the operator out (see `revokeAdminToken`).
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import { DatasyncError } from '../errors.js';
import { getAccount, type Database } from '../store/index.js';
import { accountParams, audit } from './admin-common.js';
import type { ZodTypeProvider } from './openapi.js';
import {
  createApiTokenRecord,
  listAdminTokens,
  listApiTokens,
  revokeAdminToken,
  revokeApiToken,
} from './tokens.js';

const tokenOut = z.object({
  id: z.number().int(),
  accountId: z.string(),
  name: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable().describe('last authenticated request (to the minute); null: never'),
  current: z.boolean().describe("the caller's own token"),
});

const adminTokenOut = tokenOut.omit({ accountId: true });
const tokenIdParams = z.object({ tokenId: z.coerce.number().int().positive() });

export interface TokensRoutesOptions {
  db: Kysely<Database>;
  /** Creation times and audit times. Default: the system clock. */
  clock?: Clock;
}

export async function tokensRoutes(fastify: FastifyInstance, opts: TokensRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;
  const clock = opts.clock ?? systemClock;
  const base = '/api/v1/accounts/:accountId/tokens';
  const tags = ['auth'];

  app.post(
    base,
    {
      schema: {
        params: accountParams,
        body: z.strictObject({ name: z.string().min(1).max(100) }),
        response: {
          201: z.object({ id: z.number().int(), token: z.string(), accountId: z.string(), name: z.string() }),
        },
      },
      config: {
        adminOnly: true,
        openapi: { summary: 'Create an API token limited to this account (admin only; shown once)', tags },
      },
    },
    async (req, reply) => {
      const accountId = req.params.accountId;
      await getAccount(db, accountId);
      const { id, token } = await createApiTokenRecord(db, { accountId, name: req.body.name }, clock.now());
      await audit(
        db,
        req,
        { accountId, action: 'token.create', target: req.body.name, details: { id } },
        clock.now(),
      );
      return reply.status(201).send({ id, token, accountId, name: req.body.name });
    },
  );

  app.get(
    base,
    {
      schema: { params: accountParams, response: { 200: z.object({ items: z.array(tokenOut) }) } },
      config: {
        openapi: {
          summary: "The account's API tokens (never the secret; admin or the account's token)",
          tags,
        },
      },
    },
    async (req) => {
      await getAccount(db, req.params.accountId);
      const items = await listApiTokens(db, req.params.accountId);
      return { items: items.map((t) => ({ ...t, current: t.id === req.tokenId })) };
    },
  );

  app.delete(
    `${base}/:tokenId`,
    {
      schema: { params: accountParams.merge(tokenIdParams) },
      config: {
        openapi: {
          summary: 'Revoke an API token of the account (admin: any; an account token: only itself)',
          tags,
        },
      },
    },
    async (req, reply) => {
      const { accountId, tokenId } = req.params;
      if (req.principal?.kind === 'account' && tokenId !== req.tokenId)
        throw new DatasyncError('DS_FORBIDDEN', 'an account token may revoke only itself');
      const t = await revokeApiToken(db, accountId, tokenId);
      await audit(
        db,
        req,
        { accountId, action: 'token.revoke', target: t.name, details: { id: t.id } },
        clock.now(),
      );
      return reply.status(204).send();
    },
  );

  const adminBase = '/api/v1/admin/tokens';
  app.post(
    adminBase,
    {
      schema: {
        body: z.strictObject({ name: z.string().min(1).max(100) }),
        response: { 201: z.object({ id: z.number().int(), token: z.string(), name: z.string() }) },
      },
      config: {
        adminOnly: true,
        openapi: { summary: 'Create an admin API token (admin only; shown once)', tags },
      },
    },
    async (req, reply) => {
      const { id, token } = await createApiTokenRecord(
        db,
        { accountId: null, name: req.body.name },
        clock.now(),
      );
      await audit(db, req, { action: 'token.create', target: req.body.name, details: { id } }, clock.now());
      return reply.status(201).send({ id, token, name: req.body.name });
    },
  );

  app.get(
    adminBase,
    {
      schema: { response: { 200: z.object({ items: z.array(adminTokenOut) }) } },
      config: {
        adminOnly: true,
        openapi: { summary: 'The admin API tokens (admin only; never the secret)', tags },
      },
    },
    async (req) => {
      const items = await listAdminTokens(db);
      return { items: items.map((t) => ({ ...t, current: t.id === req.tokenId })) };
    },
  );

  app.delete(
    `${adminBase}/:tokenId`,
    {
      schema: { params: tokenIdParams },
      config: {
        adminOnly: true,
        openapi: {
          summary: 'Revoke an admin API token (admin only; the last one is refused: DS_TOKEN_LAST_ADMIN)',
          tags,
        },
      },
    },
    async (req, reply) => {
      const t = await revokeAdminToken(db, req.params.tokenId);
      await audit(db, req, { action: 'token.revoke', target: t.name, details: { id: t.id } }, clock.now());
      return reply.status(204).send();
    },
  );
}
