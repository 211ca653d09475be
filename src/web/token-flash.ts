/**
 * The one-time display of a new API token with POST/redirect/GET, across any number of HTTP processes: the
 * creation POST seals the clear token into a short-lived cookie and redirects; the GET it redirects to opens
 * it and clears it. Reloading that page therefore neither posts the form again (no second token) nor shows
 * the secret again (the browser no longer has the cookie), and the secret is in no URL, table or memory.
 *
 * Why a cookie: any process behind the load balancer can answer the GET, so what it shows must travel with
 * the request (no sticky sessions), and the clear token must never be stored server-side. The cookie is:
 * - sealed with AES-256-GCM under a key derived (HKDF-SHA256, its own label) from the server secret
 *   `<dataDir>/keys/tracking.key`, which every node sharing the data directory already shares — the
 *   dashboard session itself is the bare API token in an HttpOnly cookie (session.ts), not signed, so there
 *   is no session key to reuse; a distinct HKDF label keeps this key apart from the tracking MAC's;
 * - bound to the signed-in session (the SHA-256 of its cookie token is the GCM additional data) and to the
 *   token's id and an expiry inside the sealed payload, so another session, another id, a stale or an edited
 *   cookie all open to nothing;
 * - HttpOnly, SameSite=Strict, `Path=/account`, `Max-Age` of a few minutes (a redirect never followed),
 *   Secure over HTTPS, and cleared by the response that reads it, whatever it held.
 * If it cannot be opened, the page says the token can no longer be shown (revoke it and create another).
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { readCookie } from './session.js';

export interface CreatedToken {
  id: number;
  name: string;
  token: string;
}

export const FLASH_COOKIE = 'ds_new_token';
/** Seconds a sealed token stays readable: long enough for the redirect, short enough to leave little behind. */
export const FLASH_TTL_SECONDS = 300;
const PATH = '/account';
/** Format byte: a future change of layout or algorithm can be told apart (and refused) on read. */
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Sealed {
  /** token id, name, clear token, expiry (epoch ms) */
  i: number;
  n: string;
  t: string;
  e: number;
}

export class TokenFlash {
  private readonly key: Buffer;

  /** `serverKey`: the server secret (`loadTrackingKey(dataDir)`); `now`: epoch ms (tests move it). */
  constructor(
    serverKey: Buffer,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', serverKey, '', 'datasync dashboard token flash v1', 32));
  }

  private aad(sessionToken: string): Buffer {
    return createHash('sha256').update(`token-flash:${sessionToken}`).digest();
  }

  /** The cookie value that carries `t` for this session (exported for the tests of its refusals). */
  seal(sessionToken: string, t: CreatedToken): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(this.aad(sessionToken));
    const body: Sealed = { i: t.id, n: t.name, t: t.token, e: this.now() + FLASH_TTL_SECONDS * 1000 };
    const ct = Buffer.concat([cipher.update(JSON.stringify(body), 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, ct, cipher.getAuthTag()]).toString('base64url');
  }

  /** The token sealed in `value` for this session and id, unexpired; else undefined (never throws). */
  open(sessionToken: string, tokenId: number, value: string): CreatedToken | undefined {
    const raw = Buffer.from(value, 'base64url');
    if (raw.length <= 1 + IV_BYTES + TAG_BYTES || raw[0] !== VERSION) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(1, 1 + IV_BYTES));
      decipher.setAAD(this.aad(sessionToken));
      decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
      const clear = Buffer.concat([
        decipher.update(raw.subarray(1 + IV_BYTES, raw.length - TAG_BYTES)),
        decipher.final(),
      ]);
      const s = JSON.parse(clear.toString('utf8')) as Sealed;
      if (s.i !== tokenId || !(s.e > this.now())) return undefined;
      return { id: s.i, name: s.n, token: s.t };
    } catch {
      // Wrong key, session or bytes: GCM's tag check fails. Nothing to show.
      return undefined;
    }
  }

  /** After the creation POST: hand the browser the sealed token for the page it is redirected to. */
  put(req: FastifyRequest, reply: FastifyReply, sessionToken: string, t: CreatedToken): void {
    const value = this.seal(sessionToken, t);
    void reply.header(
      'set-cookie',
      `${FLASH_COOKIE}=${value}; Max-Age=${FLASH_TTL_SECONDS}; ${attributes(req)}`,
    );
  }

  /** The token, once: the cookie is cleared in this response, so a reload (or anything later) gets undefined. */
  take(
    req: FastifyRequest,
    reply: FastifyReply,
    sessionToken: string,
    tokenId: number,
  ): CreatedToken | undefined {
    const value = readCookie(req, FLASH_COOKIE);
    if (value === undefined) return undefined;
    void reply.header('set-cookie', `${FLASH_COOKIE}=; Max-Age=0; ${attributes(req)}`);
    return this.open(sessionToken, tokenId, value);
  }
}

function attributes(req: FastifyRequest): string {
  return `Path=${PATH}; HttpOnly; SameSite=Strict${req.protocol === 'https' ? '; Secure' : ''}`;
}
