/**
 * Automatic status changes (reference §1.5) and the unsubscribe type codes they stamp (§3.4.1):
 *
 * | event | lists | type |
 * |---|---|---|
 * | hard bounce | every list of the account (email) | `80` generic, `81` bad syntax, `82` no such domain, `83` mailbox gone |
 * | soft bounces, `threshold` in a row | every list (email) | `512` |
 * | complaint (feedback loop) | the event's list (else every list) | `16` |
 * | unsubscribe link (tracking page) | the sending's list (else every list) | `2` |
 * | one-click / webmail button (RFC 8058) | the sending's list (else every list) | `32` |
 * | ingested `unsubscribe` | the event's list (else every list) | `optoutType`, default `2` |
 *
 * Bounce and complaint types (`8x`, `16x`) lock the subscription: an import cannot force an opt-in over them.
 */

/** Default number of consecutive soft bounces that opts a recipient out (type 512). */
export const DEFAULT_SOFT_BOUNCE_THRESHOLD = 5;

export const OPTOUT = {
  link: '2',
  oneClick: '32',
  complaint: '16',
  hardBounce: '80',
  softBounces: '512',
} as const;

/**
 * The type of a hard bounce from its code: RFC 3463 enhanced status codes (`5.1.1`) or a bare SMTP reply
 * code. A type the caller gives already in the `8x` family is kept.
 */
export function hardBounceType(code: string | undefined): string {
  if (!code) return OPTOUT.hardBounce;
  const c = code.trim();
  if (/^8[0-9]?$/.test(c)) return c;
  const enhanced = /\b[45]\.(\d{1,3})\.(\d{1,3})\b/.exec(c);
  if (enhanced) {
    const key = `${enhanced[1]}.${enhanced[2]}`;
    if (key === '1.3') return '81'; // bad destination mailbox address syntax
    if (key === '1.2' || key === '4.4') return '82'; // bad destination system / unable to route: no domain
    if (key === '1.1' || key === '1.6' || key === '2.1') return '83'; // no such mailbox / moved / disabled
  }
  return OPTOUT.hardBounce;
}
