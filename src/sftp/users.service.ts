/**
 * SFTP users over the store: provisioning (CLI `datasync users …`, config `accounts[].users`) and the
 * `SftpUserDirectory` the server authenticates against. Passwords are hashed here, never stored in clear;
 * keys are parsed and fingerprinted here; rows stay in store/ (CONVENTIONS #2).
 */
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import {
  deleteSftpKey,
  deleteSftpUser,
  findSftpUserByUsername,
  insertSftpKey,
  insertSftpUser,
  listSftpKeyRows,
  listSftpUserRows,
  updateSftpUserPassword,
  type SftpKeyRow,
  type SftpUserRow,
  type Store,
} from '../store/index.js';
import { hashPassword, parseAuthorizedKeys, verifyPassword, type AuthorizedKey } from './credentials.js';
import type { SftpUserDirectory } from './sftp-server.js';

/** Usernames: what OpenSSH and shells accept without quoting. */
const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export interface SftpUserKey {
  algo: string;
  fingerprint: string;
  comment: string;
}

/** An SFTP user as the CLI, the API and the config provisioning see it (never the hash). */
export interface SftpUser {
  accountId: string;
  username: string;
  hasPassword: boolean;
  disabled: boolean;
  keys: SftpUserKey[];
  createdAt: Date;
}

function toUser(row: SftpUserRow, keys: SftpKeyRow[]): SftpUser {
  return {
    accountId: row.account_id,
    username: row.username,
    hasPassword: row.password_hash !== null,
    disabled: row.disabled !== 0,
    keys: keys.map((k) => ({ algo: k.algo, fingerprint: k.fingerprint, comment: k.comment ?? '' })),
    createdAt: new Date(row.created_at),
  };
}

async function getRow(store: Store, username: string, accountId?: string): Promise<SftpUserRow> {
  const row = await findSftpUserByUsername(store.db, username);
  if (!row || (accountId !== undefined && row.account_id !== accountId)) {
    throw new NotFoundError(
      `SFTP user "${username}" does not exist${accountId ? ` in account ${accountId}` : ''}`,
    );
  }
  return row;
}

/**
 * Adds an SFTP user to an account with a password and/or keys (OpenSSH authorized_keys text). Throws
 * DS_VALIDATION for a bad username or neither credential, DS_DUPLICATE for a taken username (usernames are
 * unique across accounts: the login names the account).
 */
export async function addSftpUser(
  store: Store,
  input: { accountId: string; username: string; password?: string; authorizedKeys?: string },
): Promise<SftpUser> {
  if (!USERNAME.test(input.username)) {
    throw new ValidationError('username must be 1-64 characters of A-Z, a-z, 0-9, "_", "." or "-"', {
      details: { username: input.username },
    });
  }
  const keys: AuthorizedKey[] = input.authorizedKeys ? parseAuthorizedKeys(input.authorizedKeys) : [];
  if (!input.password && keys.length === 0)
    throw new ValidationError('an SFTP user needs a password or a public key');
  const hash = input.password ? await hashPassword(input.password) : null;
  return store.db.transaction().execute(async (trx) => {
    const row = await insertSftpUser(trx, {
      accountId: input.accountId,
      username: input.username,
      passwordHash: hash,
    });
    const keyRows: SftpKeyRow[] = [];
    for (const k of dedupe(keys)) {
      keyRows.push(
        await insertSftpKey(trx, {
          userId: row.id,
          algo: k.algo,
          keyBase64: k.keyBase64,
          comment: k.comment || null,
          fingerprint: k.fingerprint,
        }),
      );
    }
    return toUser(row, keyRows);
  });
}

function dedupe(keys: AuthorizedKey[]): AuthorizedKey[] {
  const seen = new Set<string>();
  return keys.filter((k) => !seen.has(k.fingerprint) && (seen.add(k.fingerprint), true));
}

/** Sets (or with null, removes) a user's password. Removing needs the user to keep at least one key. */
export async function setSftpPassword(
  store: Store,
  username: string,
  password: string | null,
): Promise<void> {
  const row = await getRow(store, username);
  if (password === null && (await listSftpKeyRows(store.db, row.id)).length === 0) {
    throw new ConflictError('cannot remove the password of a user without keys: they could not log in');
  }
  await updateSftpUserPassword(store.db, row.id, password === null ? null : await hashPassword(password));
}

/** Adds the keys of an authorized_keys text to a user; keys already there are skipped. Returns the keys added. */
export async function addSftpKey(
  store: Store,
  username: string,
  authorizedKeys: string,
): Promise<SftpUserKey[]> {
  const row = await getRow(store, username);
  const have = new Set((await listSftpKeyRows(store.db, row.id)).map((k) => k.fingerprint));
  const added: SftpUserKey[] = [];
  for (const k of dedupe(parseAuthorizedKeys(authorizedKeys))) {
    if (have.has(k.fingerprint)) continue;
    await insertSftpKey(store.db, {
      userId: row.id,
      algo: k.algo,
      keyBase64: k.keyBase64,
      comment: k.comment || null,
      fingerprint: k.fingerprint,
    });
    added.push({ algo: k.algo, fingerprint: k.fingerprint, comment: k.comment });
  }
  return added;
}

/** Removes one key by its `SHA256:…` fingerprint. */
export async function removeSftpKey(store: Store, username: string, fingerprint: string): Promise<void> {
  const row = await getRow(store, username);
  if ((await deleteSftpKey(store.db, row.id, fingerprint)) === 0) {
    throw new NotFoundError(`user "${username}" has no key ${fingerprint}`);
  }
}

/** Removes a user of an account (its keys go with it). Open sessions end at their next login. */
export async function removeSftpUser(store: Store, accountId: string, username: string): Promise<void> {
  const row = await getRow(store, username, accountId);
  await deleteSftpUser(store.db, row.id);
}

/** Users of one account (or all accounts), by username. */
export async function listSftpUsers(store: Store, accountId?: string): Promise<SftpUser[]> {
  const rows = await listSftpUserRows(store.db, accountId);
  return Promise.all(rows.map(async (r) => toUser(r, await listSftpKeyRows(store.db, r.id))));
}

/**
 * The server's `SftpUserDirectory` over the store. Unknown users and disabled users cost the same scrypt as a
 * wrong password, so response time does not tell which usernames exist.
 */
export function createStoreUserDirectory(store: Store): SftpUserDirectory {
  let dummy: Promise<string> | undefined;
  return {
    async authenticatePassword(username, password) {
      const row = USERNAME.test(username) ? await findSftpUserByUsername(store.db, username) : undefined;
      if (!row || row.disabled || !row.password_hash) {
        dummy ??= hashPassword('timing-equaliser');
        await verifyPassword(await dummy, password);
        return null;
      }
      return (await verifyPassword(row.password_hash, password))
        ? { accountId: row.account_id, username }
        : null;
    },
    async authenticateKey(username, algo, keyData) {
      const row = USERNAME.test(username) ? await findSftpUserByUsername(store.db, username) : undefined;
      if (!row || row.disabled) return null;
      const b64 = keyData.toString('base64');
      const keys = await listSftpKeyRows(store.db, row.id);
      return keys.some((k) => k.algo === algo && k.key_base64 === b64)
        ? { accountId: row.account_id, username }
        : null;
    },
  };
}
