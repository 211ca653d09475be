/**
 * Where an FTPZIP archive goes (INTERFACES.md "Hosted space", invariants 2 and 3): on pick-up it is renamed
 * into `<spaces root>/.processing/<account>/<jobId>_<name>` (outside every account's jail; jobs/file-job.ts
 * takes it there); at the end it lands in `/import_zip/done/` or `/import_zip/failed/` as `<jobId>_<name>`
 * with `<jobId>_<name>.result.json` beside it. Nothing of the archive is ever extracted to disk (zip-reader.ts reads entries into memory), so the
 * job's area is exactly these files. Result files are written under a temporary name and renamed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { HostedSpaces } from '../spaces/index.js';

/** The folder FTPZIP archives are dropped in (reference §5); results go to its `done/` and `failed/`. */
export const FTPZIP_FOLDER = '/import_zip';

export interface ArchiveLocation {
  accountId: string;
  /** Folder of the upload, as a space path (`/import_zip`). */
  folder: string;
  name: string;
  jobId: string;
}

async function outcomeDir(spaces: HostedSpaces, loc: ArchiveLocation, outcome: 'done' | 'failed') {
  const spaceDir = `${loc.folder === '/' ? '' : loc.folder}/${outcome}`;
  const diskDir = await spaces.resolveOnDisk(loc.accountId, spaceDir);
  await fs.mkdir(diskDir, { recursive: true, mode: 0o750 });
  return { spaceDir, diskDir, base: `${loc.jobId}_${loc.name}` };
}

/** Move the archive into done/ or failed/ and write its result.json; returns both space paths. */
export async function placeArchive(
  spaces: HostedSpaces,
  loc: ArchiveLocation,
  fromDisk: string | null,
  outcome: 'done' | 'failed',
  result: Record<string, unknown>,
): Promise<{ inputPath: string | null; resultPath: string }> {
  const o = await outcomeDir(spaces, loc, outcome);
  let inputPath: string | null = null;
  if (fromDisk) {
    await fs.rename(fromDisk, path.join(o.diskDir, o.base));
    inputPath = `${o.spaceDir}/${o.base}`;
  }
  const file = path.join(o.diskDir, `${o.base}.result.json`);
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(
    tmp,
    JSON.stringify({ ...result, inputPath: inputPath ?? result.inputPath ?? null }, null, 2) + '\n',
    { mode: 0o640 },
  );
  await fs.rename(tmp, file);
  return { inputPath, resultPath: `${o.spaceDir}/${o.base}.result.json` };
}
