/**
 * From rows of strings to the bytes of the export file: CSV text (separator, qualifier used only when a
 * value needs it, line ending), then the encoding (UTF-8, optionally with a BOM, or windows-1252 through
 * iconv-lite), then the optional compression. Everything is a stream, so back-pressure runs from the
 * destination's writes back to the database pages.
 */
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';
import type { ExportInstance } from './export-instance.js';
import { zipOneEntry } from './zip-stream.js';

export type FileOptions = ExportInstance['file'];

/**
 * Characters windows-1252 cannot hold: outside ASCII and Latin-1's printable half, except the 27 characters
 * the code page puts at 0x80-0x9F (€ ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž ‘ ’ “ ” • – — ˜ ™ š › œ ž Ÿ).
 */
// eslint-disable-next-line no-control-regex -- the class names the code page's whole repertoire, controls included
const NOT_1252 = /[^\x00-\x7f\xa0-\xff€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]/u;
const NOT_1252_G = new RegExp(NOT_1252.source, 'gu');

/**
 * The per-row policy for windows-1252: returns the row to write (characters replaced by `?` under `replace`),
 * or null to leave it out (`skipRow`); `onUnmappable` is called once per such row either way.
 */
export function rowPolicy(file: FileOptions, onUnmappable: () => void): (row: string[]) => string[] | null {
  if (file.encoding !== 'windows-1252') return (row) => row;
  return (row) => {
    let bad = false;
    for (const v of row)
      if (NOT_1252.test(v)) {
        bad = true;
        break;
      }
    if (!bad) return row;
    onUnmappable();
    if (file.unmappable === 'skipRow') return null;
    // One `?` per code point (the `u` flag keeps an emoji's surrogate pair together).
    return row.map((v) => v.replace(NOT_1252_G, '?'));
  };
}

/** Name of the file for an instance's pattern-expanded base name (compression adds or swaps the extension). */
export function compressedName(csvName: string, compression: FileOptions['compression']): string {
  if (compression === 'gzip') return `${csvName}.gz`;
  if (compression === 'zip')
    return /\.csv$/i.test(csvName) ? csvName.replace(/\.csv$/i, '.zip') : `${csvName}.zip`;
  return csvName;
}

/**
 * A CSV writer for batches of rows: the text of the rows, each ended by the line ending. A value is put between
 * qualifiers only when it holds the separator, the qualifier or a line break of either kind, and a qualifier
 * inside is doubled; an empty value stays empty. That is what csv-stringify wrote with the same options (the
 * byte-for-byte tests pin it); a plain loop over a page writes a few times faster than a stream transform per row.
 */
export function csvWriter(file: FileOptions): (rows: readonly (readonly string[])[]) => string {
  const sep = file.separator;
  const q = file.quote;
  const eol = file.lineEnding === 'crlf' ? '\r\n' : '\n';
  const special = new RegExp(`[${escapeClass(sep)}${escapeClass(q)}\r\n]`);
  const doubled = q + q;
  const cell = (v: string) => (special.test(v) ? q + v.replaceAll(q, doubled) + q : v);
  return (rows) => {
    let out = '';
    for (const row of rows) {
      for (let i = 0; i < row.length; i++) out += i === 0 ? cell(row[i]!) : sep + cell(row[i]!);
      out += eol;
    }
    return out;
  };
}

const escapeClass = (c: string) => c.replace(/[\\\]^-]/g, '\\$&');

/**
 * The file's bytes as a stream. `pages` yields batches of data rows (the header, when on, is written first).
 * `entryName` is the CSV's name inside a zip archive.
 */
export function encodeCsv(
  pages: AsyncIterable<string[][]>,
  header: string[] | null,
  file: FileOptions,
  entryName: string,
  modified: Date,
): Readable {
  const write = csvWriter(file);
  // Strings out: iconv-lite's encoder takes strings, and the destination and zlib take them too.
  async function* text(): AsyncGenerator<string> {
    if (header) yield write([header]);
    for await (const page of pages) yield write(page);
  }
  return encodeCsvText(text(), file, entryName, modified);
}

/**
 * CSV text already written (strings, or UTF-8 bytes from PostgreSQL's COPY) through the encoding and the
 * compression of the instance.
 */
export function encodeCsvText(
  chunks: AsyncIterable<string | Buffer>,
  file: FileOptions,
  entryName: string,
  modified: Date,
): Readable {
  const stages: Transform[] = [];
  if (file.encoding === 'windows-1252')
    stages.push(iconv.encodeStream('windows-1252') as unknown as Transform);
  else if (file.bom) stages.push(bomPrefix());
  if (file.compression === 'gzip') stages.push(zlib.createGzip());
  else if (file.compression === 'zip') stages.push(zipOneEntry(entryName, modified));

  // One page of text in hand at a time (the default would read 16 pages ahead of the destination).
  const source = Readable.from(chunks, { highWaterMark: 1 });
  if (stages.length === 0) return source;
  const out = stages[stages.length - 1]!;
  // pipeline() wires errors both ways: a failed page query destroys the output, a destination error stops reads.
  void pipeline([source, ...stages] as unknown as [Readable, Transform]).catch((e: unknown) => {
    out.destroy(e as Error);
  });
  return out as unknown as Readable;
}

function bomPrefix(): Transform {
  let first = true;
  return new Transform({
    transform(chunk: Buffer | string, _enc: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void) {
      const b = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      if (first) {
        first = false;
        cb(null, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]));
      } else cb(null, b);
    },
    flush(cb: (e?: Error | null, d?: Buffer) => void) {
      // An empty file (no header, no rows) still gets its BOM so the encoding stays visible.
      if (first) cb(null, Buffer.from([0xef, 0xbb, 0xbf]));
      else cb();
    },
  });
}
