/**
 * Picking files up from, and delivering files to, a remote space (reference §2.10 items 1-2, §3.3).
 * - `findCompleteFiles`: files of a folder that match and are complete, either because their size and mtime
 *   did not change between two looks, or because a companion trigger file (`name.csv.done` / `.ok`) exists;
 *   a file still being written is left for the next poll.
 * - `downloadFile` / `finishRemoteFile`: copy to local disk, then delete or move the remote file (and its
 *   trigger) only after the import succeeded.
 * - `pushFile`: upload under a temporary name, rename into place when complete, so the customer never reads
 *   half a file (invariant 5).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SpaceFs } from './space-fs.js';

export type Completeness =
  { mode: 'stable' } | { mode: 'trigger'; /** Default ['.done', '.ok']. */ suffixes?: string[] };

export interface RemoteFileFound {
  /** Space path of the file. */
  path: string;
  name: string;
  size: number;
  mtime: Date;
  /** Space path of the trigger file, when completeness came from one. */
  triggerPath?: string;
}

export interface FindOptions {
  folder: string;
  match: (name: string) => boolean;
  completeness: Completeness;
  /**
   * Waits between the two looks of `stable` mode (the caller owns time: a timer in production, a test
   * step in tests). Default: resolves after 10 s.
   */
  betweenLooks?: () => Promise<void>;
}

const TEMP_PREFIX = '.datasync-part-';

export async function findCompleteFiles(fs_: SpaceFs, o: FindOptions): Promise<RemoteFileFound[]> {
  const list = async () => (await fs_.readdir(o.folder)).filter((e) => e.stat.kind === 'file');
  const first = await list();
  if (o.completeness.mode === 'trigger') {
    const suffixes = o.completeness.suffixes ?? ['.done', '.ok'];
    const names = new Set(first.map((e) => e.name));
    const out: RemoteFileFound[] = [];
    for (const e of first) {
      if (!o.match(e.name) || e.name.startsWith(TEMP_PREFIX)) continue;
      const trigger = suffixes.map((s) => e.name + s).find((t) => names.has(t));
      if (trigger)
        out.push({
          path: path.posix.join(o.folder, e.name),
          name: e.name,
          size: e.stat.size,
          mtime: e.stat.mtime,
          triggerPath: path.posix.join(o.folder, trigger),
        });
    }
    return out;
  }
  const candidates = first.filter((e) => o.match(e.name) && !e.name.startsWith(TEMP_PREFIX));
  if (candidates.length === 0) return [];
  await (o.betweenLooks ?? (() => new Promise<void>((r) => setTimeout(r, 10_000))))();
  const second = new Map((await list()).map((e) => [e.name, e.stat]));
  return candidates
    .filter((e) => {
      const again = second.get(e.name);
      return again && again.size === e.stat.size && again.mtime.getTime() === e.stat.mtime.getTime();
    })
    .map((e) => ({
      path: path.posix.join(o.folder, e.name),
      name: e.name,
      size: e.stat.size,
      mtime: e.stat.mtime,
    }));
}

/** Copies a remote file to `localPath` (written under a temporary name, renamed when complete). */
export async function downloadFile(fs_: SpaceFs, remotePath: string, localPath: string): Promise<number> {
  const tmp = `${localPath}.part`;
  const out = await fs.promises.open(tmp, 'w');
  const file = await fs_.open(remotePath, { read: true });
  let pos = 0;
  try {
    const buf = Buffer.alloc(256 * 1024);
    for (;;) {
      const n = await file.read(buf, pos, buf.length);
      if (n === 0) break;
      await out.write(buf, 0, n, pos);
      pos += n;
    }
  } finally {
    await file.close().catch(() => {});
    await out.close();
  }
  await fs.promises.rename(tmp, localPath);
  return pos;
}

/** After a successful import: delete the remote file, or move it into `moveTo` (created when missing). */
export async function finishRemoteFile(
  fs_: SpaceFs,
  found: RemoteFileFound,
  after: { action: 'delete' } | { action: 'move'; moveTo: string },
): Promise<void> {
  if (after.action === 'delete') await fs_.remove(found.path);
  else {
    await fs_.mkdir(after.moveTo).catch(() => {});
    await fs_.rename(found.path, path.posix.join(after.moveTo, found.name), { overwrite: true });
  }
  if (found.triggerPath)
    await fs_
      .remove(found.triggerPath)
      .catch((e: unknown) => (fs_.isNotFound(e) ? undefined : Promise.reject(e)));
}

/** Uploads `localPath` to `folder/name`: a temporary name first, renamed when complete (replacing an older file). */
export async function pushFile(
  fs_: SpaceFs,
  localPath: string,
  folder: string,
  name: string,
): Promise<string> {
  const tmp = path.posix.join(folder, `${TEMP_PREFIX}${name}`);
  const final = path.posix.join(folder, name);
  const input = await fs.promises.open(localPath, 'r');
  const file = await fs_.open(tmp, { write: true, create: true, truncate: true });
  try {
    const buf = Buffer.alloc(256 * 1024);
    let pos = 0;
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      await file.write(buf.subarray(0, bytesRead), pos);
      pos += bytesRead;
    }
  } catch (e) {
    await file.close().catch(() => {});
    await fs_.remove(tmp).catch(() => {});
    throw e;
  } finally {
    await input.close();
  }
  await file.close();
  await fs_.rename(tmp, final, { overwrite: true });
  return final;
}
