/**
 * The CSV2SMS messages section (reference §4.5): a column row `MOBILE NUMBER;TEXT;Field1…;UNICODE`, then one
 * row per message, `;`-separated, every row with the column row's field count, an optional final `#` row.
 *
 * File-level problems (no usable column row, no placemark column, no message at all, rows after the `#`
 * trailer) throw an `ImportFileError`: nothing is imported or sent. Row-level problems reject that row only,
 * with `{ line, code, reason }` for the result file, and the rest goes on (invariant 6).
 *
 * Decisions (docs/sms.md): column names are matched case-insensitively and in any order; `UNICODE` is optional;
 * cells may be quoted with `"` (so a text can hold a `;`); placeholders are `[FieldN]` (case-insensitive) and
 * an unknown one rejects the row; a number seen twice is messaged once (the first row wins).
 */
import { parse } from 'csv-parse/sync';
import { ImportFileError, type ErrorCode } from '../errors.js';
import { segmentText, type SmsEncoding } from './sms-encoding.js';

export interface Csv2SmsColumns {
  /** The column row as written (the rejected-rows file repeats it). */
  names: string[];
  mobile: number;
  text: number;
  unicode: number | null;
  /** Placemark number N of `FieldN` → column index. */
  fields: Map<number, number>;
}

export interface Csv2SmsMessage {
  line: number;
  cells: string[];
  /** International digits without `+`. */
  mobile: string;
  /** The text with placeholders replaced. */
  text: string;
  encoding: SmsEncoding;
  parts: number;
  /** Septets (GSM-7) or UTF-16 units (UCS-2). */
  units: number;
  segments: string[];
}

export interface Csv2SmsRejection {
  line: number;
  cells: string[];
  code: ErrorCode;
  reason: string;
  mobile?: string;
}

export interface ParsedMessages {
  columns: Csv2SmsColumns;
  messages: Csv2SmsMessage[];
  rejected: Csv2SmsRejection[];
  /** Message rows read (accepted + rejected), empty rows excluded. */
  rows: number;
  /** Text of the final `#` row, if any. */
  trailer: string | null;
}

export interface MessagesOptions {
  /** Largest number of SMS parts one message may take (reference: 3 parts = 459 GSM-7 characters). */
  maxSegments: number;
  /** Normalise a `MOBILE NUMBER` cell; null when it is not a possible mobile number. */
  normalizeMobile: (raw: string) => string | null;
}

const PLACEHOLDER = /\[field([0-9]{1,3})\]/gi;

function fileError(code: ErrorCode, line: number, message: string): never {
  throw new ImportFileError(code, `line ${line}: ${message}`, { details: { line } });
}

function readColumns(cells: string[], line: number): Csv2SmsColumns {
  let mobile = -1;
  let text = -1;
  let unicode: number | null = null;
  const fields = new Map<number, number>();
  const seen = new Set<string>();
  cells.forEach((raw, i) => {
    const name = raw.trim().toUpperCase().replace(/\s+/g, ' ');
    if (seen.has(name)) fileError('DS_SMS_COLUMNS_INVALID', line, `column "${raw.trim()}" appears twice`);
    seen.add(name);
    const f = /^FIELD([0-9]{1,3})$/.exec(name);
    if (name === 'MOBILE NUMBER') mobile = i;
    else if (name === 'TEXT') text = i;
    else if (name === 'UNICODE') unicode = i;
    else if (f && Number(f[1]) >= 1) fields.set(Number(f[1]), i);
    else
      fileError(
        'DS_SMS_COLUMNS_INVALID',
        line,
        `unknown column "${raw.trim()}" in the column row (expected MOBILE NUMBER;TEXT;Field1;…;UNICODE)`,
      );
  });
  if (mobile < 0 || text < 0)
    fileError(
      'DS_SMS_COLUMNS_INVALID',
      line,
      `the column row must name MOBILE NUMBER and TEXT (e.g. MOBILE NUMBER;TEXT;Field1;UNICODE), found "${cells.join(';')}"`,
    );
  if (fields.size === 0)
    fileError(
      'DS_SMS_NO_PLACEMARK',
      line,
      'the column row needs at least one placemark column (Field1, Field2, …)',
    );
  return { names: cells.map((c) => c.trim()), mobile, text, unicode, fields };
}

/** `UNICODE` cell → force UCS-2 (true), automatic (false), or invalid (null). */
function unicodeFlag(v: string): boolean | null {
  const s = v.trim().toLowerCase();
  if (s === '' || s === '0' || s === 'false' || s === 'no' || s === 'n') return false;
  if (s === '1' || s === 'true' || s === 'yes' || s === 'y') return true;
  return null;
}

export function parseCsv2SmsMessages(body: string, firstLine: number, opts: MessagesOptions): ParsedMessages {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(body, {
      delimiter: ';',
      quote: '"',
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: false,
      info: true,
    }) as unknown as typeof records;
  } catch (e) {
    const at = (e as { lines?: number }).lines;
    throw new ImportFileError(
      'DS_IMPORT_CSV_MALFORMED',
      `line ${firstLine + (at ?? 1) - 1}: the messages section cannot be read as ";"-separated rows (an unclosed quote?)`,
      { cause: e, details: { line: firstLine + (at ?? 1) - 1 } },
    );
  }
  let columns: Csv2SmsColumns | null = null;
  const messages: Csv2SmsMessage[] = [];
  const rejected: Csv2SmsRejection[] = [];
  const seenMobiles = new Map<string, number>();
  let trailer: string | null = null;
  let trailerLine = 0;
  let rows = 0;
  let prevEnd = 0;
  for (const { record: cells, info } of records) {
    // info.lines is the record's last line; a quoted cell may span lines, so the row starts after the previous one.
    const line = firstLine + prevEnd;
    prevEnd = info.lines;
    const empty = cells.every((c) => c.trim() === '');
    if (!columns) {
      if (empty) continue; // blank lines between the header and the column row are tolerated
      columns = readColumns(cells, line);
      continue;
    }
    if (empty) continue;
    if (trailer !== null)
      fileError(
        'DS_SMS_TRAILER_NOT_LAST',
        line,
        `the "#" row at line ${trailerLine} must be the last row; message rows follow it`,
      );
    if (cells[0]!.startsWith('#')) {
      trailer = cells.join(';').slice(1);
      trailerLine = line;
      continue;
    }
    rows++;
    const reject = (code: ErrorCode, reason: string, mobile?: string) =>
      rejected.push({ line, cells, code, reason, ...(mobile ? { mobile } : {}) });
    if (cells.length !== columns.names.length) {
      reject(
        'DS_SMS_ROW_COLUMNS',
        `line ${line}: ${cells.length} field(s), the column row has ${columns.names.length}`,
      );
      continue;
    }
    const rawMobile = cells[columns.mobile]!.trim();
    const mobile = rawMobile ? opts.normalizeMobile(rawMobile) : null;
    if (!mobile) {
      reject('DS_SMS_MOBILE_INVALID', `line ${line}: "${rawMobile}" is not a valid mobile number`);
      continue;
    }
    const force = columns.unicode === null ? false : unicodeFlag(cells[columns.unicode]!);
    if (force === null) {
      reject(
        'DS_SMS_UNICODE_INVALID',
        `line ${line}: UNICODE must be 1 or 0 (also true/false, yes/no, or empty), not "${cells[columns.unicode!]}"`,
        mobile,
      );
      continue;
    }
    let unknown: string | null = null;
    const fieldCols = columns.fields;
    const text = cells[columns.text]!.replace(PLACEHOLDER, (m: string, n: string) => {
      const col = fieldCols.get(Number(n));
      if (col === undefined) {
        unknown ??= m;
        return m;
      }
      return cells[col]!;
    });
    if (unknown !== null) {
      reject(
        'DS_SMS_PLACEHOLDER_UNKNOWN',
        `line ${line}: the text uses ${unknown} but there is no such column`,
        mobile,
      );
      continue;
    }
    if (text.trim() === '') {
      reject('DS_SMS_TEXT_EMPTY', `line ${line}: the text is empty`, mobile);
      continue;
    }
    const seg = segmentText(text, force);
    if (seg.parts > opts.maxSegments) {
      const unit = seg.encoding === 'gsm7' ? 'GSM-7 characters' : 'UCS-2 characters';
      reject(
        'DS_SMS_TEXT_TOO_LONG',
        `line ${line}: the text needs ${seg.parts} SMS parts (${seg.units} ${unit}), at most ${opts.maxSegments} are allowed`,
        mobile,
      );
      continue;
    }
    const first = seenMobiles.get(mobile);
    if (first !== undefined) {
      reject(
        'DS_SMS_DUPLICATE_NUMBER',
        `line ${line}: ${mobile} was already messaged by line ${first}`,
        mobile,
      );
      continue;
    }
    seenMobiles.set(mobile, line);
    messages.push({
      line,
      cells,
      mobile,
      text,
      encoding: seg.encoding,
      parts: seg.parts,
      units: seg.units,
      segments: seg.segments,
    });
  }
  if (!columns)
    fileError('DS_SMS_COLUMNS_INVALID', firstLine, 'the column row (MOBILE NUMBER;TEXT;Field1;…) is missing');
  if (rows === 0)
    fileError('DS_SMS_NO_MESSAGES', firstLine, 'the file has no message rows after the column row');
  return { columns, messages, rejected, rows, trailer };
}
