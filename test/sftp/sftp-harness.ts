/**
 * Test harness: a real SFTP server on 127.0.0.1:0 over a temp data dir, an in-memory user directory built from
 * credentials.ts, an event recorder on the FileReadyBus, and helpers to drive OpenSSH `sftp` and ssh2's client.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import ssh2 from 'ssh2';
import type { SFTPWrapper } from 'ssh2';
import { FileReadyBus, HostedSpaces, type FileReady } from '../../src/spaces/index.js';
import {
  createSftpServer,
  hashPassword,
  parseAuthorizedKeys,
  verifyPassword,
  type SftpPrincipal,
  type SftpServerOptions,
  type SftpUserDirectory,
} from '../../src/sftp/index.js';

export interface TestUser {
  username: string;
  accountId: string;
  password?: string;
  authorizedKeys?: string;
}

/** A SftpUserDirectory over a list of users, hashing passwords exactly as the store will. */
export async function memoryDirectory(users: TestUser[]): Promise<SftpUserDirectory> {
  const rows = await Promise.all(
    users.map(async (u) => ({
      ...u,
      hash: u.password ? await hashPassword(u.password) : undefined,
      keys: u.authorizedKeys ? parseAuthorizedKeys(u.authorizedKeys) : [],
    })),
  );
  const principal = (u: TestUser): SftpPrincipal => ({ accountId: u.accountId, username: u.username });
  return {
    async authenticatePassword(username, password) {
      const u = rows.find((r) => r.username === username);
      return u?.hash && (await verifyPassword(u.hash, password)) ? principal(u) : null;
    },
    async authenticateKey(username, algo, keyData) {
      const u = rows.find((r) => r.username === username);
      const b64 = keyData.toString('base64');
      return u && u.keys.some((k) => k.algo === algo && k.keyBase64 === b64) ? principal(u) : null;
    },
  };
}

/** Records every FileReady and lets a test wait for a count of them. */
export class ReadyRecorder {
  readonly events: FileReady[] = [];
  private waiters: { n: number; resolve: () => void }[] = [];
  constructor(bus: FileReadyBus) {
    bus.on((e) => {
      this.events.push(e);
      this.waiters = this.waiters.filter((w) => (this.events.length >= w.n ? (w.resolve(), false) : true));
    });
  }
  waitFor(n: number): Promise<void> {
    if (this.events.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
}

export interface Harness {
  dir: string;
  dataDir: string;
  port: number;
  spaces: HostedSpaces;
  bus: FileReadyBus;
  ready: ReadyRecorder;
  registry: Registry;
  stop(): Promise<void>;
  /** Restart on the same data dir (same host keys), same port when possible. */
  restart(): Promise<void>;
}

export async function startHarness(
  users: TestUser[],
  options: Partial<SftpServerOptions> = {},
  existingDir?: string,
): Promise<Harness> {
  const dir = existingDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'ds-sftp-')));
  const dataDir = path.join(dir, 'data');
  const spaces = new HostedSpaces(path.join(dataDir, 'spaces'));
  const bus = new FileReadyBus();
  const ready = new ReadyRecorder(bus);
  const registry = new Registry();
  const logger = pino({ level: process.env.DS_TEST_LOG ?? 'silent' });
  const users_ = await memoryDirectory(users);
  const mk = (port: number) =>
    createSftpServer(
      { host: '127.0.0.1', port, dataDir, ...options },
      { spaces, users: users_, bus, logger, registry },
    );
  let server = mk(options.port ?? 0);
  const { port } = await server.start();
  const h: Harness = {
    dir,
    dataDir,
    port,
    spaces,
    bus,
    ready,
    registry,
    stop: () => server.stop(),
    async restart() {
      await server.stop();
      server = mk(0);
      h.port = (await server.start()).port;
    },
  };
  return h;
}

export interface SftpRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs OpenSSH `sftp` with a batch of commands. Password logins use SSH_ASKPASS (+ `-oBatchMode=no`, since
 * `-b` alone forces batch mode, which disables password prompts); key logins use `-i`.
 */
export async function runSftp(
  h: { port: number; dir: string },
  user: string,
  commands: string[],
  auth: { password?: string; keyFile?: string; knownHosts?: string; cwd?: string },
): Promise<SftpRun> {
  const batch = path.join(h.dir, `batch-${Math.random().toString(36).slice(2)}.txt`);
  await fs.writeFile(batch, commands.join('\n') + '\n');
  const env: NodeJS.ProcessEnv = { ...process.env, DISPLAY: ':0' };
  // ssh keeps the first value of an option, and `-b` adds `BatchMode yes`: `-oBatchMode=no` must come first.
  const args = [
    '-oBatchMode=no',
    '-b',
    batch,
    '-P',
    String(h.port),
    '-oConnectTimeout=20',
    '-oLogLevel=ERROR',
    `-oUserKnownHostsFile=${auth.knownHosts ?? '/dev/null'}`,
    `-oStrictHostKeyChecking=${auth.knownHosts ? 'accept-new' : 'no'}`,
    '-oNumberOfPasswordPrompts=1',
  ];
  if (auth.password !== undefined) {
    const askpass = path.join(h.dir, `askpass-${Math.random().toString(36).slice(2)}.sh`);
    await fs.writeFile(askpass, `#!/bin/sh\nprintf '%s\\n' '${auth.password.replace(/'/g, `'\\''`)}'\n`, {
      mode: 0o700,
    });
    env.SSH_ASKPASS = askpass;
    env.SSH_ASKPASS_REQUIRE = 'force';
    args.push('-oPreferredAuthentications=password', '-oPubkeyAuthentication=no');
  } else if (auth.keyFile) {
    args.push('-i', auth.keyFile, '-oIdentitiesOnly=yes', '-oPreferredAuthentications=publickey');
  }
  args.push(`${user}@127.0.0.1`);
  return new Promise((resolve) => {
    execFile('sftp', args, { env, cwd: auth.cwd ?? h.dir, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Connects ssh2's client with a password and opens SFTP. */
export function connectSsh2(
  port: number,
  username: string,
  password: string,
): Promise<{ client: InstanceType<typeof ssh2.Client>; sftp: SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client
      .on('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))))
      .on('error', reject)
      .connect({ host: '127.0.0.1', port, username, password, readyTimeout: 30_000 });
  });
}

/** Promisified ssh2 SFTP calls used by the tests. */
export const p = {
  open: (s: SFTPWrapper, path_: string, flags: ssh2.OpenMode) =>
    new Promise<Buffer>((res, rej) => s.open(path_, flags, (e, h) => (e ? rej(e) : res(h)))),
  write: (s: SFTPWrapper, h: Buffer, data: Buffer, pos: number) =>
    new Promise<void>((res, rej) => s.write(h, data, 0, data.length, pos, (e) => (e ? rej(e) : res()))),
  close: (s: SFTPWrapper, h: Buffer) =>
    new Promise<void>((res, rej) => s.close(h, (e) => (e ? rej(e) : res()))),
  stat: (s: SFTPWrapper, path_: string) =>
    new Promise<ssh2.Stats>((res, rej) => s.stat(path_, (e, st) => (e ? rej(e) : res(st)))),
  readdir: (s: SFTPWrapper, path_: string) =>
    new Promise<ssh2.FileEntryWithStats[]>((res, rej) => s.readdir(path_, (e, l) => (e ? rej(e) : res(l)))),
  rename: (s: SFTPWrapper, a: string, b: string) =>
    new Promise<void>((res, rej) => s.rename(a, b, (e) => (e ? rej(e) : res()))),
  symlink: (s: SFTPWrapper, target: string, link: string) =>
    new Promise<void>((res, rej) => s.symlink(target, link, (e) => (e ? rej(e) : res()))),
  mkdir: (s: SFTPWrapper, path_: string) =>
    new Promise<void>((res, rej) => s.mkdir(path_, (e) => (e ? rej(e) : res()))),
  readFile: (s: SFTPWrapper, path_: string) =>
    new Promise<Buffer>((res, rej) =>
      s.readFile(path_, (e: Error | undefined, b: Buffer) => (e ? rej(e) : res(b))),
    ),
  writeFile: (s: SFTPWrapper, path_: string, data: Buffer) =>
    new Promise<void>((res, rej) => s.writeFile(path_, data, (e) => (e ? rej(e) : res()))),
};

/** The SFTP status code of a failed ssh2 client call. */
export async function statusOf(promise: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await promise;
    return 'ok';
  } catch (e) {
    return (e as { code?: number }).code ?? -1;
  }
}
