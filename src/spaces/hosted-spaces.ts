/**
 * The hosted space on local disk: `<root>/<accountId>/` per account, with the four standard folders.
 *
 * The jail has two layers:
 * 1. lexical — `normalizeSpacePath` refuses `..` above the root, control/bidi/zero-width characters and NUL;
 * 2. on disk — every existing component below the account root is `lstat`ed and must be a real folder (or, for
 *    the last one, a real file or folder): a symlink anywhere is refused, and files are opened with O_NOFOLLOW.
 * Nothing in datasync creates symlinks inside a space (SFTP SYMLINK is refused), so a symlink found there was
 * put by someone with shell access, and following it could leak another account's files (invariant 7).
 */
import { constants as fsc, type Stats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DatasyncError, ValidationError } from '../errors.js';
import { normalizeSpacePath, spacePathName, spacePathParent, spacePathParts } from './space-path.js';
import type {
  SpaceDirEntry,
  SpaceFile,
  SpaceFs,
  SpaceFsStats,
  SpaceOpenFlags,
  SpaceStat,
} from './space-fs.js';

/** The folders every account space has (INTERFACES.md "Hosted space"). */
export const SPACE_FOLDERS = ['import', 'export', 'sms', 'import_zip'] as const;

/** Account ids become folder names: keep them to a portable, shell-safe alphabet. */
const ACCOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Mode of files and folders created in a space; client-requested permissions are ignored on purpose. */
const FILE_MODE = 0o640;
const DIR_MODE = 0o750;

function errnoError(code: string, message: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(message);
  e.code = code;
  return e;
}

function code(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null
    ? ((e as { code?: unknown }).code as string | undefined)
    : undefined;
}

function toSpaceStat(st: Stats): SpaceStat {
  return {
    kind: st.isDirectory() ? 'directory' : 'file',
    size: st.size,
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    atime: st.atime,
    mtime: st.mtime,
  };
}

export class HostedSpaces {
  /** Absolute root of all account spaces (default `data/spaces`). */
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** Disk folder of an account's space. Throws DS_VALIDATION for an id that cannot be a folder name. */
  accountRoot(accountId: string): string {
    if (!ACCOUNT_ID.test(accountId) || accountId === '.' || accountId === '..') {
      throw new ValidationError('account id is not valid for a space folder', { details: { accountId } });
    }
    return path.join(this.root, accountId);
  }

  /**
   * Where a CSV2SMS or FTPZIP job keeps its input while it runs: `<root>/.processing/<account>/<jobId>_<name>`,
   * outside every account's jail (account ids cannot start with a dot), so the customer can neither read nor
   * change a file being processed. The job takes an upload here at pick-up; `jobs retry` copies an old
   * input here for the new job.
   */
  processingFile(accountId: string, jobId: string, name: string): string {
    return path.join(this.root, '.processing', accountId, `${jobId}_${name}`);
  }

  /**
   * Where a CSV2SMS or FTPZIP job finds its input. `file` is the upload's space path, still to be taken into
   * the processing area; or the job's own {@link processingFile} — taken by an earlier attempt, or copied
   * there by `jobs retry` — which stands for `<folder>/<name>` in the kind's drop folder (`name` is the job
   * record's input name). `taken` is then that disk path.
   */
  jobInput(
    accountId: string,
    jobId: string,
    file: string,
    o: { name: string | null | undefined; folder: string },
  ): { spacePath: string; folder: string; name: string; taken: string | null } {
    const taken = o.name && file === this.processingFile(accountId, jobId, o.name) ? file : null;
    const spacePath = taken ? `${o.folder}/${o.name}` : normalizeSpacePath(file);
    return { spacePath, folder: spacePathParent(spacePath), name: spacePathName(spacePath), taken };
  }

  /** Creates the account's space and its standard folders if missing; returns its disk folder. Idempotent. */
  async ensureAccount(accountId: string): Promise<string> {
    const root = this.accountRoot(accountId);
    await fs.mkdir(root, { recursive: true, mode: DIR_MODE });
    for (const f of SPACE_FOLDERS) await fs.mkdir(path.join(root, f), { recursive: true, mode: DIR_MODE });
    return root;
  }

  /**
   * Lexical jail: the absolute disk path of a space path, without touching the disk. Throws
   * DS_SFTP_PATH_OUTSIDE for refused paths. Use {@link resolveOnDisk} before opening anything.
   */
  resolve(accountId: string, spacePath: string): string {
    const norm = normalizeSpacePath(spacePath);
    const root = this.accountRoot(accountId);
    return norm === '/' ? root : path.join(root, ...spacePathParts(norm));
  }

  /**
   * Full jail: like {@link resolve}, and also refuses the path when any existing component below the account
   * root is a symlink or not a folder. The last component may be missing (for create) unless `mustExist`.
   */
  async resolveOnDisk(accountId: string, spacePath: string): Promise<string> {
    const norm = normalizeSpacePath(spacePath);
    const root = this.accountRoot(accountId);
    let cur = root;
    for (const part of spacePathParts(norm)) {
      cur = path.join(cur, part);
      let st;
      try {
        st = await fs.lstat(cur);
      } catch (e) {
        if (code(e) === 'ENOENT') return path.join(root, ...spacePathParts(norm)); // the rest does not exist
        throw e;
      }
      if (st.isSymbolicLink()) {
        throw new DatasyncError('DS_SFTP_PATH_OUTSIDE', 'path is outside the account space or not allowed', {
          details: { reason: 'symlink on disk', path: spacePath },
        });
      }
      if (!st.isDirectory() && cur !== path.join(root, ...spacePathParts(norm))) {
        throw errnoError('ENOTDIR', 'not a directory');
      }
    }
    return cur;
  }

  /** Bytes used by the regular files of an account's space (symlinks and specials are not counted). */
  async usage(accountId: string): Promise<number> {
    return diskUsage(this.accountRoot(accountId));
  }

  /** The `SpaceFs` of one account's space. */
  fs(accountId: string): HostedSpaceFs {
    this.accountRoot(accountId); // validate early
    return new HostedSpaceFs(this, accountId);
  }
}

async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (code(e) === 'ENOENT') return 0;
    throw e;
  }
  for (const ent of entries) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) total += await diskUsage(p);
    else if (ent.isFile()) {
      try {
        total += (await fs.lstat(p)).size;
      } catch (e) {
        if (code(e) !== 'ENOENT') throw e; // removed meanwhile
      }
    }
  }
  return total;
}

class HostedSpaceFile implements SpaceFile {
  constructor(private readonly fh: fs.FileHandle) {}

  async read(buffer: Buffer, position: number, length: number): Promise<number> {
    const { bytesRead } = await this.fh.read(buffer, 0, length, position);
    return bytesRead;
  }

  async write(data: Buffer, position: number): Promise<void> {
    let off = 0;
    // pwrite may write less than asked (signals, full disks); loop until all is written or it throws.
    while (off < data.length) {
      const { bytesWritten } = await this.fh.write(data, off, data.length - off, position + off);
      if (bytesWritten === 0) throw errnoError('EIO', 'short write');
      off += bytesWritten;
    }
  }

  async stat(): Promise<SpaceStat> {
    return toSpaceStat(await this.fh.stat());
  }

  truncate(size: number): Promise<void> {
    return this.fh.truncate(size);
  }

  setTimes(atime: Date, mtime: Date): Promise<void> {
    return this.fh.utimes(atime, mtime);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** `SpaceFs` over one account's hosted space. */
export class HostedSpaceFs implements SpaceFs {
  constructor(
    private readonly spaces: HostedSpaces,
    readonly accountId: string,
  ) {}

  private at(p: string): Promise<string> {
    return this.spaces.resolveOnDisk(this.accountId, p);
  }

  async stat(p: string): Promise<SpaceStat> {
    const st = await fs.lstat(await this.at(p));
    if (!st.isFile() && !st.isDirectory()) throw errnoError('ENOENT', 'not a file or folder');
    return toSpaceStat(st);
  }

  async readdir(p: string): Promise<SpaceDirEntry[]> {
    const dir = await this.at(p);
    const names = await fs.readdir(dir);
    const out: SpaceDirEntry[] = [];
    for (const name of names) {
      let st;
      try {
        st = await fs.lstat(path.join(dir, name));
      } catch (e) {
        if (code(e) === 'ENOENT') continue; // removed between readdir and lstat
        throw e;
      }
      // Symlinks, sockets and devices are hidden: they cannot be opened through the space anyway.
      if (st.isFile() || st.isDirectory()) out.push({ name, stat: toSpaceStat(st) });
    }
    return out;
  }

  async open(p: string, flags: SpaceOpenFlags): Promise<SpaceFile> {
    let f = fsc.O_NOFOLLOW;
    if (flags.read && flags.write) f |= fsc.O_RDWR;
    else if (flags.write) f |= fsc.O_WRONLY;
    else f |= fsc.O_RDONLY;
    if (flags.append) f |= fsc.O_APPEND;
    if (flags.create) f |= fsc.O_CREAT;
    if (flags.truncate) f |= fsc.O_TRUNC;
    if (flags.exclusive) f |= fsc.O_EXCL;
    const abs = await this.at(p);
    const fh = await fs.open(abs, f, FILE_MODE);
    try {
      const st = await fh.stat();
      // O_NOFOLLOW stops a final symlink; this stops FIFOs/devices (which could block the server) and folders.
      if (!st.isFile()) throw errnoError(st.isDirectory() ? 'EISDIR' : 'EPERM', 'not a regular file');
    } catch (e) {
      await fh.close();
      throw e;
    }
    return new HostedSpaceFile(fh);
  }

  async rename(from: string, to: string, opts: { overwrite?: boolean } = {}): Promise<void> {
    const src = await this.at(from);
    const dst = await this.at(to);
    if (src === this.spaces.accountRoot(this.accountId)) throw errnoError('EPERM', 'cannot rename the root');
    await fs.lstat(src); // ENOENT before EEXIST, as clients expect
    if (!opts.overwrite) {
      // SFTP v3 RENAME must not replace. The check-then-rename window is tiny and only the same account's own
      // sessions can race it; link(2) would close it for files but not for folders.
      try {
        await fs.lstat(dst);
        throw errnoError('EEXIST', 'target exists');
      } catch (e) {
        if (code(e) !== 'ENOENT') throw e;
      }
    }
    await fs.rename(src, dst);
  }

  async remove(p: string): Promise<void> {
    const abs = await this.at(p);
    const st = await fs.lstat(abs);
    if (st.isDirectory()) throw errnoError('EISDIR', 'is a folder');
    await fs.unlink(abs);
  }

  async mkdir(p: string): Promise<void> {
    await fs.mkdir(await this.at(p), { mode: DIR_MODE });
  }

  async rmdir(p: string): Promise<void> {
    const abs = await this.at(p);
    if (abs === this.spaces.accountRoot(this.accountId)) throw errnoError('EPERM', 'cannot remove the root');
    await fs.rmdir(abs);
  }

  async truncate(p: string, size: number): Promise<void> {
    const fh = await this.open(p, { write: true });
    try {
      await fh.truncate(size);
    } finally {
      await fh.close();
    }
  }

  async setTimes(p: string, atime: Date, mtime: Date): Promise<void> {
    // lutimes: never touch a symlink's target (at() already refuses symlinks; this is belt and braces).
    await fs.lutimes(await this.at(p), atime, mtime);
  }

  usage(): Promise<number> {
    return this.spaces.usage(this.accountId);
  }

  async statfs(): Promise<SpaceFsStats> {
    const s = await fs.statfs(this.spaces.accountRoot(this.accountId));
    return {
      blockSize: s.bsize,
      blocks: s.blocks,
      blocksFree: s.bfree,
      blocksAvailable: s.bavail,
      files: s.files,
      filesFree: s.ffree,
    };
  }

  isNotFound(e: unknown): boolean {
    return code(e) === 'ENOENT';
  }

  isPermission(e: unknown): boolean {
    const c = code(e);
    return (
      c === 'EACCES' ||
      c === 'EPERM' ||
      c === 'ELOOP' ||
      c === 'DS_SFTP_PATH_OUTSIDE' ||
      c === 'DS_VALIDATION'
    );
  }

  isExists(e: unknown): boolean {
    return code(e) === 'EEXIST';
  }

  isNotEmpty(e: unknown): boolean {
    return code(e) === 'ENOTEMPTY';
  }

  isWrongKind(e: unknown): boolean {
    const c = code(e);
    return c === 'EISDIR' || c === 'ENOTDIR';
  }
}
