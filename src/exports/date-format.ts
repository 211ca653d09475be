/**
 * Date-time formatting of export columns and file names in the instance's time zone (reference §3.2, §6.6).
 *
 * Pattern tokens: `YYYY` year, `MM` month, `DD` day, `hh` hour (00-23), `mm` minute, `ss` second, `SSS`
 * milliseconds; everything else is literal (`T`, `-`, `:`, space…). The reference's own spelling
 * `yyyymmddThhmmss` is accepted as a name for the default `YYYYMMDDThhmmss` (its `mm` means month, then
 * minute, which a token language cannot express).
 *
 * Speed matters: a million-row export formats two dates per row. `Intl` is used once per 15 minutes of UTC
 * time to learn the zone's offset (every zone's offset changes on a quarter-hour boundary), then the fields
 * come from plain arithmetic.
 */
export const DEFAULT_DATE_FORMAT = 'YYYYMMDDThhmmss';
const ALIASES: Record<string, string> = { yyyymmddThhmmss: DEFAULT_DATE_FORMAT, iso: 'YYYY-MM-DDThh:mm:ss' };
const TOKEN_RE = /YYYY|MM|DD|hh|mm|ss|SSS/g;

export type DateFormatter = (iso: string | null | undefined) => string;

/** Whether a pattern has at least one token (else every date would print as the same text). */
export function isValidDatePattern(pattern: string): boolean {
  const p = ALIASES[pattern] ?? pattern;
  return new RegExp(TOKEN_RE.source).test(p);
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const QUARTER_MS = 15 * 60 * 1000;

/** Offset of a zone from UTC in ms at an instant, cached per quarter hour. */
export function zoneOffsetFn(timeZone: string): (utcMs: number) => number {
  const dtf = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const cache = new Map<number, number>();
  return (utcMs) => {
    const q = Math.floor(utcMs / QUARTER_MS);
    let off = cache.get(q);
    if (off === undefined) {
      const at = q * QUARTER_MS;
      const parts: Record<string, number> = {};
      for (const p of dtf.formatToParts(new Date(at)))
        if (p.type !== 'literal') parts[p.type] = Number(p.value);
      const local = Date.UTC(
        parts.year!,
        parts.month! - 1,
        parts.day!,
        parts.hour!,
        parts.minute!,
        parts.second!,
      );
      off = local - at;
      if (cache.size > 10_000) cache.clear();
      cache.set(q, off);
    }
    return off;
  };
}

export type DateToken = 'YYYY' | 'MM' | 'DD' | 'hh' | 'mm' | 'ss' | 'SSS';

/** A pattern (or its alias) as literal texts and tokens, in order: what `dateFormatter` writes, as data. */
export function datePatternParts(pattern: string): (string | { token: DateToken })[] {
  const p = ALIASES[pattern] ?? pattern;
  const out: (string | { token: DateToken })[] = [];
  let last = 0;
  for (const m of p.matchAll(TOKEN_RE)) {
    if (m.index > last) out.push(p.slice(last, m.index));
    out.push({ token: m[0] as DateToken });
    last = m.index + m[0].length;
  }
  if (last < p.length) out.push(p.slice(last));
  return out;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A formatter from ISO-8601 UTC strings (as the store holds them) to the pattern in the zone; null → ''. */
export function dateFormatter(pattern: string, timeZone: string): DateFormatter {
  const p = ALIASES[pattern] ?? pattern;
  const offset = zoneOffsetFn(timeZone);
  // Split once into literal and token parts so a row costs a few string concatenations.
  const parts: (string | ((d: Date) => string))[] = [];
  let last = 0;
  for (const m of p.matchAll(TOKEN_RE)) {
    if (m.index > last) parts.push(p.slice(last, m.index));
    const t = m[0];
    parts.push(
      t === 'YYYY'
        ? (d) => pad(d.getUTCFullYear(), 4)
        : t === 'MM'
          ? (d) => pad(d.getUTCMonth() + 1)
          : t === 'DD'
            ? (d) => pad(d.getUTCDate())
            : t === 'hh'
              ? (d) => pad(d.getUTCHours())
              : t === 'mm'
                ? (d) => pad(d.getUTCMinutes())
                : t === 'ss'
                  ? (d) => pad(d.getUTCSeconds())
                  : (d) => pad(d.getUTCMilliseconds(), 3),
    );
    last = m.index + t.length;
  }
  if (last < p.length) parts.push(p.slice(last));
  // Consecutive rows often carry the same instant (a sending's `sentDate` on every row of a campaign).
  let lastIso: string | undefined;
  let lastText = '';
  return (iso) => {
    if (!iso) return '';
    if (iso === lastIso) return lastText;
    const ms = Date.parse(iso);
    if (Number.isNaN(ms)) return '';
    const d = new Date(ms + offset(ms));
    let s = '';
    for (const part of parts) s += typeof part === 'string' ? part : part(d);
    lastIso = iso;
    lastText = s;
    return s;
  };
}

/** Local calendar date (`YYYY-MM-DD`) of an instant in a zone. */
export function localDate(at: Date, timeZone: string): string {
  return dateFormatter('YYYY-MM-DD', timeZone)(at.toISOString());
}

/**
 * The UTC instant of local midnight starting a calendar day in a zone. Two passes settle DST: the offset at
 * the naive guess may differ from the offset at the real midnight.
 */
export function zonedMidnight(localDay: string, timeZone: string): Date {
  const [y, m, d] = localDay.split('-').map(Number) as [number, number, number];
  const offset = zoneOffsetFn(timeZone);
  const naive = Date.UTC(y, m - 1, d);
  let utc = naive - offset(naive);
  utc = naive - offset(utc);
  return new Date(utc);
}

/** `YYYY-MM-DD` shifted by whole days (calendar arithmetic, no zone involved). */
export function addDays(localDay: string, days: number): string {
  const [y, m, d] = localDay.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}
