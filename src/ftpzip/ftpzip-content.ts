/**
 * Turning archive entries into a message and a recipient list (reference §5.4, §5.6):
 * - entries are looked up by name case-insensitively at the archive root (`Markup.htm`, `Recipients.csv`);
 * - images: every relative `src="…"` of Markup.htm must name a file of the archive. `EmbeddedImages=true`:
 *   it becomes an inline (CID) part and the `src` becomes `cid:…`. `false`: it is stored by datasync
 *   (email/hosted-images.ts: PNG, JPEG, GIF, WebP by content only) and the `src` becomes its absolute
 *   `<publicUrl>/m/<account>/<sha256>.<ext>` URL, served by http/media.routes.ts (docs/ftpzip.md "Images");
 * - attachments: the files under `Attachments/` (any case), at most `maxAttachmentBytes` together;
 * - Recipients.csv: field-ID header (`111` email, `1`..`39` fields), the declared separator, UTF-8.
 */
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { escapeHtml, hostImage, type HostedImages } from '../email/index.js';
import type { MessageAttachment } from '../store/index.js';
import type { ZipFileEntry } from './zip-reader.js';
import { FtpZipError } from './zip-reader.js';

export function findEntry(files: ZipFileEntry[], name: string): ZipFileEntry | undefined {
  return files.find((f) => f.name.toLowerCase() === name.toLowerCase());
}

export function requireEntry(files: ZipFileEntry[], name: string, why: string): ZipFileEntry {
  const f = findEntry(files, name);
  if (!f) throw new FtpZipError('DS_FTPZIP_MISSING_FILE', `the archive has no ${name}, which ${why} needs`);
  return f;
}

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
};
const mimeOf = (name: string) => MIME[path.posix.extname(name).toLowerCase()] ?? 'application/octet-stream';

const IMG_SRC = /(<img\b[^>]*?\bsrc\s*=\s*)("([^"]*)"|'([^']*)')/gi;

/**
 * Markup.htm with its images as CID parts (`hosted` absent: `EmbeddedImages=true`), or stored by datasync and
 * linked by URL (`hosted` given: `EmbeddedImages=false`; `images` is then empty).
 */
export async function buildHtml(
  files: ZipFileEntry[],
  markup: ZipFileEntry,
  hosted?: { media: HostedImages; accountId: string },
): Promise<{ html: string; images: Array<MessageAttachment & { cid: string }> }> {
  const source = markup.content.toString('utf8').replace(/^\uFEFF/, '');
  // Pass 1: the archive entries the markup shows (a missing one fails the job before anything is stored).
  const shown = new Map<string, ZipFileEntry>();
  for (const m of source.matchAll(IMG_SRC)) {
    const src = localSrc(m[3] ?? m[4] ?? '');
    if (src !== null) shown.set(src, imageEntry(files, src));
  }
  // Pass 2: each distinct entry becomes a CID part or a hosted URL, once.
  const images = new Map<string, MessageAttachment & { cid: string }>();
  const hostedUrls = new Map<string, string>();
  if (hosted)
    for (const [src, f] of shown) {
      if (hostedUrls.has(f.name)) continue;
      const stored = await hostImage(hosted.media, hosted.accountId, f.content);
      if (!stored)
        throw new FtpZipError(
          'DS_FTPZIP_IMAGE_REFUSED',
          `Markup.htm shows the image "${src}", which is not a PNG, JPEG, GIF or WebP file; with EmbeddedImages ` +
            'false only those are hosted (SVG is refused: it can carry script). Convert it, or set EmbeddedImages to true',
        );
      hostedUrls.set(f.name, stored.url);
    }
  else
    for (const f of shown.values())
      if (!images.has(f.name))
        images.set(f.name, {
          filename: path.posix.basename(f.name),
          contentType: mimeOf(f.name),
          content: f.content.toString('base64'),
          cid: `img${images.size + 1}@ftpzip`,
        });
  const html = source.replace(IMG_SRC, (whole, head: string, _q, dq?: string, sq?: string) => {
    const src = localSrc(dq ?? sq ?? '');
    if (src === null) return whole;
    const f = shown.get(src)!;
    return hosted
      ? `${head}"${escapeHtml(hostedUrls.get(f.name)!)}"`
      : `${head}"cid:${images.get(f.name)!.cid}"`;
  });
  return { html, images: [...images.values()] };
}

/** The `src` of an archive image, trimmed; null for absolute URLs, `data:`, `cid:` and empty ones (kept as is). */
function localSrc(raw: string): string | null {
  const src = raw.trim();
  return /^([a-z][a-z0-9+.-]*:|\/\/)/i.test(src) || src === '' ? null : src;
}

function imageEntry(files: ZipFileEntry[], src: string): ZipFileEntry {
  let name: string;
  try {
    name = decodeURIComponent(src.replace(/^\.\//, '').split(/[?#]/)[0]!);
  } catch {
    name = src;
  }
  const f = findEntry(files, name);
  if (!f)
    throw new FtpZipError(
      'DS_FTPZIP_MISSING_FILE',
      `Markup.htm shows the image "${src}", which is not in the archive`,
    );
  return f;
}

/** The files under `Attachments/` (folder name in any case). */
export function buildAttachments(files: ZipFileEntry[], maxBytes: number): MessageAttachment[] {
  const att = files.filter((f) => /^attachments\//i.test(f.name) && !f.name.endsWith('/'));
  const hasFolder = att.length > 0 || files.some((f) => /^attachments\//i.test(f.name));
  if (!hasFolder)
    throw new FtpZipError(
      'DS_FTPZIP_ATTACHMENTS_MISSING',
      'There was no "Attachments" folder in the submitted Zip Archive.',
    );
  const total = att.reduce((n, f) => n + f.content.length, 0);
  if (total > maxBytes)
    throw new FtpZipError(
      'DS_FTPZIP_ATTACHMENTS_TOO_LARGE',
      `There was an exception running the extensions specified in the config file. ---> Maximum request length exceeded. (attachments total ${total} bytes; the limit is ${maxBytes})`,
    );
  return att.map((f) => ({
    filename: path.posix.basename(f.name),
    contentType: mimeOf(f.name),
    content: f.content.toString('base64'),
  }));
}

export interface RecipientRow {
  line: number;
  cells: string[];
  email: string;
  fields: Record<number, string>;
  /** Transactional only: columns that are not field ids, by their header name (placeholders `[name]`). */
  extra: Record<string, string>;
}

/**
 * Parse Recipients.csv: header row of field ids, then one recipient per row. With `extraColumns`
 * (transactional sends, reference §5.6) a header may also be any other name, e.g. `FieldUndefinedInMailupAccount1`.
 */
export function parseRecipientsCsv(
  content: Buffer,
  separator: string,
  opts: { extraColumns?: boolean } = {},
): { columns: string[]; rows: RecipientRow[] } {
  let records: string[][];
  try {
    records = parse(content, {
      delimiter: separator,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
    }) as string[][];
  } catch (e) {
    throw new FtpZipError(
      'DS_FTPZIP_RECIPIENTS_INVALID',
      `Recipients.csv cannot be read as CSV with separator "${separator}"`,
      {
        cause: e,
      },
    );
  }
  const columns = (records[0] ?? []).map((c) => c.trim());
  const emailCol = columns.indexOf('111');
  if (emailCol < 0)
    throw new FtpZipError(
      'DS_FTPZIP_RECIPIENTS_INVALID',
      'Recipients.csv: the header row has no email column (111); columns are field ids (111 email, 1..39 fields)',
    );
  const fieldCols: Array<[number, number]> = [];
  const extraCols: Array<[number, string]> = [];
  columns.forEach((c, i) => {
    if (i === emailCol) return;
    const id = /^[0-9]{1,2}$/.test(c) ? Number(c) : NaN;
    if (opts.extraColumns && !(id >= 1 && id <= 39) && /^[A-Za-z0-9_.-]{1,64}$/.test(c)) {
      extraCols.push([i, c]);
      return;
    }
    if (!(id >= 1 && id <= 39))
      throw new FtpZipError(
        'DS_FTPZIP_RECIPIENTS_INVALID',
        `Recipients.csv: header column ${i + 1} "${c}" is not a field id (111 email, 1..39 fields)` +
          (opts.extraColumns ? ' nor a column name (letters, digits, _ - .)' : ''),
      );
    fieldCols.push([i, id]);
  });
  const rows: RecipientRow[] = records.slice(1).map((cells, i) => ({
    line: i + 2,
    cells,
    email: (cells[emailCol] ?? '').trim(),
    fields: Object.fromEntries(fieldCols.map(([col, id]) => [id, (cells[col] ?? '').trim()])),
    extra: Object.fromEntries(extraCols.map(([col, name]) => [name, (cells[col] ?? '').trim()])),
  }));
  return { columns, rows };
}
