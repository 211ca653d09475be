/**
 * Reading an FTPZIP archive safely (ARCHITECTURE.md "ZIP / XML": refused by construction):
 * - nothing is extracted to disk: entries are read into memory under a total-size budget, so a hostile name
 *   can never write anywhere (zip slip) — and names are still checked, so such an archive is refused loudly;
 * - names are decoded by us (yauzl `decodeStrings: false`) and refused when absolute (`/x`, `C:x`, `\\x`),
 *   when a segment is `..`, or when they contain NUL / control characters;
 * - symbolic-link entries (Unix mode in the external attributes) and encrypted entries are refused;
 * - more than `maxEntries` entries, a declared or actual uncompressed total above `maxTotalBytes`, or an entry
 *   whose compression ratio exceeds `maxRatio` (zip bombs) are refused before or while inflating: yauzl
 *   checks the actual inflated size against the declared one, so a lying header cannot get past the budget.
 */
import yauzl from 'yauzl';
import { DatasyncError, UnrecoverableJobError, type ErrorCode } from '../errors.js';

export interface ZipLimits {
  /** Most entries (files and folders) an archive may have. Default 1000. */
  maxEntries: number;
  /** Most uncompressed bytes of all entries together. Default 50 MiB. */
  maxTotalBytes: number;
  /** Highest uncompressed/compressed ratio of an entry larger than 1 MiB. Default 100. */
  maxRatio: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 1000,
  maxTotalBytes: 50 * 1024 * 1024,
  maxRatio: 100,
};

/** A file of the archive: its safe relative name (`/`-separated) and content. */
export interface ZipFileEntry {
  name: string;
  content: Buffer;
}

export class FtpZipError extends UnrecoverableJobError {}

const fail = (code: ErrorCode, message: string, cause?: unknown) =>
  new FtpZipError(code, message, cause === undefined ? {} : { cause });

/** The documented message for an unreadable archive (reference §5.8). */
export const UNREADABLE_MESSAGE = 'Cannot read that as a ZipFile';

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** Check an entry name; returns it normalised (`\` → `/`), or throws DS_FTPZIP_UNSAFE_ENTRY. */
export function safeEntryName(raw: string): string {
  const name = raw.replaceAll('\\', '/');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name))
    throw fail('DS_FTPZIP_UNSAFE_ENTRY', `archive entry ${JSON.stringify(raw)} has control characters`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name))
    throw fail('DS_FTPZIP_UNSAFE_ENTRY', `archive entry "${raw}" has an absolute path`);
  if (name.split('/').some((seg) => seg === '..'))
    throw fail('DS_FTPZIP_UNSAFE_ENTRY', `archive entry "${raw}" leaves the archive ("..")`);
  return name.replace(/^(\.\/)+/, '');
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(
      file,
      { lazyEntries: true, autoClose: true, decodeStrings: false, validateEntrySizes: true },
      (err, zip) =>
        err || !zip ? reject(fail('DS_FTPZIP_UNREADABLE', UNREADABLE_MESSAGE, err)) : resolve(zip),
    ),
  );
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, budget: { left: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream) return reject(fail('DS_FTPZIP_UNREADABLE', UNREADABLE_MESSAGE, err));
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        budget.left -= c.length;
        if (budget.left < 0) {
          stream.destroy();
          reject(fail('DS_FTPZIP_TOO_LARGE', 'the archive inflates to more than the size limit'));
          return;
        }
        chunks.push(c);
      });
      stream.on('error', (e) => reject(fail('DS_FTPZIP_UNREADABLE', UNREADABLE_MESSAGE, e)));
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

/** Read every file of the archive into memory, refusing anything unsafe (see the file comment). */
export async function readZipSafely(
  file: string,
  limits: ZipLimits = DEFAULT_ZIP_LIMITS,
): Promise<ZipFileEntry[]> {
  const zip = await openZip(file);
  if (zip.entryCount > limits.maxEntries) {
    zip.close();
    throw fail(
      'DS_FTPZIP_TOO_MANY_ENTRIES',
      `the archive has ${zip.entryCount} entries; at most ${limits.maxEntries} are accepted`,
    );
  }
  const budget = { left: limits.maxTotalBytes };
  let declared = 0;
  const files: ZipFileEntry[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (e) =>
        reject(e instanceof DatasyncError ? e : fail('DS_FTPZIP_UNREADABLE', UNREADABLE_MESSAGE, e)),
      );
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        void (async () => {
          const raw = entry.fileName as unknown as Buffer;
          // General purpose bit 11: the name is UTF-8; otherwise CP437, which latin1 approximates for checks.
          const name = safeEntryName(raw.toString(entry.generalPurposeBitFlag & 0x800 ? 'utf8' : 'latin1'));
          if (((entry.externalFileAttributes >>> 16) & S_IFMT) === S_IFLNK)
            throw fail('DS_FTPZIP_UNSAFE_ENTRY', `archive entry "${name}" is a symbolic link`);
          if (entry.generalPurposeBitFlag & 0x1)
            throw fail(
              'DS_FTPZIP_ENCRYPTED',
              `archive entry "${name}" is encrypted; send archives without a password`,
            );
          declared += entry.uncompressedSize;
          if (declared > limits.maxTotalBytes)
            throw fail(
              'DS_FTPZIP_TOO_LARGE',
              `the archive inflates to more than ${limits.maxTotalBytes} bytes`,
            );
          if (
            entry.uncompressedSize > 1024 * 1024 &&
            entry.uncompressedSize / Math.max(1, entry.compressedSize) > limits.maxRatio
          )
            throw fail(
              'DS_FTPZIP_TOO_LARGE',
              `archive entry "${name}" has a compression ratio above ${limits.maxRatio} (zip bomb protection)`,
            );
          if (!name.endsWith('/')) files.push({ name, content: await readEntry(zip, entry, budget) });
          zip.readEntry();
        })().catch((e: unknown) => {
          zip.close();
          reject(e instanceof DatasyncError ? e : fail('DS_FTPZIP_UNREADABLE', UNREADABLE_MESSAGE, e));
        });
      });
      zip.readEntry();
    });
  } finally {
    if (zip.isOpen) zip.close();
  }
  return files;
}
