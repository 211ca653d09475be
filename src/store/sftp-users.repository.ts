/** SFTP users and their public keys (hashing and key parsing live in sftp/; rows live here). */
import type { Db } from './accounts.js';
import type { SftpKeyRow, SftpUserRow } from './tables.js';

export async function insertSftpUser(
  db: Db,
  input: { accountId: string; username: string; passwordHash: string | null },
  at = new Date(),
): Promise<SftpUserRow> {
  const now = at.toISOString();
  return db
    .insertInto('sftp_users')
    .values({
      account_id: input.accountId,
      username: input.username,
      password_hash: input.passwordHash,
      disabled: 0,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function findSftpUserByUsername(db: Db, username: string): Promise<SftpUserRow | undefined> {
  return db.selectFrom('sftp_users').selectAll().where('username', '=', username).executeTakeFirst();
}

export async function listSftpUserRows(db: Db, accountId?: string): Promise<SftpUserRow[]> {
  let q = db.selectFrom('sftp_users').selectAll();
  if (accountId !== undefined) q = q.where('account_id', '=', accountId);
  return q.orderBy('username').execute();
}

export async function updateSftpUserPassword(
  db: Db,
  userId: number,
  passwordHash: string | null,
  at = new Date(),
): Promise<void> {
  await db
    .updateTable('sftp_users')
    .set({ password_hash: passwordHash, updated_at: at.toISOString() })
    .where('id', '=', userId)
    .execute();
}

export async function deleteSftpUser(db: Db, userId: number): Promise<void> {
  await db.deleteFrom('sftp_keys').where('user_id', '=', userId).execute();
  await db.deleteFrom('sftp_users').where('id', '=', userId).execute();
}

export async function insertSftpKey(
  db: Db,
  input: { userId: number; algo: string; keyBase64: string; comment: string | null; fingerprint: string },
  at = new Date(),
): Promise<SftpKeyRow> {
  return db
    .insertInto('sftp_keys')
    .values({
      user_id: input.userId,
      algo: input.algo,
      key_base64: input.keyBase64,
      comment: input.comment,
      fingerprint: input.fingerprint,
      created_at: at.toISOString(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function listSftpKeyRows(db: Db, userId: number): Promise<SftpKeyRow[]> {
  return db.selectFrom('sftp_keys').selectAll().where('user_id', '=', userId).orderBy('id').execute();
}

export async function deleteSftpKey(db: Db, userId: number, fingerprint: string): Promise<number> {
  const r = await db
    .deleteFrom('sftp_keys')
    .where('user_id', '=', userId)
    .where('fingerprint', '=', fingerprint)
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}
