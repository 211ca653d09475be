/**
 * SFTP credentials: password hashes (scrypt, never stored in clear) and OpenSSH `authorized_keys` parsing.
 *
 * Hash format (self-describing, so parameters can be raised later without breaking stored hashes):
 *   `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`
 */
import { randomBytes, randomInt, scrypt, createHash, timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import { ValidationError } from '../errors.js';

const { utils } = ssh2;

/** scrypt cost: N=2^15, r=8 → 32 MiB and ~50–100 ms per hash on these machines (OWASP 2023 minimum is 2^17/8/1 for
 *  interactive logins at higher memory; 2^15 keeps 20 concurrent logins under ~700 MiB transient memory). */
const SCRYPT = { N: 32768, r: 8, p: 1, keyLen: 32, saltLen: 16 } as const;

function scryptAsync(
  pw: string,
  salt: Buffer,
  keyLen: number,
  N: number,
  r: number,
  p: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(pw, salt, keyLen, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Hashes a password with scrypt and a random salt; returns the encoded string to store. */
export async function hashPassword(password: string): Promise<string> {
  if (typeof password !== 'string' || password.length === 0) throw new ValidationError('password is empty');
  const salt = randomBytes(SCRYPT.saltLen);
  const hash = await scryptAsync(password, salt, SCRYPT.keyLen, SCRYPT.N, SCRYPT.r, SCRYPT.p);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/**
 * Checks a password against an encoded hash in constant time. Returns false (never throws) for a malformed
 * hash, so a corrupt row cannot be told apart from a wrong password by a client.
 */
export async function verifyPassword(encoded: string, password: string): Promise<boolean> {
  const parts = typeof encoded === 'string' ? encoded.split('$') : [];
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  // Refuse absurd parameters from a tampered row instead of letting them burn memory.
  if (![N, r, p].every(Number.isInteger) || N < 1024 || N > 2 ** 20 || r < 1 || r > 32 || p < 1 || p > 16)
    return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64');
  const expected = Buffer.from(parts[5] ?? '', 'base64');
  if (salt.length < 8 || expected.length < 16) return false;
  const actual = await scryptAsync(password, salt, expected.length, N, r, p);
  return timingSafeEqual(actual, expected);
}

/** A random password for generated accounts: 24 characters of [A-Za-z0-9] (~143 bits). */
export function generatePassword(length = 24): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  // randomInt draws without modulo bias.
  let out = '';
  for (let i = 0; i < length; i++) out += chars[randomInt(chars.length)];
  return out;
}

/** One public key from an authorized_keys file. */
export interface AuthorizedKey {
  /** Key type as written, e.g. `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`. */
  algo: string;
  /** The key blob, base64 as in the file. */
  keyBase64: string;
  /** Trailing comment (often `user@host`), '' when none. */
  comment: string;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

/** OpenSSH's fingerprint of a key blob. */
export function keyFingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** Key types accepted for logins. DSA and RSA-SHA1-only keys are not offered by modern clients anyway. */
const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
]);

/**
 * Parses OpenSSH `authorized_keys` text. Blank lines and `#` comments are skipped; leading options
 * (`from="…",no-pty`) are accepted and ignored (the jail already restricts everything they could).
 * Throws DS_VALIDATION naming every bad line.
 */
export function parseAuthorizedKeys(text: string): AuthorizedKey[] {
  const keys: AuthorizedKey[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const tokens = line.split(/\s+/);
    const at = tokens.findIndex((t) => KEY_TYPES.has(t));
    const algo = at >= 0 ? tokens[at] : undefined;
    const b64 = at >= 0 ? tokens[at + 1] : undefined;
    if (!algo || !b64) {
      problems.push(`line ${i + 1}: no supported key type (${[...KEY_TYPES].join(', ')})`);
      return;
    }
    const blob = Buffer.from(b64, 'base64');
    const parsed = utils.parseKey(blob);
    if (parsed instanceof Error || Array.isArray(parsed) || parsed.type !== algo) {
      problems.push(`line ${i + 1}: the key data is not a valid ${algo} key`);
      return;
    }
    keys.push({
      algo,
      keyBase64: blob.toString('base64'),
      comment: tokens.slice(at + 2).join(' '),
      fingerprint: keyFingerprint(blob),
    });
  });
  if (problems.length) throw new ValidationError('authorized_keys has problems', { details: { problems } });
  return keys;
}
