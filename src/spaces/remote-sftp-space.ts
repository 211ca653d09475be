/**
 * The customer's own SFTP server as a `SpaceFs` (reference §1.3 "customer's own FTP space"): an ssh2 client
 * session whose space paths live under a remote root folder. The server's host key must match the pinned
 * SHA-256 fingerprint (as `ssh-keygen -lf` prints it, `SHA256:…`); a mismatch refuses the connection before
 * any credential is sent and is not retried. Connection failures are retryable errors with a clear message.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import ssh2 from 'ssh2';
import type { SFTPWrapper, Stats } from 'ssh2';
import { DatasyncError, UnrecoverableJobError } from '../errors.js';
import type {
  SpaceDirEntry,
  SpaceFile,
  SpaceFs,
  SpaceFsStats,
  SpaceOpenFlags,
  SpaceStat,
} from './space-fs.js';

const { Client } = ssh2;

/** Connection settings of a remote space (the `remote` block of an instance). */
export interface RemoteSpaceConfig {
  host: string;
  /** Default 22. */
  port?: number;
  username: string;
  password?: string;
  /** OpenSSH or PEM private key text. */
  privateKey?: string;
  passphrase?: string;
  /** `SHA256:<base64>` of the server's host key (`ssh-keygen -lf key.pub`); required. */
  hostKeyFingerprint: string;
  /** Remote folder that is `/` of the space. Default `/`. */
  root?: string;
  /** Seconds to wait for the connection and login. Default 20. */
  connectTimeoutSeconds?: number;
}

/** `SHA256:<unpadded base64>` of a raw host key blob, the format `ssh-keygen -l` prints. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

const STATUS = { NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4 } as const;
const codeOf = (e: unknown) => (e as { code?: unknown })?.code;

function toStat(s: Stats): SpaceStat {
  return {
    kind: s.isDirectory() ? 'directory' : 'file',
    size: s.size,
    mode: s.mode & 0o7777,
    uid: s.uid,
    gid: s.gid,
    atime: new Date(s.atime * 1000),
    mtime: new Date(s.mtime * 1000),
  };
}

function pflags(f: SpaceOpenFlags): string {
  if (f.write && f.read) return f.create ? (f.truncate ? 'w+' : f.exclusive ? 'wx+' : 'a+') : 'r+';
  if (f.write) return f.append ? 'a' : f.exclusive ? 'wx' : f.truncate || f.create ? 'w' : 'r+';
  return 'r';
}

/** Opens a session; resolves a connected `RemoteSftpSpace`. Close it with `end()`. */
export async function connectRemoteSpace(cfg: RemoteSpaceConfig): Promise<RemoteSftpSpace> {
  const client = new Client();
  const target = `${cfg.username}@${cfg.host}:${cfg.port ?? 22}`;
  let hostKeySeen: string | undefined;
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
    client
      .on('ready', () =>
        client.sftp((err, s) =>
          err
            ? reject(
                new DatasyncError('DS_REMOTE_CONNECT', `SFTP subsystem refused by ${target}`, { cause: err }),
              )
            : resolve(s),
        ),
      )
      .on('error', (err) => {
        if (hostKeySeen && hostKeySeen !== cfg.hostKeyFingerprint)
          reject(
            new UnrecoverableJobError(
              'DS_REMOTE_HOST_KEY',
              `host key of ${cfg.host}:${cfg.port ?? 22} is ${hostKeySeen}, but ${cfg.hostKeyFingerprint} is pinned: refusing to connect`,
              { details: { presented: hostKeySeen, pinned: cfg.hostKeyFingerprint } },
            ),
          );
        else
          reject(
            new DatasyncError('DS_REMOTE_CONNECT', `cannot connect to ${target}: ${err.message}`, {
              cause: err,
            }),
          );
      })
      .connect({
        host: cfg.host,
        port: cfg.port ?? 22,
        username: cfg.username,
        password: cfg.password,
        privateKey: cfg.privateKey,
        passphrase: cfg.passphrase,
        readyTimeout: (cfg.connectTimeoutSeconds ?? 20) * 1000,
        // Checked before authentication, so no password reaches a server we do not trust.
        hostVerifier: (key: Buffer) => {
          hostKeySeen = hostKeyFingerprint(key);
          return hostKeySeen === cfg.hostKeyFingerprint;
        },
      });
  });
  return new RemoteSftpSpace(client, sftp, cfg.root ?? '/', target);
}

export class RemoteSftpSpace implements SpaceFs {
  constructor(
    private readonly client: InstanceType<typeof Client>,
    private readonly sftp: SFTPWrapper,
    private readonly root: string,
    /** user@host:port, for messages. */
    readonly target: string,
  ) {}

  /** Closes the session. */
  end(): void {
    this.client.end();
  }

  /** The remote path of a space path (space paths are absolute, `..` cannot leave the root). */
  remotePath(p: string): string {
    return path.posix.join(this.root, path.posix.normalize('/' + p));
  }

  private call<T>(
    op: string,
    p: string,
    fn: (cb: (err: Error | null | undefined, v?: T) => void) => void,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) =>
      fn((err, v) => {
        if (!err) return resolve(v as T);
        // Keep the SFTP status in `code` for the classifiers, and say what failed where.
        reject(
          Object.assign(
            new DatasyncError('DS_REMOTE_IO', `${op} ${p} on ${this.target} failed: ${err.message}`, {
              cause: err,
            }),
            {
              sftpCode: codeOf(err),
            },
          ),
        );
      }),
    );
  }

  async stat(p: string): Promise<SpaceStat> {
    return toStat(await this.call<Stats>('stat', p, (cb) => this.sftp.stat(this.remotePath(p), cb)));
  }

  async readdir(p: string): Promise<SpaceDirEntry[]> {
    const list = await this.call<Array<{ filename: string; attrs: Stats }>>('readdir', p, (cb) =>
      this.sftp.readdir(this.remotePath(p), cb as never),
    );
    return list
      .filter((e) => e.filename !== '.' && e.filename !== '..' && (e.attrs.isFile() || e.attrs.isDirectory()))
      .map((e) => ({ name: e.filename, stat: toStat(e.attrs) }));
  }

  async open(p: string, flags: SpaceOpenFlags): Promise<SpaceFile> {
    const rp = this.remotePath(p);
    const handle = await this.call<Buffer>('open', p, (cb) => this.sftp.open(rp, pflags(flags) as never, cb));
    const sftp = this.sftp;
    const call = this.call.bind(this);
    return {
      read: (buffer, position, length) =>
        call<number>('read', p, (cb) =>
          sftp.read(handle, buffer, 0, length, position, (err, n) => cb(err, n)),
        ),
      write: (data, position) =>
        call<void>('write', p, (cb) => sftp.write(handle, data, 0, data.length, position, cb)),
      stat: async () => toStat(await call<Stats>('fstat', p, (cb) => sftp.fstat(handle, cb))),
      truncate: (size) => call<void>('truncate', p, (cb) => sftp.fsetstat(handle, { size }, cb)),
      setTimes: (atime, mtime) => call<void>('utimes', p, (cb) => sftp.futimes(handle, atime, mtime, cb)),
      close: () => call<void>('close', p, (cb) => sftp.close(handle, cb)),
    };
  }

  async rename(from: string, to: string, opts: { overwrite?: boolean } = {}): Promise<void> {
    const exists = await this.stat(to).then(
      () => true,
      (e: unknown) => (this.isNotFound(e) ? false : Promise.reject(e)),
    );
    if (exists && !opts.overwrite)
      throw Object.assign(
        new DatasyncError('DS_REMOTE_IO', `rename ${from} → ${to} on ${this.target}: target exists`),
        {
          exists: true,
        },
      );
    // SFTP v3 RENAME refuses an existing target: remove it first (OpenSSH's posix-rename would do both at once).
    if (exists) await this.remove(to);
    await this.call<void>('rename', from, (cb) =>
      this.sftp.rename(this.remotePath(from), this.remotePath(to), cb),
    );
  }

  remove(p: string): Promise<void> {
    return this.call<void>('remove', p, (cb) => this.sftp.unlink(this.remotePath(p), cb));
  }
  mkdir(p: string): Promise<void> {
    return this.call<void>('mkdir', p, (cb) => this.sftp.mkdir(this.remotePath(p), cb));
  }
  rmdir(p: string): Promise<void> {
    return this.call<void>('rmdir', p, (cb) => this.sftp.rmdir(this.remotePath(p), cb));
  }
  truncate(p: string, size: number): Promise<void> {
    return this.call<void>('truncate', p, (cb) => this.sftp.setstat(this.remotePath(p), { size }, cb));
  }
  setTimes(p: string, atime: Date, mtime: Date): Promise<void> {
    return this.call<void>('utimes', p, (cb) => this.sftp.utimes(this.remotePath(p), atime, mtime, cb));
  }
  /** Not measured on a remote server (no quota is ours to keep there). */
  async usage(): Promise<number> {
    return 0;
  }
  async statfs(): Promise<SpaceFsStats> {
    return { blockSize: 4096, blocks: 0, blocksFree: 0, blocksAvailable: 0, files: 0, filesFree: 0 };
  }

  isNotFound(e: unknown): boolean {
    return (e as { sftpCode?: unknown })?.sftpCode === STATUS.NO_SUCH_FILE;
  }
  isPermission(e: unknown): boolean {
    return (e as { sftpCode?: unknown })?.sftpCode === STATUS.PERMISSION_DENIED;
  }
  isExists(e: unknown): boolean {
    return (e as { exists?: unknown })?.exists === true;
  }
  /** SFTP v3 has no distinct status: a FAILURE on rmdir is taken as "not empty". */
  isNotEmpty(e: unknown): boolean {
    return (e as { sftpCode?: unknown })?.sftpCode === STATUS.FAILURE;
  }
  isWrongKind(_e: unknown): boolean {
    return false;
  }
}
