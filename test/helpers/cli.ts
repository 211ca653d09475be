/** Run the real `datasync` CLI in a child process (through tsx, so no build is needed). */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

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
