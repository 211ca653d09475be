/**
 * API tokens: 32 random bytes shown once, stored as SHA-256 (a token has full entropy, so a fast hash is
 * enough; passwords, which do not, use scrypt in sftp/credentials.ts).
 *
 * Revoking deletes the row: the next request with that token finds no hash and is refused
 * (`DS_UNAUTHORIZED`) — nothing caches a token's scope. The audit log keeps the record of the revocation.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ConflictError, NotFoundError } from '../errors.js';
import type { ApiTokenRow, Database } from '../store/index.js';

/**
 * `last_used_at` is written at most once a minute per token: a write on every request would double the cost
 * of busy routes (event ingestion) for a figure an operator reads to the day.
 */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** What may be shown of a token: never the secret, nor its hash. */
export interface ApiTokenInfo {
  id: number;
  accountId: string;
  name: string;
  createdAt: string;
  /** When the token last authenticated a request (to the minute), or null if never. */
  lastUsedAt: string | null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Create a token; returns the clear token, which is never stored. `accountId` null = admin token. */
export async function createApiToken(
  db: Kysely<Database>,
  input: { accountId: string | null; name: string; token?: string },
  at = new Date(),
): Promise<string> {
  return (await createApiTokenRecord(db, input, at)).token;
}

/** `createApiToken`, also answering the token's id (an existing `input.token` keeps its row). */
export async function createApiTokenRecord(
  db: Kysely<Database>,
  input: { accountId: string | null; name: string; token?: string },
  at = new Date(),
): Promise<{ id: number; token: string }> {
  const token =
    input.token ?? `ds_${input.accountId ? 'acc' : 'adm'}_${randomBytes(32).toString('base64url')}`;
  const hash = hashToken(token);
  await db
    .insertInto('api_tokens')
    .values({
      account_id: input.accountId,
      name: input.name,
      token_hash: hash,
      created_at: at.toISOString(),
      last_used_at: null,
    })
    .onConflict((oc) => oc.column('token_hash').doNothing())
    .execute();
  const row = await db
    .selectFrom('api_tokens')
    .select('id')
    .where('token_hash', '=', hash)
    .executeTakeFirstOrThrow();
  return { id: Number(row.id), token };
}

/** The token's id and scope, or undefined when it is unknown (never created, or revoked). */
export async function verifyApiToken(
  db: Kysely<Database>,
  token: string,
  at = new Date(),
): Promise<{ id: number; accountId: string | null } | undefined> {
  const hash = hashToken(token);
  const row = await db
    .selectFrom('api_tokens')
    .select(['id', 'account_id', 'token_hash', 'last_used_at'])
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash))) return undefined;
  const id = Number(row.id);
  const stale = new Date(at.getTime() - LAST_USED_RESOLUTION_MS).toISOString();
  if (row.last_used_at === null || row.last_used_at < stale) {
    try {
      // Conditional, so concurrent requests of one token write it once.
      await db
        .updateTable('api_tokens')
        .set({ last_used_at: at.toISOString() })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', stale)]))
        .execute();
    } catch {
      // Bookkeeping only: a busy database must not refuse a valid token.
    }
  }
  return { id, accountId: row.account_id };
}

const infoOf = (r: ApiTokenRow): ApiTokenInfo => ({
  id: Number(r.id),
  accountId: r.account_id!,
  name: r.name,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
});

/** The tokens of one account, oldest first (admin tokens belong to no account: `listAdminTokens`). */
export async function listApiTokens(db: Kysely<Database>, accountId: string): Promise<ApiTokenInfo[]> {
  const rows = await db
    .selectFrom('api_tokens')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('id')
    .execute();
  return rows.map(infoOf);
}

/** One token of the account; DS_NOT_FOUND when it does not exist or belongs elsewhere. */
export async function getApiToken(
  db: Kysely<Database>,
  accountId: string,
  tokenId: number,
): Promise<ApiTokenInfo> {
  const row = await db
    .selectFrom('api_tokens')
    .selectAll()
    .where('id', '=', tokenId)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError(`account ${accountId} has no API token ${tokenId}`);
  return infoOf(row);
}

/** Revoke (delete) one token of the account; answers what it was. DS_NOT_FOUND as `getApiToken`. */
export async function revokeApiToken(
  db: Kysely<Database>,
  accountId: string,
  tokenId: number,
): Promise<ApiTokenInfo> {
  const t = await getApiToken(db, accountId, tokenId);
  await db.deleteFrom('api_tokens').where('id', '=', tokenId).where('account_id', '=', accountId).execute();
  return t;
}

/** What may be shown of an admin token (it belongs to no account): never the secret, nor its hash. */
export type AdminTokenInfo = Omit<ApiTokenInfo, 'accountId'>;

const adminInfoOf = (r: ApiTokenRow): AdminTokenInfo => {
  const { accountId: _none, ...info } = infoOf(r);
  return info;
};

/** The admin tokens (`account_id` null), oldest first. */
export async function listAdminTokens(db: Kysely<Database>): Promise<AdminTokenInfo[]> {
  const rows = await db
    .selectFrom('api_tokens')
    .selectAll()
    .where('account_id', 'is', null)
    .orderBy('id')
    .execute();
  return rows.map(adminInfoOf);
}

/**
 * Revoke (delete) one admin token; answers what it was. DS_NOT_FOUND when no admin token has that id (an
 * account token's id included: those go through `revokeApiToken`). DS_TOKEN_LAST_ADMIN when it is the last
 * one: the API cannot mint an admin token from nothing, so the last one going would leave the operator with
 * no way in but the CLI — rotate by creating the new token first.
 *
 * Race: two callers revoking the last two admin tokens at once must not both see "two left". The first
 * statement is a no-op UPDATE of every admin row: on PostgreSQL it row-locks them until commit, so the
 * second transaction waits and then (READ COMMITTED: each statement sees the latest commits) counts what is
 * really left; on SQLite it takes the database's write lock. Portable, so no dialect branch.
 */
export async function revokeAdminToken(db: Kysely<Database>, tokenId: number): Promise<AdminTokenInfo> {
  return db.transaction().execute(async (trx) => {
    await trx
      .updateTable('api_tokens')
      .set((eb) => ({ name: eb.ref('name') }))
      .where('account_id', 'is', null)
      .execute();
    const rows = await trx.selectFrom('api_tokens').selectAll().where('account_id', 'is', null).execute();
    const row = rows.find((r) => Number(r.id) === tokenId);
    if (!row) throw new NotFoundError(`there is no admin API token ${tokenId}`);
    if (rows.length === 1)
      throw new ConflictError(
        `admin API token ${tokenId} is the last one: create another first (datasync tokens create --admin)`,
        { code: 'DS_TOKEN_LAST_ADMIN' },
      );
    await trx.deleteFrom('api_tokens').where('id', '=', tokenId).where('account_id', 'is', null).execute();
    return adminInfoOf(row);
  });
}
