/**
 * The one-time display of a new API token with POST/redirect/GET: the creation POST leaves the clear token
 * here and redirects; the GET it redirects to takes it out. Reloading that page therefore neither posts the
 * form again (no second token) nor shows the secret again, and the secret is in no URL, cookie or table.
 *
 * An entry belongs to the signed-in session that created the token (its cookie token, hashed) and to the
 * token's id, and lives in this process's memory for a few minutes at most (a redirect that was never
 * followed). Why not the database: the clear token must never be stored. The cost: with several HTTP
 * processes, the redirect must reach the process that took the POST (sticky sessions); if it does not, the
 * page says the token can no longer be shown (revoke it and create another), as a reload does.
 */
import { createHash } from 'node:crypto';

export interface CreatedToken {
  id: number;
  name: string;
  token: string;
}

const TTL_MS = 5 * 60_000;
/** Only admins create tokens, so this is never reached in practice; it bounds memory all the same. */
const MAX_ENTRIES = 1000;

export class TokenFlash {
  private readonly entries = new Map<string, { t: CreatedToken; expires: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  private key(sessionToken: string, tokenId: number): string {
    return `${createHash('sha256').update(sessionToken).digest('hex')}:${tokenId}`;
  }

  put(sessionToken: string, t: CreatedToken): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
    while (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(this.key(sessionToken, t.id), { t, expires: now + TTL_MS });
  }

  /** The token, once: later calls (a reload) and other sessions get undefined. */
  take(sessionToken: string, tokenId: number): CreatedToken | undefined {
    const k = this.key(sessionToken, tokenId);
    const e = this.entries.get(k);
    this.entries.delete(k);
    return e && e.expires > this.now() ? e.t : undefined;
  }
}
