/**
 * API tokens: 32 random bytes shown once, stored as SHA-256 (a token has full entropy, so a fast hash is
 * enough; passwords, which do not, use scrypt in sftp/credentials.ts).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Create a token; returns the clear token, which is never stored. `accountId` null = admin token. */
export async function createApiToken(
  db: Kysely<Database>,
  input: { accountId: string | null; name: string; token?: string },
  at = new Date(),
): Promise<string> {
  const token =
    input.token ?? `ds_${input.accountId ? 'acc' : 'adm'}_${randomBytes(32).toString('base64url')}`;
  await db
    .insertInto('api_tokens')
    .values({
      account_id: input.accountId,
      name: input.name,
      token_hash: hashToken(token),
      created_at: at.toISOString(),
      last_used_at: null,
    })
    .onConflict((oc) => oc.column('token_hash').doNothing())
    .execute();
  return token;
}

/** The token's scope, or undefined when it is unknown. */
export async function verifyApiToken(
  db: Kysely<Database>,
  token: string,
): Promise<{ accountId: string | null } | undefined> {
  const hash = hashToken(token);
  const row = await db
    .selectFrom('api_tokens')
    .select(['account_id', 'token_hash'])
    .where('token_hash', '=', hash)
    .executeTakeFirst();
  if (!row || !timingSafeEqual(Buffer.from(row.token_hash), Buffer.from(hash))) return undefined;
  return { accountId: row.account_id };
}
