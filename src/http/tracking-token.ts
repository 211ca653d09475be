/**
 * Tracking tokens: compact, self-verifying, no database lookup to check them.
 *
 *   base64url( version(1) | kind(1) | varint sendingId | varint recipientId | [click: URL bytes] | MAC(12) )
 *
 * MAC = first 12 bytes of HMAC-SHA256(key, everything before it). 96 bits make forging hopeless at any
 * request rate, and keep an open link at ~30 characters. The kind is inside the MAC, so an open token
 * does not work as an unsubscribe token. The click URL is sealed inside the token: the redirect can only
 * go where the token says (no open redirect), and any change to it breaks the MAC.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DatasyncError } from '../errors.js';

export const TOKEN_KINDS = { open: 1, click: 2, unsubscribe: 3 } as const;
export type TokenKind = keyof typeof TOKEN_KINDS;

const VERSION = 1;
const MAC_BYTES = 12;
/** Longest token accepted (a click token carries its URL; mail clients cut URLs near 2000 characters). */
export const MAX_TOKEN_CHARS = 4096;

export interface TrackingClaims {
  kind: TokenKind;
  /** Internal `sendings.id`. */
  sendingId: number;
  /** Internal `recipients.id`. */
  recipientId: number;
  /** The destination of a click token. */
  url?: string;
}

function pushVarint(out: number[], n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad id ${n}`);
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

function readVarint(buf: Buffer, at: number): [number, number] | undefined {
  let n = 0;
  let mul = 1;
  for (let i = at; i < buf.length && i < at + 8; i++) {
    const b = buf[i]!;
    n += (b & 0x7f) * mul;
    if (b < 0x80) return [n, i + 1];
    mul *= 0x80;
  }
  return undefined;
}

/** Only absolute http(s) URLs can be tracked: no `javascript:`, `data:` or relative targets. */
export function assertTrackableUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DatasyncError('DS_TRACKING_URL_REFUSED', 'the URL to track is not an absolute URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new DatasyncError(
      'DS_TRACKING_URL_REFUSED',
      `only http and https URLs can be tracked, not ${u.protocol}`,
    );
  return url;
}

function mac(key: Buffer, payload: Buffer): Buffer {
  return createHmac('sha256', key).update(payload).digest().subarray(0, MAC_BYTES);
}

export function sealToken(key: Buffer, claims: TrackingClaims): string {
  const bytes: number[] = [VERSION, TOKEN_KINDS[claims.kind]];
  pushVarint(bytes, claims.sendingId);
  pushVarint(bytes, claims.recipientId);
  let payload = Buffer.from(bytes);
  if (claims.kind === 'click') {
    if (!claims.url) throw new TypeError('a click token needs a URL');
    payload = Buffer.concat([payload, Buffer.from(assertTrackableUrl(claims.url), 'utf8')]);
  }
  return Buffer.concat([payload, mac(key, payload)]).toString('base64url');
}

const invalid = () => new DatasyncError('DS_TRACKING_TOKEN_INVALID', 'unknown link');

/** Verify a token for the expected kind; throws DS_TRACKING_TOKEN_INVALID (404) on anything wrong. */
export function openToken(key: Buffer, token: string, kind: TokenKind): TrackingClaims {
  if (token.length < 20 || token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) throw invalid();
  const buf = Buffer.from(token, 'base64url');
  if (buf.length < 2 + 2 + MAC_BYTES) throw invalid();
  const payload = buf.subarray(0, buf.length - MAC_BYTES);
  if (!timingSafeEqual(mac(key, payload), buf.subarray(buf.length - MAC_BYTES))) throw invalid();
  // Past this point the bytes are ours; the checks below guard against our own format changes.
  if (payload[0] !== VERSION || payload[1] !== TOKEN_KINDS[kind]) throw invalid();
  const s = readVarint(payload, 2);
  const r = s && readVarint(payload, s[1]);
  if (!s || !r) throw invalid();
  const rest = payload.subarray(r[1]);
  if (kind !== 'click') {
    if (rest.length) throw invalid();
    return { kind, sendingId: s[0], recipientId: r[0] };
  }
  const url = rest.toString('utf8');
  try {
    assertTrackableUrl(url);
  } catch {
    throw invalid();
  }
  return { kind, sendingId: s[0], recipientId: r[0], url };
}

/**
 * The tracking secret, `<dataDir>/keys/tracking.key` (32 random bytes, mode 0600). Generated once; nodes
 * sharing the data directory share it. Created with O_EXCL so two processes starting together agree.
 */
export function loadTrackingKey(dataDir: string): Buffer {
  const file = path.join(dataDir, 'keys', 'tracking.key');
  try {
    return readKey(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  fs.writeFileSync(tmp, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  try {
    // link() fails if another process won the race; then its key is the key.
    fs.linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return readKey(file);
}

function readKey(file: string): Buffer {
  const key = Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64');
  if (key.length < 32) throw new Error(`${file} holds fewer than 32 bytes of key`);
  return key;
}
