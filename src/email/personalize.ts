/**
 * Dynamic fields (reference §5.3 "DynamicFields", the `[fieldname]` style of the platform).
 *
 * Syntax (docs/ftpzip.md "Dynamic fields"):
 * - `[name]` — the recipient's value of the field called `name` (the account's field names, case-insensitive),
 *   `[12]` — the value of field id 12, `[email]` / `[mobile]` — the recipient's keys;
 *   transactional sends also know the extra columns of `Recipients.csv` by their header name;
 * - a name is letters, digits, `_`, `-` and `.` (1–64 characters); anything else in brackets is left as is,
 *   so `[ ]`, `[x y]` or `[1,2]` in ordinary text survive; a field name with spaces ("First name") is written
 *   with `_` for the spaces or without them (`[First_name]`, `[Firstname]`);
 * - a field with no value, or a name the account does not have, becomes the empty string;
 * - `[[` writes a literal `[` (so `[[name]` shows `[name]`);
 * - the reserved names `unsubscribe` and `unsubscribe_url` are the recipient's unsubscribe link (render-message.ts).
 * Values are HTML-escaped when substituted into HTML.
 */

/** Values known for one recipient: lower-case placeholder name → value. */
export type FieldValues = ReadonlyMap<string, string>;

const PLACEHOLDER = /\[\[|\[([A-Za-z0-9_.-]{1,64})\]/g;

export function escapeHtml(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * Substitute placeholders. `special` answers reserved names first (e.g. the unsubscribe URL); its result is
 * inserted as given (already safe), field values are escaped when `html`.
 */
export function personalize(
  template: string,
  values: FieldValues,
  opts: { html: boolean; special?: (name: string) => string | undefined },
): string {
  return template.replace(PLACEHOLDER, (whole, name: string | undefined) => {
    if (name === undefined) return '['; // `[[`
    const key = name.toLowerCase();
    const sp = opts.special?.(key);
    if (sp !== undefined) return sp;
    const v = values.get(key) ?? '';
    return opts.html ? escapeHtml(v) : v;
  });
}

/** Build a recipient's values: email, mobile, field ids and field names (names of the account's fields). */
export function recipientValues(
  r: { email: string | null; mobile: string | null; fields: Record<number, string> },
  fieldNames: ReadonlyMap<number, string>,
  extra: Record<string, string> = {},
): Map<string, string> {
  const m = new Map<string, string>();
  for (const [id, name] of fieldNames) {
    const key = name.toLowerCase();
    m.set(key, r.fields[id] ?? '');
    // A name with spaces ("First name") cannot be a placeholder as is: `[First_name]` and `[Firstname]` work.
    if (/\s/.test(key)) {
      m.set(key.replace(/\s+/g, '_'), r.fields[id] ?? '');
      m.set(key.replace(/\s+/g, ''), r.fields[id] ?? '');
    }
  }
  for (const [id, v] of Object.entries(r.fields)) m.set(String(id), v);
  // Extra columns (transactional) and keys win over a field that happens to carry the same name.
  for (const [k, v] of Object.entries(extra)) m.set(k.toLowerCase(), v);
  m.set('email', r.email ?? '');
  m.set('mobile', r.mobile ?? '');
  return m;
}
