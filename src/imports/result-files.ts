/**
 * What the customer gets back (INTERFACES.md "Hosted space"): `<jobId>_<name>.result.json` and, when rows were
 * rejected, `<jobId>_<name>.rejected.csv` — the rejected rows in the input's own separator, qualifier, encoding
 * and header, plus `_line`, `_code`, `_reason`, so the file can be fixed and uploaded again.
 *
 * The rejected file is appended batch by batch and fsync'ed before the batch's checkpoint commits; the checkpoint
 * records its length, and a resumed job truncates it back to that length (invariant 4: no row twice).
 */
import fs from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import iconv from 'iconv-lite';
import type { FileScan } from './csv-source.js';

export const REJECTED_COLUMNS = ['_line', '_code', '_reason'] as const;

export class RejectedCsvWriter {
  private fd: number;
  private bytes: number;
  private headerWritten: boolean;

  /** Open for appending; `resumeAt` truncates to a checkpointed length first (0 starts a new file). */
  constructor(
    readonly path: string,
    private readonly scan: FileScan,
    private readonly dialect: { separator: string; quote: string | null },
    private readonly header: string[] | null,
    resumeAt = 0,
  ) {
    this.fd = fs.openSync(path, fs.constants.O_CREAT | fs.constants.O_WRONLY, 0o640);
    fs.ftruncateSync(this.fd, resumeAt);
    this.bytes = resumeAt;
    this.headerWritten = resumeAt > 0;
  }

  /** Bytes written so far: what the checkpoint records. */
  get length(): number {
    return this.bytes;
  }

  private encode(cells: string[]): Buffer {
    const { separator, quote } = this.dialect;
    // Without a qualifier a separator inside a value cannot be written: our own reason text drops it.
    const safe =
      quote === null
        ? cells.map((c) =>
            c
              .split(separator)
              .join(' ')
              .replace(/[\r\n]+/g, ' '),
          )
        : cells;
    const text = stringify([safe], {
      delimiter: separator,
      quote: quote ?? '"',
      record_delimiter: this.scan.eol === '\r\n' ? 'windows' : this.scan.eol === '\r' ? 'mac' : 'unix',
      ...(quote === null ? { quoted: false, escape: '"' } : {}),
    });
    if (this.scan.encoding === 'utf-8') return Buffer.from(text, 'utf8');
    return iconv.encode(text, this.scan.encoding, { addBOM: false });
  }

  private write(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off, this.bytes + off);
    this.bytes += buf.length;
  }

  add(fields: string[], line: number, code: string, reason: string, width: number): void {
    if (!this.headerWritten) {
      this.headerWritten = true;
      if (this.scan.bom)
        this.write(
          this.scan.encoding === 'utf-8'
            ? Buffer.from([0xef, 0xbb, 0xbf])
            : iconv.encode('', this.scan.encoding, { addBOM: true }),
        );
      const head = this.header ?? Array.from({ length: width }, (_, i) => `column${i + 1}`);
      this.write(this.encode([...head, ...REJECTED_COLUMNS]));
    }
    const cells =
      fields.length >= width
        ? fields.slice(0, Math.max(width, fields.length))
        : [...fields, ...new Array<string>(width - fields.length).fill('')];
    this.write(this.encode([...cells, String(line), code, reason]));
  }

  /** Make what was written durable before the checkpoint that counts it commits. */
  sync(): void {
    fs.fsyncSync(this.fd);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Write a small file atomically (temporary name, fsync, rename): a reader never sees half of it. */
export function writeFileAtomic(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o640);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path);
}
