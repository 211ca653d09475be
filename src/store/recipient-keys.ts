/**
 * Normalisation of the two recipient keys (reference §1.4: email and mobile are both primary keys).
 * Pure functions: the import engine calls them for every row, so they avoid allocations where they can.
 */
import { domainToASCII } from 'node:url';
import { Metadata } from 'libphonenumber-js/core';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import maxMetadata from 'libphonenumber-js/max/metadata';
import { ValidationError } from '../errors.js';

/** Practical RFC 5321/5322 subset: dot-atom local part (or a quoted string), a dotted domain with a TLD. */
const LOCAL_RE =
  /^(?:[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*")$/;
const LABEL_RE = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Normalise an email address: trim, lower-case and IDN-encode the domain (the local part keeps its case:
 * RFC 5321 says it may be case-sensitive). Returns null when the syntax is not valid.
 */
export function normalizeEmail(input: string): string | null {
  const s = input.trim();
  if (s.length === 0 || s.length > 254) return null;
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) return null;
  const local = s.slice(0, at);
  if (local.length > 64 || !LOCAL_RE.test(local)) return null;
  let domain = s.slice(at + 1).toLowerCase();
  // Non-ASCII domains (IDN) are stored in their ASCII (punycode) form so the same address always matches.
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(domain)) {
    domain = domainToASCII(domain);
    if (!domain) return null;
  }
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  const labels = domain.split('.');
  if (labels.length < 2) return null;
  for (const l of labels) if (!LABEL_RE.test(l)) return null;
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return null;
  return `${local}@${domain}`;
}

/** Like normalizeEmail but throws DS_EMAIL_INVALID. */
export function requireEmail(input: string): string {
  const e = normalizeEmail(input);
  if (!e)
    throw new ValidationError(`"${truncate(input)}" is not a valid email address`, {
      code: 'DS_EMAIL_INVALID',
    });
  return e;
}

export interface MobileParts {
  /** Complete number (`444`), or the number part (`333`) when `prefix` is given. */
  number: string;
  /** International prefix (`222`): `0039`, `+39`, `39`, or empty. */
  prefix?: string | null;
  /** The list's default prefix, digits only (`39`), used when the number carries none. */
  defaultPrefix?: string | null;
  /** ISO country used when neither the number nor the list gives a prefix. */
  defaultCountry?: string | null;
}

/**
 * Normalise a mobile number to international digits without `+` (E.164 minus the plus), e.g. `393471234567`.
 * Accepts `+39…`, `0039…`, a separate prefix, or a national number with the list's default prefix.
 * Returns null when the number cannot be read as a possible mobile number.
 */
export function normalizeMobile(parts: MobileParts): string | null {
  const raw = parts.number.replace(/[\s\-().]/g, '');
  if (!raw) return null;
  const prefix = (parts.prefix ?? '')
    .replace(/[\s\-()]/g, '')
    .replace(/^\+/, '')
    .replace(/^00/, '');
  let candidate: string;
  if (prefix) {
    if (!/^[0-9]{1,4}$/.test(prefix)) return null;
    candidate = '+' + prefix + raw.replace(/^\+/, '');
  } else if (raw.startsWith('+')) {
    candidate = raw;
  } else if (raw.startsWith('00')) {
    candidate = '+' + raw.slice(2);
  } else if (parts.defaultPrefix && /^[0-9]{1,4}$/.test(parts.defaultPrefix)) {
    // A number that already starts with the list's prefix and is long enough is taken as complete (`444` style).
    const p = parts.defaultPrefix;
    candidate = raw.startsWith(p) && raw.length >= p.length + 8 ? '+' + raw : '+' + p + raw;
  } else {
    const pn = parsePhoneNumberFromString(
      raw,
      (parts.defaultCountry ?? undefined) as CountryCode | undefined,
    );
    return pn && pn.isPossible() ? pn.number.slice(1) : null;
  }
  if (!/^\+[0-9]{6,17}$/.test(candidate)) return null;
  return parseInternational(candidate);
}

/** The reference: libphonenumber-js on `+digits` (~35 µs a number, a quarter of a million-row import). */
function parseInternationalSlow(candidate: string): string | null {
  const pn = parsePhoneNumberFromString(candidate);
  return pn && pn.isPossible() ? pn.number.slice(1) : null;
}

/** The parts of libphonenumber-js's `Metadata` the fast path reads (its typings declare fewer). */
interface MetadataApi {
  hasCallingCode(callingCode: string): boolean;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
  selectNumberingPlan(countryOrCallingCode: string): void;
  numberingPlan: { possibleLengths(): number[] | undefined; nationalPrefixForParsing(): string | undefined };
}

interface CallingCodeShape {
  /** National-prefix patterns of the calling code's countries: a number they match takes the slow path. */
  prefixes: RegExp[];
  /** National number length → "possible" (and returned unchanged), learnt from the first such number. */
  possibleByLength: Map<number, boolean>;
}

let metadataApi: MetadataApi | null = null;
/** Calling code → its shape; null = not eligible for the fast path; absent = not computed yet. */
const shapes = new Map<string, CallingCodeShape | null>();

/**
 * For `+<calling code><national number>`, libphonenumber-js returns the digits unchanged and judges
 * "possible" by the national number's length alone, unless a national prefix pattern matches the start of the
 * national number (it is then stripped), or the countries sharing the calling code have different possible
 * lengths (the exact country then decides). Outside those cases the verdict is a function of
 * (calling code, length): learnt once from the real parser and memoised. Non-geographic codes always take the
 * slow path. test/store/mobile-fast-path.test.ts compares both paths over every calling code.
 */
function shapeOf(callingCode: string): CallingCodeShape | null | undefined {
  const known = shapes.get(callingCode);
  if (known !== undefined) return known;
  const m = (metadataApi ??= new Metadata(maxMetadata) as unknown as MetadataApi);
  if (!m.hasCallingCode(callingCode)) return undefined;
  const countries = m.getCountryCodesForCallingCode(callingCode) ?? [];
  let shape: CallingCodeShape | null = { prefixes: [], possibleByLength: new Map() };
  let lengths: string | null = null;
  for (const plan of [callingCode, ...countries]) {
    if (plan === '001') {
      shape = null;
      break;
    }
    m.selectNumberingPlan(plan);
    const pl = JSON.stringify(m.numberingPlan.possibleLengths() ?? null);
    if (lengths !== null && pl !== lengths) {
      shape = null;
      break;
    }
    lengths = pl;
    const np = m.numberingPlan.nationalPrefixForParsing();
    if (np) shape.prefixes.push(new RegExp(`^(?:${np})`));
  }
  shapes.set(callingCode, shape);
  return shape;
}

function parseInternational(candidate: string): string | null {
  // As libphonenumber-js: a leading 0 is no calling code; the first known code of 1–3 digits is taken.
  if (candidate.charCodeAt(1) === 48) return parseInternationalSlow(candidate);
  for (let end = 2; end <= 4; end++) {
    const shape = shapeOf(candidate.slice(1, end));
    if (shape === undefined) continue;
    if (shape === null) break;
    const national = candidate.slice(end);
    for (const re of shape.prefixes) if (re.test(national)) return parseInternationalSlow(candidate);
    const verdict = shape.possibleByLength.get(national.length);
    if (verdict !== undefined) return verdict ? candidate.slice(1) : null;
    const slow = parseInternationalSlow(candidate);
    // Learn only the two expected outcomes; anything else is left to the parser every time.
    if (slow === null || slow === candidate.slice(1))
      shape.possibleByLength.set(national.length, slow !== null);
    return slow;
  }
  return parseInternationalSlow(candidate);
}

/** Like normalizeMobile but throws DS_MOBILE_INVALID. */
export function requireMobile(parts: MobileParts): string {
  const m = normalizeMobile(parts);
  if (!m)
    throw new ValidationError(`"${truncate(parts.number)}" is not a valid mobile number`, {
      code: 'DS_MOBILE_INVALID',
    });
  return m;
}

/** Field values are limited to 200 bytes (reference §1.4, nvarchar(200)). */
export const FIELD_VALUE_MAX_BYTES = 200;

function truncate(s: string): string {
  return s.length > 80 ? s.slice(0, 77) + '...' : s;
}
