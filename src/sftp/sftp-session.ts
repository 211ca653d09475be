/**
 * One SFTP session: the adapter from ssh2's request events (reqid, handles) to `SpaceFs` (CONVENTIONS #11).
 * No other module sees a reqid or a handle.
 *
 * "File ready" (invariant 1) is tracked per handle: a handle that wrote, had no failed write, and is closed
 * cleanly makes its file ready — unless another handle still writes the same file, or the name is a temporary
 * upload name (`x.csv.filepart`), whose rename into place makes the target ready instead. Files are written in
 * place (not under a hidden temp name) so an interrupted upload can be resumed with OpenSSH `reput`: a cut
 * connection closes the handles without an event, and the partial file stays for the resume.
 *
 * The SHA-256 is computed while data arrives when the writes are sequential from offset 0 (the normal case),
 * otherwise by reading the file back after the close.
 */
import { createHash, type Hash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Attributes, SFTPWrapper } from 'ssh2';
import ssh2 from 'ssh2';
import { DatasyncError } from '../errors.js';
import {
  normalizeSpacePath,
  spacePathName,
  type FileReadyBus,
  type SpaceDirEntry,
  type SpaceFile,
  type SpaceFs,
  type SpaceStat,
} from '../spaces/index.js';
import { longName } from './long-name.js';
import type { SftpMetrics } from './sftp-metrics.js';
import { STATUS, toSftpStatus } from './sftp-status.js';
import {
  DATA_HEADER_BYTES,
  advertiseExtensions,
  installBackPressure,
  sendData,
  sendExtendedReply,
} from './sftp-wire.js';

const OPEN_MODE = ssh2.utils.sftp.OPEN_MODE;

/** Largest READ/WRITE payload we accept and advertise (`limits@openssh.com`), as OpenSSH's sftp-server. */
export const MAX_IO_BYTES = 256 * 1024 - 1024;
/** Incoming-write backlog per session above which we stop granting SSH window to the client. */
const BACKLOG_HIGH_BYTES = 8 * 1024 * 1024;
const BACKLOG_LOW_BYTES = 2 * 1024 * 1024;
/** Names per READDIR reply (OpenSSH's sftp-server sends 100). */
const READDIR_BATCH = 100;
/** The standard folders of a space, which clients may not remove or rename. */
const PROTECTED = new Set(['/', '/import', '/export', '/sms', '/import_zip']);

export interface SftpPrincipal {
  accountId: string;
  username: string;
}

/** State shared by all sessions of one server. */
export interface SharedState {
  /** Open write handles per `accountId\0spacePath`. */
  writers: Map<string, number>;
  /** Bytes used per account: refreshed from disk when older than `usageMaxAgeMs`, adjusted as sessions write. */
  usage: Map<string, { bytes: number; at: number; refresh?: Promise<number> }>;
}

export interface SessionQuotas {
  /** Largest file, bytes; 0 = no limit. */
  maxFileBytes: number;
  /** Total bytes of an account's space; 0 = no limit. */
  maxAccountBytes: number;
}

export interface SessionDeps {
  principal: SftpPrincipal;
  address: string;
  fs: SpaceFs;
  shared: SharedState;
  quotas: SessionQuotas;
  bus: FileReadyBus;
  metrics: SftpMetrics;
  logger: Logger;
  now: () => number;
  /** Is this name a temporary upload name (no event on close; its rename into place fires)? */
  isTempName: (name: string) => boolean;
  /** Called on every request (idle timeout). */
  touch: () => void;
  usageMaxAgeMs?: number;
}

interface FileHandle {
  kind: 'file';
  path: string;
  file: SpaceFile;
  writable: boolean;
  /** Known size of the file (grows with writes), for quotas. */
  size: number;
  wrote: boolean;
  failed: boolean;
  hash: Hash | null;
  hashedUpTo: number;
  pending: Set<Promise<void>>;
  bytesIn: number;
  bytesOut: number;
  openedAt: number;
}

interface DirHandle {
  kind: 'dir';
  path: string;
  entries: SpaceDirEntry[];
  next: number;
}

type Handle = FileHandle | DirHandle;

function toAttrs(st: SpaceStat): Attributes {
  return {
    mode: st.mode,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    atime: Math.floor(st.atime.getTime() / 1000),
    mtime: Math.floor(st.mtime.getTime() / 1000),
  };
}

function quotaError(what: string): DatasyncError {
  return new DatasyncError('DS_SFTP_QUOTA', `${what} quota exceeded`);
}

function u64(buf: Buffer, v: number, at: number): void {
  buf.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(v))), at);
}

/** Reads an SSH `string` at `at` of an EXTENDED request's data; returns it and the offset after it. */
function readString(data: Buffer | undefined, at: number): [string, number] | undefined {
  if (!data || data.length < at + 4) return undefined;
  const len = data.readUInt32BE(at);
  if (data.length < at + 4 + len) return undefined;
  return [data.toString('utf8', at + 4, at + 4 + len), at + 4 + len];
}

export class SftpSession {
  private handles = new Map<number, Handle>();
  private nextHandle = 1;
  private backlog = 0;
  private release: () => void = () => {};
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly sftp: SFTPWrapper,
    private readonly d: SessionDeps,
  ) {
    this.log = d.logger;
  }

  /** Wires the request handlers; call right after ssh2's `accept()`. */
  attach(): void {
    const s = this.sftp;
    this.release = installBackPressure(s, () => this.backlog > BACKLOG_HIGH_BYTES);
    advertiseExtensions(s, {
      'posix-rename@openssh.com': '1',
      'statvfs@openssh.com': '2',
      'fstatvfs@openssh.com': '2',
      'limits@openssh.com': '1',
    });
    s.on('REALPATH', (id: number, p: string) => this.run(id, () => this.realpath(id, p)));
    s.on('STAT', (id: number, p: string) => this.run(id, () => this.stat(id, p)));
    s.on('LSTAT', (id: number, p: string) => this.run(id, () => this.stat(id, p)));
    s.on('FSTAT', (id: number, h: Buffer) => this.run(id, () => this.fstat(id, h)));
    s.on('SETSTAT', (id: number, p: string, a: Attributes) => this.run(id, () => this.setstat(id, p, a)));
    s.on('FSETSTAT', (id: number, h: Buffer, a: Attributes) => this.run(id, () => this.fsetstat(id, h, a)));
    s.on('OPEN', (id: number, p: string, flags: number) => this.run(id, () => this.open(id, p, flags)));
    s.on('READ', (id: number, h: Buffer, off: number, len: number) => this.read(id, h, off, len));
    s.on('WRITE', (id: number, h: Buffer, off: number, data: Buffer) => this.write(id, h, off, data));
    s.on('CLOSE', (id: number, h: Buffer) => this.run(id, () => this.close(id, h)));
    s.on('OPENDIR', (id: number, p: string) => this.run(id, () => this.opendir(id, p)));
    s.on('READDIR', (id: number, h: Buffer) => this.run(id, () => this.readdir(id, h)));
    s.on('REMOVE', (id: number, p: string) => this.run(id, () => this.remove(id, p)));
    s.on('MKDIR', (id: number, p: string) => this.run(id, () => this.mkdir(id, p)));
    s.on('RMDIR', (id: number, p: string) => this.run(id, () => this.rmdir(id, p)));
    s.on('RENAME', (id: number, a: string, b: string) => this.run(id, () => this.rename(id, a, b, false)));
    s.on('READLINK', (id: number) => this.reply(id, STATUS.FAILURE, 'Not a symbolic link'));
    // Symlinks could point out of the jail or at another account: never created.
    s.on('SYMLINK', (id: number) => this.reply(id, STATUS.PERMISSION_DENIED, 'Permission denied'));
    s.on('EXTENDED', (id: number, name: string, data?: Buffer) =>
      this.run(id, () => this.extended(id, name, data)),
    );
    // OpenSSH's sftp waits for the channel to close after it sends EOF (STACK.md).
    s.on('end', () => s.end());
    s.on('close', () => void this.abort());
    s.on('error', (err: Error) => this.log.warn({ err: err.message }, 'sftp protocol error'));
  }

  // --- plumbing -------------------------------------------------------------------------------------------

  private reply(id: number, code: number, message = ''): void {
    if (!this.closed) this.sftp.status(id, code, message);
  }

  private run(id: number, fn: () => Promise<void>): void {
    this.d.touch();
    fn().catch((e: unknown) => this.fail(id, e));
  }

  private fail(id: number, e: unknown): void {
    const st = toSftpStatus(e, this.d.fs);
    if (st.unexpected) this.log.error({ err: e }, 'sftp request failed');
    else if (e instanceof DatasyncError) this.log.warn({ code: e.code, details: e.details }, e.message);
    this.reply(id, st.code, st.message);
  }

  private path(p: string): string {
    return normalizeSpacePath(p);
  }

  private writerKey(p: string): string {
    return `${this.d.principal.accountId}\0${p}`;
  }

  private newHandle(h: Handle): Buffer {
    const n = this.nextHandle++;
    this.handles.set(n, h);
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(n, 0);
    return b;
  }

  private handle(h: Buffer): Handle | undefined {
    return h.length === 4 ? this.handles.get(h.readUInt32BE(0)) : undefined;
  }

  private fileHandle(h: Buffer): FileHandle {
    const fh = this.handle(h);
    if (!fh || fh.kind !== 'file') throw new DatasyncError('DS_NOT_FOUND', 'invalid handle');
    return fh;
  }

  // --- quotas ---------------------------------------------------------------------------------------------

  private async usage(): Promise<{ bytes: number }> {
    const acct = this.d.principal.accountId;
    const cur = this.d.shared.usage.get(acct);
    const maxAge = this.d.usageMaxAgeMs ?? 60_000;
    if (cur && this.d.now() - cur.at < maxAge) return cur;
    if (cur?.refresh) {
      await cur.refresh;
      return this.d.shared.usage.get(acct) ?? { bytes: 0 };
    }
    const entry = cur ?? { bytes: 0, at: 0 };
    // One disk walk per account at a time, shared by its concurrent sessions.
    entry.refresh = this.d.fs.usage();
    this.d.shared.usage.set(acct, entry);
    try {
      entry.bytes = await entry.refresh;
      entry.at = this.d.now();
    } finally {
      delete entry.refresh;
    }
    return entry;
  }

  /** Accounts `growth` bytes to the space or throws DS_SFTP_QUOTA. Synchronous on the write hot path. */
  private reserve(h: FileHandle, end: number): void {
    const q = this.d.quotas;
    if (end <= h.size) return;
    if (q.maxFileBytes > 0 && end > q.maxFileBytes) throw quotaError('file size');
    const u = this.d.shared.usage.get(this.d.principal.accountId);
    if (q.maxAccountBytes > 0 && u && u.bytes + (end - h.size) > q.maxAccountBytes) throw quotaError('space');
    if (u) u.bytes += end - h.size;
    h.size = end;
  }

  private shrink(bytes: number): void {
    const u = this.d.shared.usage.get(this.d.principal.accountId);
    if (u) u.bytes = Math.max(0, u.bytes - bytes);
  }

  // --- requests -------------------------------------------------------------------------------------------

  private async realpath(id: number, p: string): Promise<void> {
    const norm = this.path(p === '' ? '.' : p);
    this.sftp.name(id, [{ filename: norm, longname: norm, attrs: {} as Attributes }]);
  }

  private async stat(id: number, p: string): Promise<void> {
    this.sftp.attrs(id, toAttrs(await this.d.fs.stat(this.path(p))));
  }

  private async fstat(id: number, h: Buffer): Promise<void> {
    this.sftp.attrs(id, toAttrs(await this.fileHandle(h).file.stat()));
  }

  private async applyAttrs(target: { path?: string; handle?: FileHandle }, a: Attributes): Promise<void> {
    const fs = this.d.fs;
    if (typeof a.size === 'number') {
      if (target.handle) {
        const h = target.handle;
        if (a.size > h.size) this.reserve(h, a.size);
        else this.shrink(h.size - a.size);
        await h.file.truncate(a.size);
        h.size = a.size;
        h.hash = null; // content changed outside the sequential stream
      } else if (target.path) {
        const before = (await fs.stat(target.path)).size;
        if (a.size > before) {
          await this.usage();
          this.reserve({ size: before } as FileHandle, a.size);
        } else this.shrink(before - a.size);
        await fs.truncate(target.path, a.size);
      }
    }
    // Times are honoured (clients preserve mtimes with `put -p`); mode/uid/gid are ignored on purpose: the space
    // owns its permissions.
    if (typeof a.atime === 'number' || typeof a.mtime === 'number') {
      const cur = target.handle ? await target.handle.file.stat() : await fs.stat(target.path!);
      const at = typeof a.atime === 'number' ? new Date(a.atime * 1000) : cur.atime;
      const mt = typeof a.mtime === 'number' ? new Date(a.mtime * 1000) : cur.mtime;
      if (target.handle) await target.handle.file.setTimes(at, mt);
      else await fs.setTimes(target.path!, at, mt);
    }
  }

  private async setstat(id: number, p: string, a: Attributes): Promise<void> {
    await this.applyAttrs({ path: this.path(p) }, a);
    this.reply(id, STATUS.OK);
  }

  private async fsetstat(id: number, h: Buffer, a: Attributes): Promise<void> {
    await this.applyAttrs({ handle: this.fileHandle(h) }, a);
    this.reply(id, STATUS.OK);
  }

  private async open(id: number, p: string, flags: number): Promise<void> {
    const path = this.path(p);
    const read = (flags & OPEN_MODE.READ) !== 0;
    const write = (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND)) !== 0;
    if (!read && !write) throw new DatasyncError('DS_VALIDATION', 'open needs read or write');
    if (write) {
      const u = await this.usage();
      const q = this.d.quotas;
      if (q.maxAccountBytes > 0 && u.bytes >= q.maxAccountBytes) throw quotaError('space');
    }
    const truncate = (flags & OPEN_MODE.TRUNC) !== 0;
    let oldSize = 0;
    if (write && truncate)
      oldSize = await this.d.fs.stat(path).then(
        (s) => s.size,
        () => 0,
      );
    const file = await this.d.fs.open(path, {
      read,
      write,
      append: (flags & OPEN_MODE.APPEND) !== 0,
      create: (flags & OPEN_MODE.CREAT) !== 0,
      truncate,
      exclusive: (flags & OPEN_MODE.EXCL) !== 0,
    });
    if (truncate) this.shrink(oldSize);
    const size = (await file.stat()).size;
    const h: FileHandle = {
      kind: 'file',
      path,
      file,
      writable: write,
      size,
      wrote: false,
      failed: false,
      // Hash as the data streams in only when it starts from an empty file; a resume is read back at close.
      hash: write && size === 0 ? createHash('sha256') : null,
      hashedUpTo: 0,
      pending: new Set(),
      bytesIn: 0,
      bytesOut: 0,
      openedAt: this.d.now(),
    };
    if (write)
      this.d.shared.writers.set(
        this.writerKey(path),
        (this.d.shared.writers.get(this.writerKey(path)) ?? 0) + 1,
      );
    if (this.closed) {
      await this.closeFile(h, false);
      return;
    }
    this.sftp.handle(id, this.newHandle(h));
  }

  /** Hot path: no async/await, one promise per request. */
  private read(id: number, hb: Buffer, offset: number, len: number): void {
    this.d.touch();
    const h = this.handle(hb);
    if (!h || h.kind !== 'file') return this.reply(id, STATUS.FAILURE, 'Invalid handle');
    const n = Math.min(len, MAX_IO_BYTES);
    const buf = Buffer.allocUnsafe(DATA_HEADER_BYTES + n);
    h.file.read(buf.subarray(DATA_HEADER_BYTES), offset, n).then(
      (got) => {
        if (this.closed) return;
        if (got === 0) return this.reply(id, STATUS.EOF);
        h.bytesOut += got;
        this.d.metrics.bytesOut.inc(got);
        sendData(this.sftp, id, buf, got);
      },
      (e: unknown) => this.fail(id, e),
    );
  }

  /** Hot path: quota and hash bookkeeping synchronously, in arrival order, then the disk write. */
  private write(id: number, hb: Buffer, offset: number, data: Buffer): void {
    this.d.touch();
    const h = this.handle(hb);
    if (!h || h.kind !== 'file') return this.reply(id, STATUS.FAILURE, 'Invalid handle');
    if (!h.writable) return this.reply(id, STATUS.PERMISSION_DENIED, 'Permission denied');
    const end = offset + data.length;
    try {
      this.reserve(h, end);
    } catch (e) {
      h.failed = true;
      return this.fail(id, e);
    }
    if (h.hash) {
      if (offset === h.hashedUpTo) {
        h.hash.update(data);
        h.hashedUpTo = end;
      } else h.hash = null; // out of order or a rewrite: read the file back at close instead
    }
    h.wrote = true;
    h.bytesIn += data.length;
    this.backlog += data.length;
    const p = h.file.write(data, offset).then(
      () => this.reply(id, STATUS.OK),
      (e: unknown) => {
        h.failed = true;
        this.fail(id, e);
      },
    );
    const done = p.finally(() => {
      h.pending.delete(done);
      this.backlog -= data.length;
      this.d.metrics.bytesIn.inc(data.length);
      if (this.backlog <= BACKLOG_LOW_BYTES) this.release();
    });
    h.pending.add(done);
  }

  private async close(id: number, hb: Buffer): Promise<void> {
    const h = this.handle(hb);
    if (!h) throw new DatasyncError('DS_NOT_FOUND', 'invalid handle');
    this.handles.delete(hb.readUInt32BE(0));
    if (h.kind === 'dir') return this.reply(id, STATUS.OK);
    await this.closeFile(h, true, id);
  }

  /**
   * Closes a file handle. `clean` is a CLOSE from the client; otherwise the session is going away (cut
   * connection), which never makes a file ready.
   */
  private async closeFile(h: FileHandle, clean: boolean, id?: number): Promise<void> {
    await Promise.all(h.pending);
    let size = h.size;
    let closeErr: unknown;
    try {
      if (h.wrote) size = (await h.file.stat()).size;
      await h.file.close();
    } catch (e) {
      closeErr = e;
    }
    const key = this.writerKey(h.path);
    if (h.writable) {
      const left = (this.d.shared.writers.get(key) ?? 1) - 1;
      if (left > 0) this.d.shared.writers.set(key, left);
      else this.d.shared.writers.delete(key);
    }
    if (id !== undefined) {
      if (closeErr) this.fail(id, closeErr);
      else this.reply(id, STATUS.OK);
    }
    const ready = clean && !closeErr && h.wrote && !h.failed;
    this.log.info(
      {
        event: 'sftp.transfer',
        path: h.path,
        bytesIn: h.bytesIn,
        bytesOut: h.bytesOut,
        durationMs: this.d.now() - h.openedAt,
        complete: clean && !closeErr && !h.failed,
      },
      h.wrote ? 'upload closed' : 'download closed',
    );
    if (!ready || this.d.shared.writers.has(key) || this.d.isTempName(spacePathName(h.path))) return;
    const sha256 = h.hash && h.hashedUpTo === size ? h.hash.digest('hex') : await this.hashFile(h.path);
    if (sha256 !== undefined) this.emitReady(h.path, size, sha256);
  }

  private async hashFile(path: string): Promise<string | undefined> {
    try {
      const f = await this.d.fs.open(path, { read: true });
      try {
        const hash = createHash('sha256');
        const buf = Buffer.allocUnsafe(1024 * 1024);
        for (let pos = 0; ;) {
          const n = await f.read(buf, pos, buf.length);
          if (n === 0) break;
          hash.update(buf.subarray(0, n));
          pos += n;
        }
        return hash.digest('hex');
      } finally {
        await f.close();
      }
    } catch (e) {
      // Removed or renamed between close and hashing: whoever moved it owns the next event.
      if (!this.d.fs.isNotFound(e)) this.log.error({ err: e, path }, 'cannot hash uploaded file');
      return undefined;
    }
  }

  private emitReady(path: string, size: number, sha256: string): void {
    const event = { accountId: this.d.principal.accountId, path, size, sha256, at: new Date(this.d.now()) };
    this.d.metrics.filesReady.inc();
    this.log.info({ event: 'sftp.file_ready', path, size, sha256 }, 'file ready');
    this.d.bus.emit(event);
  }

  private async opendir(id: number, p: string): Promise<void> {
    const path = this.path(p);
    const entries = await this.d.fs.readdir(path);
    this.sftp.handle(id, this.newHandle({ kind: 'dir', path, entries, next: 0 }));
  }

  private async readdir(id: number, hb: Buffer): Promise<void> {
    const h = this.handle(hb);
    if (!h || h.kind !== 'dir') throw new DatasyncError('DS_NOT_FOUND', 'invalid handle');
    if (h.next >= h.entries.length) return this.reply(id, STATUS.EOF);
    const batch = h.entries.slice(h.next, h.next + READDIR_BATCH);
    h.next += batch.length;
    const now = this.d.now();
    const user = this.d.principal.username;
    const group = this.d.principal.accountId;
    this.sftp.name(
      id,
      batch.map((e) => ({
        filename: e.name,
        longname: longName(e.name, e.stat, user, group, now),
        attrs: toAttrs(e.stat),
      })),
    );
  }

  private async remove(id: number, p: string): Promise<void> {
    const path = this.path(p);
    const st = await this.d.fs.stat(path);
    await this.d.fs.remove(path);
    if (st.kind === 'file') this.shrink(st.size);
    this.reply(id, STATUS.OK);
  }

  private async mkdir(id: number, p: string): Promise<void> {
    await this.d.fs.mkdir(this.path(p));
    this.reply(id, STATUS.OK);
  }

  private async rmdir(id: number, p: string): Promise<void> {
    const path = this.path(p);
    if (PROTECTED.has(path)) throw new DatasyncError('DS_FORBIDDEN', 'standard folders cannot be removed');
    await this.d.fs.rmdir(path);
    this.reply(id, STATUS.OK);
  }

  private async rename(id: number, a: string, b: string, overwrite: boolean): Promise<void> {
    const from = this.path(a);
    const to = this.path(b);
    if (PROTECTED.has(from)) throw new DatasyncError('DS_FORBIDDEN', 'standard folders cannot be renamed');
    let replaced = 0;
    if (overwrite)
      replaced = await this.d.fs.stat(to).then(
        (s) => (s.kind === 'file' ? s.size : 0),
        () => 0,
      );
    await this.d.fs.rename(from, to, { overwrite });
    this.shrink(replaced);
    this.reply(id, STATUS.OK);
    // A rename puts a complete file in place (`x.csv.filepart` → `x.csv`): ready, unless it is still being
    // written (then nothing is complete yet) or the new name is itself temporary.
    if (this.d.shared.writers.has(this.writerKey(from)) || this.d.isTempName(spacePathName(to))) return;
    const st = await this.d.fs.stat(to).catch(() => undefined);
    if (st?.kind !== 'file') return;
    const sha256 = await this.hashFile(to);
    if (sha256 !== undefined) this.emitReady(to, st.size, sha256);
  }

  private async extended(id: number, name: string, data?: Buffer): Promise<void> {
    switch (name) {
      case 'posix-rename@openssh.com': {
        const a = readString(data, 0);
        const b = a && readString(data, a[1]);
        if (!a || !b) return this.reply(id, STATUS.BAD_MESSAGE, 'Bad message');
        return this.rename(id, a[0], b[0], true);
      }
      case 'statvfs@openssh.com':
      case 'fstatvfs@openssh.com': {
        if (name === 'statvfs@openssh.com') {
          const p = readString(data, 0);
          if (!p) return this.reply(id, STATUS.BAD_MESSAGE, 'Bad message');
          await this.d.fs.stat(this.path(p[0]));
        } else if (data && data.length >= 8) this.fileHandle(data.subarray(4, 4 + data.readUInt32BE(0)));
        return this.statvfs(id);
      }
      case 'limits@openssh.com': {
        const out = Buffer.alloc(32);
        u64(out, 256 * 1024, 0); // max packet length
        u64(out, MAX_IO_BYTES, 8); // max read
        u64(out, MAX_IO_BYTES, 16); // max write
        u64(out, 0, 24); // open handles: no fixed limit
        if (!sendExtendedReply(this.sftp, id, out)) this.reply(id, STATUS.OP_UNSUPPORTED);
        return;
      }
      default:
        return this.reply(id, STATUS.OP_UNSUPPORTED, 'Unsupported');
    }
  }

  /** statvfs reply: the account quota when one is set (what the customer can really use), else the disk. */
  private async statvfs(id: number): Promise<void> {
    const s = await this.d.fs.statfs();
    const q = this.d.quotas.maxAccountBytes;
    let { blocks, blocksFree, blocksAvailable } = s;
    if (q > 0) {
      const used = (await this.usage()).bytes;
      blocks = Math.floor(q / s.blockSize);
      blocksFree = blocksAvailable = Math.max(
        0,
        Math.min(blocksAvailable, Math.floor((q - used) / s.blockSize)),
      );
    }
    const out = Buffer.alloc(88);
    [
      s.blockSize,
      s.blockSize,
      blocks,
      blocksFree,
      blocksAvailable,
      s.files,
      s.filesFree,
      s.filesFree,
      0,
      0,
      255,
    ].forEach((v, i) => u64(out, v, i * 8));
    if (!sendExtendedReply(this.sftp, id, out)) this.reply(id, STATUS.OP_UNSUPPORTED);
  }

  /** The session is gone (cut or ended): close every handle without any event. */
  private async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const open = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(open.map((h) => (h.kind === 'file' ? this.closeFile(h, false) : undefined)));
  }

  /** Resolves when every handle of the session is closed (for a server stop). */
  shutdown(): Promise<void> {
    return this.abort();
  }
}
