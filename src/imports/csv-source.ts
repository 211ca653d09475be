/**
 * Reading an import file: a first streaming scan (sha256, encoding, binary sniffing) and then the record
 * stream (iconv-lite + csv-parse), never the whole file in memory.
 *
 * Why a scan before parsing: `encoding: auto` must know whether the *whole* file is valid UTF-8 before the
 * first row is decoded (a é in windows-1252 on line 900,000 would otherwise corrupt rows already applied), and
 * the sha256 decides "already imported" before anything starts. Reading is ~1 GB/s, parsing ~50 MB/s, so the
 * scan costs a few percent.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { parse, type CsvError } from 'csv-parse';
import iconv from 'iconv-lite';
import { ImportFileError } from '../errors.js';

export type FileEncoding = 'utf-8' | 'windows-1252' | 'utf-16le' | 'utf-16be';

export interface FileScan {
  sha256: string;
  size: number;
  encoding: FileEncoding;
  /** The file starts with a byte-order mark (kept when writing the rejected rows back). */
  bom: boolean;
  /** Line ending of the first line, reused for the rejected rows. */
  eol: '\r\n' | '\n' | '\r';
}

function eolOf(head: Buffer): FileScan['eol'] {
  const cr = head.indexOf(0x0d);
  const lf = head.indexOf(0x0a);
  if (cr >= 0 && (lf < 0 || cr < lf)) return head[cr + 1] === 0x0a ? '\r\n' : '\r';
  return '\n';
}

/** Longest record accepted, in characters: longer ones are rejected rows (a 5 MB line is junk, not a recipient). */
export const MAX_RECORD_CHARS = 1 << 20;
/**
 * Longest record csv-parse buffers (memory bound). csv-parse cannot resume after its own size limit (every
 * later record errors too), so a record beyond this fails the file; between the two limits the row is rejected.
 */
export const MAX_RECORD_BUFFER_CHARS = 16 << 20;

/** Share of control bytes (NUL and friends, not tab/CR/LF) in the first 64 KiB above which a file is binary. */
const BINARY_CONTROL_RATIO = 0.05;
const SNIFF_BYTES = 64 * 1024;

function isControl(b: number): boolean {
  return b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d;
}

/**
 * Hash the file and settle its encoding. `declared` `utf-8` must be valid UTF-8; `auto` takes a BOM, else valid
 * UTF-8, else windows-1252. Binary content (many control bytes) is refused with DS_IMPORT_ENCODING.
 */
export async function scanFile(file: string, declared: 'auto' | 'utf-8' | 'windows-1252'): Promise<FileScan> {
  const hash = createHash('sha256');
  let size = 0;
  let head: Buffer | null = null;
  let utf8Valid = true;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let stream: fs.ReadStream;
  try {
    stream = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      if (size < SNIFF_BYTES)
        head = head
          ? Buffer.concat([head, chunk.subarray(0, SNIFF_BYTES - size)])
          : chunk.subarray(0, SNIFF_BYTES);
      size += chunk.length;
      if (utf8Valid && declared !== 'windows-1252') {
        try {
          decoder.decode(chunk, { stream: true });
        } catch {
          utf8Valid = false;
        }
      }
    }
    if (utf8Valid && declared !== 'windows-1252') {
      try {
        decoder.decode();
      } catch {
        utf8Valid = false; // the file ends inside a multi-byte sequence
      }
    }
  } catch (e) {
    throw new ImportFileError('DS_IMPORT_FILE_UNREADABLE', 'the file cannot be read', { cause: e });
  }
  const sha256 = hash.digest('hex');
  const h = head ?? Buffer.alloc(0);
  if (h.length >= 2 && ((h[0] === 0xff && h[1] === 0xfe) || (h[0] === 0xfe && h[1] === 0xff))) {
    // Excel's "Unicode text" export: UTF-16 with a BOM. Only honoured in auto mode.
    if (declared === 'auto') {
      const encoding = h[0] === 0xff ? 'utf-16le' : 'utf-16be';
      return {
        sha256,
        size,
        encoding,
        bom: true,
        eol: eolOf(Buffer.from(iconv.decode(h, encoding), 'utf8')),
      };
    }
  }
  const bom = h.length >= 3 && h[0] === 0xef && h[1] === 0xbb && h[2] === 0xbf;
  let controls = 0;
  for (const b of h) if (isControl(b)) controls++;
  if (h.length > 0 && controls / h.length > BINARY_CONTROL_RATIO)
    throw new ImportFileError('DS_IMPORT_ENCODING', 'the file is binary, not a CSV text file', {
      details: { controlBytes: controls },
    });
  const eol = eolOf(h);
  if (declared === 'windows-1252') return { sha256, size, encoding: 'windows-1252', bom: false, eol };
  if (declared === 'utf-8' && !utf8Valid)
    throw new ImportFileError(
      'DS_IMPORT_ENCODING',
      'the file is not valid UTF-8 as the instance declares',
      {},
    );
  return { sha256, size, encoding: utf8Valid ? 'utf-8' : 'windows-1252', bom, eol };
}

export interface CsvDialect {
  separator: string;
  quote: string | null;
}

/** One item of the record stream: a parsed record, or a record csv-parse could not read. */
export type SourceItem =
  { kind: 'record'; fields: string[]; line: number } | { kind: 'error'; line: number; reason: string };

export interface RecordSource {
  items: AsyncIterable<SourceItem>;
  /** Bytes of the file read so far (for progress and ETA). */
  bytesRead(): number;
  /** Stop reading early (on failure or cancellation) and release the file. */
  destroy(): void;
}

function csvErrorReason(err: CsvError): string {
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted value is not closed';
    case 'INVALID_OPENING_QUOTE':
    case 'CSV_INVALID_CLOSING_QUOTE':
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return 'a quote is misplaced';
    default:
      return 'the row cannot be parsed';
  }
}

/** Open the record stream of a scanned file with the instance's separator and qualifier. */
export function openRecords(file: string, scan: FileScan, dialect: CsvDialect): RecordSource {
  const input = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  let bytes = 0;
  input.on('data', (c: Buffer | string) => {
    bytes += c.length;
  });
  const skipped: { line: number; reason: string }[] = [];
  let lastSkipped: { line: number; reason: string } | null = null;
  let fatal: ImportFileError | null = null;
  const parser = parse({
    delimiter: dialect.separator,
    quote: dialect.quote ?? false,
    escape: dialect.quote ?? null,
    bom: true,
    relax_column_count: true,
    // A quote inside an unquoted value ("12" screen") is kept as text: customers' files are full of them.
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_BUFFER_CHARS,
    on_skip: (err: CsvError | undefined) => {
      if (!err) return;
      const line = Number((err as { lines?: number }).lines ?? 0);
      if (err.code === 'CSV_MAX_RECORD_SIZE') {
        fatal ??= new ImportFileError(
          'DS_IMPORT_CSV_MALFORMED',
          `line ${line} is longer than ${MAX_RECORD_BUFFER_CHARS} characters; the file cannot be read further`,
          {},
        );
        return;
      }
      // An over-long record is reported again for each chunk of it: one rejection per line is enough.
      if (lastSkipped && lastSkipped.line === line) return;
      lastSkipped = { line, reason: csvErrorReason(err) };
      skipped.push(lastSkipped);
    },
  });
  // Line numbers without csv-parse's `info` option, which builds a ~15-property object per record (measured
  // ~5 % of an import, and garbage): the parser pushes each record synchronously while its `info.lines` is the
  // line the record ends on, the very value `info: true` would copy.
  const state = (parser as unknown as { info: { lines: number } }).info;
  const push = parser.push.bind(parser);
  parser.push = (chunk: unknown) =>
    chunk === null ? push(null) : push({ record: chunk, line: state.lines });
  let decoded: Readable = input;
  if (scan.encoding !== 'utf-8') {
    // iconv emits strings; a pass-through turns them back into UTF-8 bytes for csv-parse.
    const toUtf8 = new Transform({
      writableObjectMode: false,
      transform(chunk: Buffer | string, _enc, cb) {
        cb(null, typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
      },
    });
    decoded = input.pipe(iconv.decodeStream(scan.encoding)).pipe(toUtf8);
  }
  const records = decoded.pipe(parser);
  input.on('error', (e) => parser.destroy(e));

  async function* items(): AsyncGenerator<SourceItem> {
    try {
      for await (const r of records as AsyncIterable<{ record: string[]; line: number }>) {
        // A line of only whitespace (a stray CR among LF lines, trailing spaces) is an empty line, not a row.
        if (fatal) throw fatal;
        if (r.record.length === 1 && r.record[0]!.trim() === '') continue;
        const line = r.line;
        let chars = 0;
        for (const f of r.record) chars += f.length;
        if (chars > MAX_RECORD_CHARS) {
          while (skipped.length > 0 && skipped[0]!.line <= line) yield { kind: 'error', ...skipped.shift()! };
          yield { kind: 'error', line, reason: `the row is longer than ${MAX_RECORD_CHARS} characters` };
          continue;
        }
        while (skipped.length > 0 && skipped[0]!.line <= line) yield { kind: 'error', ...skipped.shift()! };
        yield { kind: 'record', fields: r.record, line };
      }
    } catch (e) {
      if (e instanceof ImportFileError) throw e;
      throw new ImportFileError('DS_IMPORT_CSV_MALFORMED', 'the file cannot be parsed as CSV', { cause: e });
    }
    if (fatal) throw fatal;
    while (skipped.length > 0) yield { kind: 'error', ...skipped.shift()! };
  }
  return {
    items: items(),
    bytesRead: () => bytes,
    destroy: () => {
      input.destroy();
      parser.destroy();
    },
  };
}
