/**
 * Admin API for SFTP users and their keys (the same services as `datasync users …`). Passwords are hashed by
 * sftp/ and never returned or audited. Usernames are unique across accounts, so every route first checks that
 * the user belongs to the account of the path (another account's user is a plain 404).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../errors.js';
import {
  addSftpKey,
  addSftpUser,
  listSftpUsers,
  removeSftpKey,
  removeSftpUser,
  setSftpPassword,
  type SftpUser,
} from '../sftp/index.js';
import { getAccount, type Store } from '../store/index.js';
import { accountParams, audit } from './admin-common.js';
import type { ZodTypeProvider } from './openapi.js';

const keyOut = z.object({ algo: z.string(), fingerprint: z.string(), comment: z.string() });
const userOut = z.object({
  username: z.string(),
  hasPassword: z.boolean(),
  disabled: z.boolean(),
  keys: z.array(keyOut),
  createdAt: z.string(),
});
const userJson = (u: SftpUser): z.input<typeof userOut> => ({
  username: u.username,
  hasPassword: u.hasPassword,
  disabled: u.disabled,
  keys: u.keys,
  createdAt: u.createdAt.toISOString(),
});
const userParams = accountParams.extend({ username: z.string().min(1).max(64) });
const tags = ['sftp users'];

export interface AdminSftpRoutesOptions {
  store: Store;
}

export async function adminSftpRoutes(fastify: FastifyInstance, opts: AdminSftpRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { store } = opts;
  const { db } = store;
  const base = '/api/v1/accounts/:accountId/sftp-users';

  async function userOf(accountId: string, username: string): Promise<SftpUser> {
    const u = (await listSftpUsers(store, accountId)).find((x) => x.username === username);
    if (!u) throw new NotFoundError(`SFTP user "${username}" does not exist in account ${accountId}`);
    return u;
  }

  app.get(
    base,
    {
      schema: {
        params: accountParams,
        response: { 200: z.object({ items: z.array(userOut), next: z.null() }) },
      },
      config: { openapi: { summary: 'SFTP users of the account (a handful per account: one page)', tags } },
    },
    async (req) => {
      await getAccount(db, req.params.accountId);
      return { items: (await listSftpUsers(store, req.params.accountId)).map(userJson), next: null };
    },
  );
  app.post(
    base,
    {
      schema: {
        params: accountParams,
        body: z
          .strictObject({
            username: z.string().min(1).max(64),
            password: z.string().min(8).max(1024).optional(),
            /** OpenSSH authorized_keys text (one or more lines). */
            authorizedKeys: z.string().min(1).max(100_000).optional(),
          })
          .refine((b) => b.password !== undefined || b.authorizedKeys !== undefined, {
            message: 'give a password or authorizedKeys',
          }),
        response: { 201: userOut },
      },
      config: { openapi: { summary: 'Add an SFTP user with a password and/or public keys', tags } },
    },
    async (req, reply) => {
      const accountId = req.params.accountId;
      await getAccount(db, accountId);
      const u = await addSftpUser(store, { accountId, ...req.body });
      await audit(db, req, {
        accountId,
        action: 'sftp_user.create',
        target: u.username,
        details: { hasPassword: u.hasPassword, keys: u.keys.map((k) => k.fingerprint) },
      });
      return reply.status(201).send(userJson(u));
    },
  );
  app.delete(
    `${base}/:username`,
    {
      schema: { params: userParams },
      config: { openapi: { summary: 'Remove an SFTP user and its keys', tags } },
    },
    async (req, reply) => {
      const { accountId, username } = req.params;
      await removeSftpUser(store, accountId, username);
      await audit(db, req, { accountId, action: 'sftp_user.remove', target: username });
      return reply.status(204).send();
    },
  );
  app.put(
    `${base}/:username/password`,
    {
      schema: {
        params: userParams,
        body: z.strictObject({
          password: z.string().min(8).max(1024).nullable().describe('null removes the password (keys only)'),
        }),
      },
      config: { openapi: { summary: "Set or remove an SFTP user's password", tags } },
    },
    async (req, reply) => {
      const { accountId, username } = req.params;
      await userOf(accountId, username);
      await setSftpPassword(store, username, req.body.password);
      await audit(db, req, {
        accountId,
        action: req.body.password === null ? 'sftp_user.password_remove' : 'sftp_user.password_set',
        target: username,
      });
      return reply.status(204).send();
    },
  );
  app.post(
    `${base}/:username/keys`,
    {
      schema: {
        params: userParams,
        body: z.strictObject({ authorizedKeys: z.string().min(1).max(100_000) }),
        response: { 201: z.object({ added: z.array(keyOut) }) },
      },
      config: {
        openapi: { summary: 'Add public keys (authorized_keys text); known keys are skipped', tags },
      },
    },
    async (req, reply) => {
      const { accountId, username } = req.params;
      await userOf(accountId, username);
      const added = await addSftpKey(store, username, req.body.authorizedKeys);
      await audit(db, req, {
        accountId,
        action: 'sftp_key.add',
        target: username,
        details: { fingerprints: added.map((k) => k.fingerprint) },
      });
      return reply.status(201).send({ added });
    },
  );
  app.delete(
    `${base}/:username/keys`,
    {
      schema: {
        params: userParams,
        // In the query: a SHA256 fingerprint is base64 and may contain "/", which a path segment cannot.
        querystring: z.object({ fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]+=*$/) }),
      },
      config: { openapi: { summary: 'Remove one public key by its SHA256 fingerprint', tags } },
    },
    async (req, reply) => {
      const { accountId, username } = req.params;
      await userOf(accountId, username);
      await removeSftpKey(store, username, req.query.fingerprint);
      await audit(db, req, {
        accountId,
        action: 'sftp_key.remove',
        target: username,
        details: { fingerprint: req.query.fingerprint },
      });
      return reply.status(204).send();
    },
  );
}
