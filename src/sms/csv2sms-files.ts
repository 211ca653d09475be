/**
 * Where a CSV2SMS file goes and what comes back (INTERFACES.md "Hosted space", invariants 2 and 3):
 * - on pick-up the file leaves the customer's reach at once: it is renamed into `<spaces root>/.processing/
 *   <account>/<jobId>_<name>` — outside every account's jail (account ids cannot start with a dot), by
 *   jobs/file-job.ts;
 * - at the end it lands in `<folder>/done/` or `<folder>/failed/` as `<jobId>_<name>`, with
 *   `<jobId>_<name>.result.json` and, when rows were rejected, skipped or refused, `<jobId>_<name>.rejected.csv`
 *   (the input's column row plus `_line;_code;_reason`, `;`-separated, UTF-8 with BOM, the input's line ends).
 * Result files are written under a temporary name and renamed, so a customer never downloads half of one.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { HostedSpaces } from '../spaces/index.js';

/** The folder CSV2SMS files are dropped in (reference §4); results go to its `done/` and `failed/`. */
export const CSV2SMS_FOLDER = '/sms';

export interface InputLocation {
  accountId: string;
  /** Folder of the upload, as a space path (`/sms`). */
  folder: string;
  /** File name as uploaded. */
  name: string;
  jobId: string;
}

/** Space path and disk path of `<folder>/<outcome>/<jobId>_<name><suffix>`. */
export async function outputPaths(
  spaces: HostedSpaces,
  loc: InputLocation,
  outcome: 'done' | 'failed',
): Promise<{ spaceDir: string; diskDir: string; base: string }> {
  const spaceDir = `${loc.folder === '/' ? '' : loc.folder}/${outcome}`;
  const diskDir = await spaces.resolveOnDisk(loc.accountId, spaceDir);
  await fs.mkdir(diskDir, { recursive: true, mode: 0o750 });
  return { spaceDir, diskDir, base: `${loc.jobId}_${loc.name}` };
}

/** Move the processed input into done/ or failed/; returns its new space path. */
export async function placeInput(
  spaces: HostedSpaces,
  loc: InputLocation,
  fromDisk: string,
  outcome: 'done' | 'failed',
): Promise<string> {
  const o = await outputPaths(spaces, loc, outcome);
  await fs.rename(fromDisk, path.join(o.diskDir, o.base));
  return `${o.spaceDir}/${o.base}`;
}

export async function writeFileAtomic(file: string, content: string | Buffer): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await fs.open(tmp, 'w', 0o640);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}

export interface RejectedLine {
  line: number;
  cells: string[];
  code: string;
  reason: string;
}

function csvCell(v: string): string {
  return /[;"\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** The rejected-rows file: column row + `_line;_code;_reason`, rows in line order. */
export function rejectedCsv(columns: string[], rows: RejectedLine[], eol: '\n' | '\r\n'): Buffer {
  const width = columns.length;
  const out = [[...columns, '_line', '_code', '_reason'].map(csvCell).join(';')];
  for (const r of [...rows].sort((a, b) => a.line - b.line)) {
    const cells =
      r.cells.length >= width ? r.cells : [...r.cells, ...new Array<string>(width - r.cells.length).fill('')];
    out.push([...cells, String(r.line), r.code, r.reason].map(csvCell).join(';'));
  }
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(out.join(eol) + eol, 'utf8')]);
}

/** Write result.json (and rejected.csv when there are rows) beside the placed input. */
export async function writeResultFiles(
  spaces: HostedSpaces,
  loc: InputLocation,
  outcome: 'done' | 'failed',
  result: Record<string, unknown>,
  rejected: { columns: string[]; rows: RejectedLine[]; eol: '\n' | '\r\n' } | null,
): Promise<{ resultPath: string; rejectedPath: string | null }> {
  const o = await outputPaths(spaces, loc, outcome);
  let rejectedPath: string | null = null;
  if (rejected && rejected.rows.length > 0) {
    await writeFileAtomic(
      path.join(o.diskDir, `${o.base}.rejected.csv`),
      rejectedCsv(rejected.columns, rejected.rows, rejected.eol),
    );
    rejectedPath = `${o.spaceDir}/${o.base}.rejected.csv`;
  }
  await writeFileAtomic(
    path.join(o.diskDir, `${o.base}.result.json`),
    JSON.stringify(result, null, 2) + '\n',
  );
  return { resultPath: `${o.spaceDir}/${o.base}.result.json`, rejectedPath };
}
