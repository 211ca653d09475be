/**
 * The CSV2SMS header section (reference §4.4): exactly 7 rows starting with `#`, every `;` stripped (a sheet
 * exported from Excel pads rows with separators). Every failing rule throws an `ImportFileError` whose message
 * names the row, so the customer can fix the file from the result file alone.
 *
 * Decisions on the reference's gaps (docs/sms.md, §7 items 19–21):
 * - rows 6 and 7 must exist but may be empty: empty campaign ⇒ `Default <listId>`, empty code ⇒ no check;
 * - empty row 5 ⇒ the caller's default list (the csv2sms instance's `defaultListId`, else list 1);
 * - alphanumeric sender: 1–11 of `A-Z a-z 0-9 space . - _ &`, at least one letter, no edge spaces;
 *   numeric sender: 3–15 digits, optionally after `+` or `00`;
 * - row 3 accepts `I`/`A` in either case.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { ImportFileError, type ErrorCode } from '../errors.js';
import { normalizeEmail } from '../store/index.js';

export const HEADER_ROWS = 7;
export const SENDER_MAX_ALPHANUMERIC = 11;
export const CODE_MAX = 10;
export const CAMPAIGN_MAX = 100;

export type Csv2SmsAction = 'send' | 'queue';

export interface Csv2SmsHeader {
  /** Row 1: normalised email or international mobile digits; null when empty. */
  author: string | null;
  /** Row 2: local wall-clock time `YYYY-MM-DD HH:MM` in the account's zone; null when empty. */
  sendAtLocal: string | null;
  /** Row 3. */
  action: Csv2SmsAction;
  /** Row 4: alphanumeric id as written, or digits of a numeric sender. */
  sender: string;
  senderKind: 'alphanumeric' | 'numeric';
  /** Row 5: null when empty (the caller picks its default list). */
  listId: number | null;
  /** Row 6 as written (may be empty: see {@link campaignName}). */
  campaign: string;
  /** Row 7: null when empty (no duplicate check). */
  code: string | null;
}

/** The header plus where the messages section starts. */
export interface Csv2SmsSplit {
  header: Csv2SmsHeader;
  /** The messages section (column row first), as text. */
  body: string;
  /** 1-based file line of the body's first line (the column row). */
  bodyFirstLine: number;
}

function fail(code: ErrorCode, row: number, message: string, value?: string): never {
  throw new ImportFileError(code, `header row ${row}: ${message}`, {
    details: { line: row, ...(value === undefined ? {} : { value }) },
  });
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;
const SENDER_ALNUM = /^[A-Za-z0-9 .\-_&]{1,11}$/;

/** Decode the file (UTF-8, BOM optional), split header and messages sections, validate the 7 header rows. */
export function parseCsv2SmsFile(content: Buffer): Csv2SmsSplit {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(content);
  } catch (e) {
    throw new ImportFileError(
      'DS_SMS_FILE_ENCODING',
      'the file is not valid UTF-8 (save it as UTF-8 with BOM)',
      {
        cause: e,
      },
    );
  }
  const lines = text.split(/\r\n|\r|\n/);
  let n = 0;
  while (n < lines.length && lines[n]!.startsWith('#')) n++;
  // The last line of a file that ends with a newline is an empty string, not a row.
  const contentRows = lines.length > 0 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  if (n !== HEADER_ROWS) {
    const what =
      n < HEADER_ROWS
        ? `found ${n} header row(s) starting with "#" before line ${n + 1}`
        : `found ${n} consecutive rows starting with "#" (is the column row missing?)`;
    throw new ImportFileError(
      'DS_SMS_HEADER_ROWS',
      `the file must start with exactly 7 header rows: ${what}`,
      {
        details: { line: Math.min(n + 1, Math.max(contentRows, 1)), headerRows: n },
      },
    );
  }
  const values = lines.slice(0, HEADER_ROWS).map((l) => l.slice(1).replaceAll(';', '').trim());
  const header = parseHeaderValues(values);
  return { header, body: lines.slice(HEADER_ROWS).join('\n'), bodyFirstLine: HEADER_ROWS + 1 };
}

function parseHeaderValues(v: string[]): Csv2SmsHeader {
  const [author, sendAt, action, sender, list, campaign, code] = v as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    author: parseAuthor(author),
    sendAtLocal: parseSendAt(sendAt),
    action: parseAction(action),
    ...parseSender(sender),
    listId: parseListId(list),
    campaign: parseCampaign(campaign),
    code: parseCode(code),
  };
}

function parseAuthor(s: string): string | null {
  if (!s) return null;
  if (s.includes('@')) {
    const e = normalizeEmail(s);
    if (e) return e;
  } else {
    const digits = s.replace(/[\s\-().]/g, '');
    const intl = digits.startsWith('+')
      ? digits
      : digits.startsWith('00')
        ? '+' + digits.slice(2)
        : '+' + digits;
    const pn = /^\+[0-9]{6,17}$/.test(intl) ? parsePhoneNumberFromString(intl) : undefined;
    if (pn && pn.isPossible()) return pn.number.slice(1);
  }
  fail(
    'DS_SMS_HEADER_AUTHOR',
    1,
    'the author must be an email address or a mobile number with its prefix',
    s,
  );
}

function parseSendAt(s: string): string | null {
  if (!s) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$/.exec(s);
  const bad = () => fail('DS_SMS_HEADER_SEND_TIME', 2, `"${s}" is not a send time YYYY-MM-DD HH:MM`, s);
  if (!m) bad();
  const [y, mo, d, h, mi] = m!.slice(1).map(Number) as [number, number, number, number, number];
  const probe = new Date(Date.UTC(y, mo - 1, d, h, mi));
  if (
    probe.getUTCFullYear() !== y ||
    probe.getUTCMonth() !== mo - 1 ||
    probe.getUTCDate() !== d ||
    h > 23 ||
    mi > 59
  )
    bad();
  return s;
}

function parseAction(s: string): Csv2SmsAction {
  const a = s.toUpperCase();
  if (a === 'I') return 'send';
  if (a === 'A') return 'queue';
  fail('DS_SMS_HEADER_ACTION', 3, `the action must be I (send) or A (queue only), not "${s}"`, s);
}

function parseSender(s: string): { sender: string; senderKind: 'alphanumeric' | 'numeric' } {
  if (!s) fail('DS_SMS_HEADER_SENDER', 4, 'the sender is required');
  const compact = s.replace(/[\s\-().]/g, '');
  if (/^(\+|00)?[0-9]+$/.test(compact)) {
    const digits = compact.replace(/^\+/, '').replace(/^00/, '');
    if (digits.length >= 3 && digits.length <= 15) return { sender: digits, senderKind: 'numeric' };
    fail(
      'DS_SMS_HEADER_SENDER',
      4,
      `a numeric sender must have 3 to 15 digits, "${s}" has ${digits.length}`,
      s,
    );
  }
  if (!SENDER_ALNUM.test(s) || !/[A-Za-z]/.test(s) || s !== s.trim())
    fail(
      'DS_SMS_HEADER_SENDER',
      4,
      `an alphanumeric sender must be 1-${SENDER_MAX_ALPHANUMERIC} characters of A-Z, a-z, 0-9, space, ".", "-", "_" or "&" with at least one letter; "${s}" is not`,
      s,
    );
  return { sender: s, senderKind: 'alphanumeric' };
}

function parseListId(s: string): number | null {
  if (!s) return null;
  if (!/^[0-9]{1,9}$/.test(s) || Number(s) < 1)
    fail(
      'DS_SMS_HEADER_LIST',
      5,
      `the list id must be a positive whole number (the list's numeric id), not "${s}"`,
      s,
    );
  return Number(s);
}

function parseCampaign(s: string): string {
  if ([...s].length > CAMPAIGN_MAX || CONTROL.test(s))
    fail(
      'DS_SMS_HEADER_CAMPAIGN',
      6,
      `the campaign name must be at most ${CAMPAIGN_MAX} printable characters`,
      s,
    );
  return s;
}

function parseCode(s: string): string | null {
  if (!s) return null;
  if ([...s].length > CODE_MAX || CONTROL.test(s))
    fail(
      'DS_SMS_HEADER_CODE',
      7,
      `the non-duplication code must be at most ${CODE_MAX} characters, "${s}" has ${[...s].length}`,
      s,
    );
  return s;
}

/** Row 6, or `Default <listId>` when it is empty (reference §4.4). */
export function campaignName(header: Csv2SmsHeader, listId: number): string {
  return header.campaign || `Default ${listId}`;
}

/**
 * The UTC instant of a wall-clock time in an IANA zone. A time inside a spring-forward gap (02:30 on the
 * day clocks jump to 03:00) moves forward by the gap, as calendars do; an ambiguous autumn time (it happens
 * twice) resolves to one of its two instants (the standard-time one for European zones).
 */
export function zonedTimeToUtc(local: string, timeZone: string): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})$/.exec(local);
  if (!m) throw new RangeError(`not a local time: ${local}`);
  const [y, mo, d, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
  const asUtc = Date.UTC(y, mo - 1, d, h, mi);
  // Two passes of "subtract the zone's offset at the guess" converge for every real zone.
  const offset1 = zoneOffsetMs(asUtc, timeZone);
  let t = asUtc - offset1;
  const offset2 = zoneOffsetMs(t, timeZone);
  if (offset2 !== offset1) {
    const t2 = asUtc - offset2;
    // In a gap neither guess maps back to the wall time: keep the later instant (time moves forward).
    t = zoneOffsetMs(t2, timeZone) === offset2 ? Math.min(t, t2) : Math.max(t, t2);
  }
  return new Date(t);
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Offset of `timeZone` from UTC at instant `t`, in ms (positive east of Greenwich). */
function zoneOffsetMs(t: number, timeZone: string): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(new Date(t)))
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  const wall = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return wall - Math.floor(t / 1000) * 1000;
}
