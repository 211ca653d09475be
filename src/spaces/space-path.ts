/**
 * Space paths: the `/import/a.csv` strings customers type, checked and normalised before they touch the disk.
 *
 * Why a dedicated parser instead of `path.posix.normalize`: normalize silently clamps `/../x` to `/x` and keeps
 * control characters, bidi overrides and NUL; we want every suspicious name refused with one stable error code
 * (DS_SFTP_PATH_OUTSIDE) so the attempt is logged and the client gets PERMISSION_DENIED.
 */
import { DatasyncError } from '../errors.js';

/** Longest accepted space path, in UTF-8 bytes (Linux PATH_MAX is 4096 for the whole absolute path). */
export const MAX_SPACE_PATH_BYTES = 1024;
/** Longest accepted name of one path component, in UTF-8 bytes (NAME_MAX on ext4/xfs). */
export const MAX_NAME_BYTES = 255;

/*
 * Refused code points:
 * - C0 controls, DEL and C1 controls (terminal escapes, NUL truncation, CR/LF injection in logs and CSV reports);
 * - U+FFFD: what an invalid UTF-8 byte sequence decodes to, so refusing it refuses non-UTF-8 names;
 * - backslash: a path separator for Windows clients and for some of our customers' tools;
 * - zero-width and bidi formatting characters (names that display as something else: `gpj.exe` tricks);
 * - line/paragraph separators, the BOM and the specials block (U+FFF9..U+FFFF), which have no business in a name.
 * Other scripts, emoji and private-use characters are allowed: customers name files in their own languages.
 */
const REFUSED =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\\\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffd\ufffe\uffff]/u;

function outside(reason: string, path: string): DatasyncError {
  return new DatasyncError('DS_SFTP_PATH_OUTSIDE', 'path is outside the account space or not allowed', {
    details: { reason, path: JSON.stringify(path).slice(0, 300) },
  });
}

/**
 * Checks and normalises a client path into a canonical space path: absolute, `/`-separated, no `.`/`..`/empty
 * components, NFC. Relative paths are taken from the space root (the SFTP home is `/`).
 * Throws DS_SFTP_PATH_OUTSIDE for `..` that would climb above `/`, refused characters, or over-long names.
 */
export function normalizeSpacePath(input: string): string {
  if (typeof input !== 'string') throw outside('not a string', String(input));
  if (Buffer.byteLength(input) > MAX_SPACE_PATH_BYTES) throw outside('too long', input);
  if (REFUSED.test(input)) throw outside('refused character', input);
  // macOS clients send decomposed (NFD) names; store one form so `é.csv` is one file whoever uploads it.
  const nfc = input.normalize('NFC');
  const out: string[] = [];
  for (const part of nfc.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // Refuse instead of clamping: a client that climbs above its root is probing, and silently landing it
      // somewhere else would also hide mistakes in customers' scripts.
      if (out.length === 0) throw outside('climbs above the root', input);
      out.pop();
      continue;
    }
    if (Buffer.byteLength(part) > MAX_NAME_BYTES) throw outside('name too long', input);
    out.push(part);
  }
  return '/' + out.join('/');
}

/** Components of a normalised space path (`/` → []). */
export function spacePathParts(spacePath: string): string[] {
  return spacePath === '/' ? [] : spacePath.slice(1).split('/');
}

/** Parent of a normalised space path (`/` is its own parent). */
export function spacePathParent(spacePath: string): string {
  const i = spacePath.lastIndexOf('/');
  return i <= 0 ? '/' : spacePath.slice(0, i);
}

/** Last component of a normalised space path (`/` → ''). */
export function spacePathName(spacePath: string): string {
  return spacePath.slice(spacePath.lastIndexOf('/') + 1);
}
