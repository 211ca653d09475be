/**
 * Server-side HTML without a template engine: a tagged template that escapes every interpolated value, unless
 * it is a `Raw` fragment made by `html` itself (or `raw()` for constants). Pages compose fragments; nothing a
 * user or a file can control reaches the page unescaped.
 */

/** A trusted HTML fragment. */
export class Raw {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}
export const raw = (s: string): Raw => new Raw(s);

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => ESC[c]!);

type Value = Raw | string | number | boolean | null | undefined | Value[];

function render(v: Value): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof Raw) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Raw {
  let out = strings[0]!;
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!));
  return new Raw(out);
}

/** `1.2 MB` style sizes. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** `2026-03-01 10:00:05 UTC`: unambiguous for operators in any zone. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  return iso
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC')
    .replace(/Z$/, ' UTC');
}

/** A query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/**
 * A one-button POST form (the dashboard's actions: cancel, retry, enable, remove, revoke…). `confirm` asks
 * first (dashboard.js, `data-confirm`); `fields` are hidden or small inputs sent with it.
 */
export function postButton(
  action: string,
  label: string,
  o: { confirm?: string; primary?: boolean; fields?: Raw } = {},
): Raw {
  return html`<form class="inline" method="post" action="${action}">
    ${o.fields}<button
      type="submit"
      ${o.primary ? raw(' class="primary"') : ''}${o.confirm ? html` data-confirm="${o.confirm}"` : ''}
    >
      ${label}
    </button>
  </form>`;
}

export type Section = 'imports' | 'jobs' | 'instances' | 'files' | 'charts' | 'sftp' | 'account';

export interface LayoutOptions {
  title: string;
  /** Current section, for the navigation highlight. */
  section?: Section;
  /** Who is signed in (`admin` or the account id); absent on the sign-in page. */
  who?: string;
  /** Account carried over in the navigation links (admin), or the token's own account. */
  account?: string;
  /** Reload the page every few seconds (while files are queued or running). */
  autoRefresh?: boolean;
}

export function layout(o: LayoutOptions, body: Raw): Raw {
  const nav = (key: NonNullable<LayoutOptions['section']>, label: string, href: string) =>
    html`<a href="${href}${qs({ account: o.account })}" class="${o.section === key ? 'current' : ''}"
      >${label}</a
    >`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title} · datasync</title>
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body${o.autoRefresh ? raw(' data-autorefresh="5"') : ''}>
<header>
  <strong class="brand">datasync</strong>
  ${
    o.who
      ? html`<nav>
            ${nav('imports', 'Import status', '/imports')}${nav('jobs', 'Jobs', '/jobs')}${nav('instances', 'Instances', '/instances')}${nav('files', 'Files', '/files')}${nav('sftp', 'SFTP users', '/sftp-users')}${nav('account', 'Account', '/account')}${nav('charts', 'Charts', '/charts')}
          </nav>
          <form method="post" action="/logout" class="who">
            <span>${o.who}</span> <button type="submit">Sign out</button>
          </form>`
      : ''
  }
</header>
<main>
<h1>${o.title}</h1>
${body}
</main>
</body>
</html>`;
}
