/**
 * From rows of strings to the bytes of the export file: csv-stringify (separator, qualifier used only when a
 * value needs it, line ending), then the encoding (UTF-8, optionally with a BOM, or windows-1252 through
 * iconv-lite), then the optional compression. Everything is a stream, so back-pressure runs from the
 * destination's writes back to the database pages.
 */
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { stringify } from 'csv-stringify';
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
 * The file's bytes as a stream. `rows` yields the data rows (the header, when on, is written first).
 * `entryName` is the CSV's name inside a zip archive.
 */
export function encodeCsv(
  rows: AsyncIterable<string[]>,
  header: string[] | null,
  file: FileOptions,
  entryName: string,
  modified: Date,
): Readable {
  const csv = stringify({
    delimiter: file.separator,
    quote: file.quote,
    escape: file.quote,
    record_delimiter: file.lineEnding === 'crlf' ? 'windows' : 'unix',
    // Quote a value that holds a line break of either kind, whatever the record delimiter is.
    quoted_match: /[\r\n]/,
  });
  // Strings out of csv-stringify: iconv-lite's encoder takes strings, and the decoder never splits a character.
  csv.setEncoding('utf8');
  async function* all(): AsyncGenerator<string[]> {
    if (header) yield header;
    yield* rows;
  }
  const stages: Transform[] = [];
  if (file.encoding === 'windows-1252')
    stages.push(iconv.encodeStream('windows-1252') as unknown as Transform);
  else if (file.bom) stages.push(bomPrefix());
  if (file.compression === 'gzip') stages.push(zlib.createGzip());
  else if (file.compression === 'zip') stages.push(zipOneEntry(entryName, modified));

  const source = Readable.from(all(), { objectMode: true });
  const out = stages.length ? stages[stages.length - 1]! : csv;
  // pipeline() wires errors both ways: a failed page query destroys the output, a destination error stops reads.
  void pipeline([source, csv, ...stages] as unknown as [Readable, Transform]).catch((e: unknown) => {
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
