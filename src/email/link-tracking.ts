/**
 * Click tracking: rewrite the `href` of `<a>` / `<area>` links in a rendered HTML body to signed click URLs
 * (http/tracking-links.ts) that redirect to the original address, with `QueryStringAdditionalParams` appended
 * to that address first (so UTM parameters reach the customer's analytics after the redirect).
 *
 * Only `http:` and `https:` links are rewritten: the click endpoint redirects to absolute http(s) URLs only
 * (anything else would make it an open redirector for `javascript:` and friends), so the `MailToTracking`,
 * `FtpTracking` and `NewsTracking` switches are accepted and documented as having no effect.
 */

export interface LinkTrackingOptions {
  /** Master switch (`LinkTracking`). Default true. */
  enabled: boolean;
  /** `HttpLinkTracking`. Default true. */
  http: boolean;
  /** `HttpsLinkTracking`. Default true. */
  https: boolean;
  /** `QueryStringAdditionalParams`, e.g. `utm_source=news&utm_medium=email`; empty for none. */
  queryParams: string;
}

export const DEFAULT_LINK_TRACKING: LinkTrackingOptions = {
  enabled: true,
  http: true,
  https: true,
  queryParams: '',
};

const HREF = /(<(?:a|area)\b[^>]*?\bhref\s*=\s*)("([^"]*)"|'([^']*)')/gi;

/** `&amp;` and numeric character references in attribute values; what a mail client would follow. */
function decodeAttr(v: string): string {
  return v
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replaceAll('&quot;', '"')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

/** Append extra query parameters before any `#fragment`. */
export function appendQuery(url: string, params: string): string {
  const p = params.trim().replace(/^[?&]+/, '');
  if (!p) return url;
  const hash = url.indexOf('#');
  const base = hash < 0 ? url : url.slice(0, hash);
  const frag = hash < 0 ? '' : url.slice(hash);
  const sep = base.includes('?') ? (base.endsWith('?') || base.endsWith('&') ? '' : '&') : '?';
  return `${base}${sep}${p}${frag}`;
}

/**
 * Rewrite the trackable links of `html`. `track(url)` returns the click URL for a destination; `skip(url)`
 * keeps a link as is (the recipient's own unsubscribe link must not become a click).
 */
export function rewriteLinks(
  html: string,
  opts: LinkTrackingOptions,
  track: (url: string) => string,
  skip: (url: string) => boolean = () => false,
): string {
  if (!opts.enabled) return html;
  return html.replace(HREF, (whole, head: string, _q: string, dq?: string, sq?: string) => {
    const raw = (dq ?? sq ?? '').trim();
    const url = decodeAttr(raw);
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
    if (!(scheme === 'http' && opts.http) && !(scheme === 'https' && opts.https)) return whole;
    if (skip(url)) return whole;
    const target = normalizedTarget(url, opts.queryParams);
    if (target === null) return whole; // not a parseable absolute URL: leave it to the mail client
    // Click URLs are base64url tokens under a configured base: nothing in them needs escaping in "…".
    return `${head}"${track(target)}"`;
  });
}

/**
 * `new URL(…).href` of a destination with the extra parameters, remembered: every message of a send carries the
 * same links, and URL parsing was a visible share of the per-message cost (bench/send.ts). Bounded, cleared
 * when full (personalised URLs differ per recipient and must not make it grow without end).
 */
const targets = new Map<string, string | null>();
const MAX_TARGETS = 10_000;

function normalizedTarget(url: string, queryParams: string): string | null {
  const key = `${queryParams}\u0000${url}`;
  let href = targets.get(key);
  if (href === undefined) {
    try {
      href = new URL(appendQuery(url, queryParams)).href;
    } catch {
      href = null;
    }
    if (targets.size >= MAX_TARGETS) targets.clear();
    targets.set(key, href);
  }
  return href;
}
