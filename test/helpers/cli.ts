/** Run the real `datasync` CLI in a child process (through tsx, so no build is needed), and its test workspace. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../../src/store/index.js';
import { createTestDatabase } from '../jobs/pg-database.js';
import type { DialectName } from './store.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'src/cli.ts');
const TSX = path.join(ROOT, 'node_modules/tsx/dist/esm/index.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cliProcess(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string },
): ChildProcess {
  const env = { ...process.env, ...opts.env };
  // The CLI must not pick up the suite's database or config unless a test says so.
  if (!opts.env?.DATABASE_URL) delete env.DATABASE_URL;
  if (!opts.env?.DATASYNC_CONFIG) delete env.DATASYNC_CONFIG;
  return spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd: opts.cwd,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function runCli(
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = cliProcess(args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin!.end(opts.input ?? '');
  });
}

/**
 * A folder, a data directory and a store the real CLI shares with the test: SQLite in the data directory, or
 * a fresh PostgreSQL database (the CLI takes no schema option), opened here for the test's own checks.
 * `cli(...args)` runs `datasync` against them, quiet and without the demo seed.
 */
export interface CliWorkspace {
  dir: string;
  dataDir: string;
  /** The `DATASYNC_DATABASE` of the CLI. */
  database: string;
  store: Store;
  cli(...args: string[]): Promise<CliResult>;
  close(): Promise<void>;
}

export async function openCliWorkspace(
  dialect: DialectName,
  o: {
    prefix: string;
    /** Data directory below the folder (default: the folder itself). */ dataSubdir?: string;
  },
): Promise<CliWorkspace> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), o.prefix));
  const dataDir = o.dataSubdir ? path.join(dir, o.dataSubdir) : dir;
  fs.mkdirSync(dataDir, { recursive: true });
  const pgDb = dialect === 'postgres' ? await createTestDatabase() : undefined;
  const database = pgDb?.url ?? `sqlite:${path.join(dataDir, 'datasync.db')}`;
  const store = await openStore({ database, dataDir });
  return {
    dir,
    dataDir,
    database,
    store,
    cli: (...args) =>
      runCli(args, {
        cwd: dir,
        env: {
          DATASYNC_DATABASE: database,
          DATASYNC_DATA_DIR: dataDir,
          DATASYNC_DEMO: 'false',
          DATASYNC_LOG__LEVEL: 'silent',
        },
      }),
    async close() {
      await store.close();
      await pgDb?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Served {
  child: ChildProcess;
  /** 0 when the process runs no http role. */
  httpPort: number;
  /** 0 when the process runs no sftp role. */
  sftpPort: number;
  stderr: () => string;
  stdout: () => string;
}

/**
 * Start `datasync serve` in `cwd` on free loopback ports; resolves once it logged "datasync ready" (with the
 * ports of its roles), and on a `firstStart` also once it printed the demo credentials (they go to stderr,
 * another pipe than the logs, so that block may come after the ready line). `roles`: `--roles` (default: all).
 */
export function startServe(
  cwd: string,
  env: NodeJS.ProcessEnv,
  firstStart = false,
  roles?: string[],
): Promise<Served> {
  const child = cliProcess(roles ? ['serve', '--roles', roles.join(',')] : ['serve'], {
    cwd,
    env: {
      DATASYNC_HTTP__PORT: '0',
      DATASYNC_SFTP__PORT: '0',
      DATASYNC_HTTP__HOST: '127.0.0.1',
      DATASYNC_SFTP__HOST: '127.0.0.1',
      ...env,
    },
  });
  let err = '';
  let out = '';
  return new Promise((resolve, reject) => {
    const ports: { ready?: boolean; http?: number; sftp?: number } = {};
    const check = () => {
      if (ports.ready && (!firstStart || err.includes('Keep them now')))
        resolve({
          child,
          httpPort: ports.http ?? 0,
          sftpPort: ports.sftp ?? 0,
          stderr: () => err,
          stdout: () => out,
        });
    };
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      check();
    });
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as { msg?: string; httpPort?: number; sftpPort?: number };
          if (j.msg === 'datasync ready')
            Object.assign(ports, { ready: true, http: j.httpPort, sftp: j.sftpPort });
        } catch {
          /* a partial line */
        }
      }
      check();
    });
    child.on('exit', (code) => reject(new Error(`serve exited early with ${code}: ${err}`)));
  });
}

/** SIGTERM, and the exit code (or signal) once the process is gone. */
export function stopServe(child: ChildProcess): Promise<number | string | null> {
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? null));
    child.kill('SIGTERM');
  });
}
