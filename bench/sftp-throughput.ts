/**
 * SFTP throughput: upload and download one file with OpenSSH's `sftp` client (same cipher for both servers),
 * against datasync's SFTP server and against OpenSSH's own sftp-server (a throwaway `sshd` on a loopback port
 * with a temporary config and keys). Prints MB/s, the ratio datasync/OpenSSH, and datasync's peak RSS.
 *
 *   node --import tsx bench/sftp-throughput.ts [--size-mb 1024] [--cipher chacha20-poly1305@openssh.com] [--runs 1]
 *
 * datasync runs in a child process so its RSS is its own (read from /proc/<pid>/status VmHWM).
 * Targets (issue 3): ratio ≥ 0.8 up and down; server RSS ≤ 150 MB.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const SIZE_MB = Number(arg('size-mb', '1024'));
const CIPHER = arg('cipher', 'chacha20-poly1305@openssh.com');
const RUNS = Number(arg('runs', '1'));
const SSHD = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => existsSync(p));
const SFTP_SERVER = [
  '/usr/lib/openssh/sftp-server',
  '/usr/libexec/openssh/sftp-server',
  '/usr/libexec/sftp-server',
].find((p) => existsSync(p));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = net.connect(port, '127.0.0.1');
      sock.once('data', () => (sock.destroy(), resolve())); // the SSH identification line
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} did not open`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

function peakRssMb(pid: number): number {
  try {
    const status = execFileSync('cat', [`/proc/${pid}/status`], { encoding: 'utf8' });
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

interface Target {
  name: string;
  port: number;
  user: string;
  remoteDir: string;
  /** Extra ssh options for the client. */
  opts: string[];
  env: NodeJS.ProcessEnv;
}

async function timeSftp(t: Target, dir: string, command: string): Promise<number> {
  const batch = path.join(dir, 'batch.txt');
  await fs.writeFile(batch, command + '\n');
  const t0 = process.hrtime.bigint();
  execFileSync(
    'sftp',
    [
      '-oBatchMode=no',
      '-q',
      '-b',
      batch,
      '-P',
      String(t.port),
      `-oCiphers=${CIPHER}`,
      '-oStrictHostKeyChecking=no',
      '-oUserKnownHostsFile=/dev/null',
      '-oLogLevel=ERROR',
      ...t.opts,
      `${t.user}@127.0.0.1`,
    ],
    { cwd: dir, env: t.env, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function measure(t: Target, dir: string): Promise<{ up: number; down: number }> {
  const upS = await timeSftp(t, dir, `put payload.bin ${t.remoteDir}/payload.bin`);
  const downS = await timeSftp(t, dir, `get ${t.remoteDir}/payload.bin back.bin`);
  await fs.rm(path.join(dir, 'back.bin'));
  return { up: SIZE_MB / upS, down: SIZE_MB / downS };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ds-bench-sftp-'));
  const children: ChildProcess[] = [];
  const cleanup = async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    await fs.rm(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    console.log(
      `sftp-throughput: ${SIZE_MB} MiB, cipher ${CIPHER}, ${RUNS} run(s), ${os.cpus().length} cpu(s) ${os.cpus()[0]?.model}`,
    );
    // Client key, used for both servers (no password prompt in the timing).
    const key = path.join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const pub = await fs.readFile(`${key}.pub`, 'utf8');
    execFileSync('dd', [
      'if=/dev/urandom',
      `of=${path.join(dir, 'payload.bin')}`,
      'bs=1M',
      `count=${SIZE_MB}`,
      'status=none',
    ]);
    const clientOpts = ['-i', key, '-oIdentitiesOnly=yes', '-oPreferredAuthentications=publickey'];

    // --- datasync, in a child process ---
    const dsPort = await freePort();
    const here = path.dirname(fileURLToPath(import.meta.url));
    const ds = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'sftp-throughput.server.ts')], {
      env: { ...process.env, BENCH_DIR: dir, BENCH_PORT: String(dsPort), BENCH_PUBKEY: pub },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    children.push(ds);
    await waitForPort(dsPort);
    const dsTarget: Target = {
      name: 'datasync',
      port: dsPort,
      user: 'bench',
      remoteDir: '/import',
      opts: clientOpts,
      env: process.env,
    };

    // --- OpenSSH sshd + sftp-server ---
    let sshTarget: Target | undefined;
    if (!SSHD || !SFTP_SERVER) {
      console.log(
        'OpenSSH sshd / sftp-server NOT FOUND: install openssh-server for the comparison (apt-get install -y openssh-server)',
      );
    } else {
      const sshPort = await freePort();
      const hostKey = path.join(dir, 'ssh_host_ed25519_key');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
      const authKeys = path.join(dir, 'authorized_keys');
      await fs.writeFile(authKeys, pub, { mode: 0o600 });
      const remoteDir = path.join(dir, 'openssh-remote');
      await fs.mkdir(remoteDir);
      const cfg = path.join(dir, 'sshd_config');
      await fs.writeFile(
        cfg,
        [
          `Port ${sshPort}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${hostKey}`,
          `AuthorizedKeysFile ${authKeys}`,
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'LogLevel ERROR',
          'StrictModes no',
          `PidFile ${path.join(dir, 'sshd.pid')}`,
          `Subsystem sftp ${SFTP_SERVER}`,
          `Ciphers ${CIPHER}`,
          '',
        ].join('\n'),
      );
      await fs.mkdir('/run/sshd', { recursive: true }).catch(() => undefined); // privilege separation dir
      const sshd = spawn(SSHD, ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
      children.push(sshd);
      await waitForPort(sshPort);
      sshTarget = {
        name: 'openssh',
        port: sshPort,
        user: os.userInfo().username,
        remoteDir,
        opts: clientOpts,
        env: process.env,
      };
    }

    const results: Record<string, { up: number[]; down: number[] }> = {
      datasync: { up: [], down: [] },
      openssh: { up: [], down: [] },
    };
    for (let r = 0; r < RUNS; r++) {
      for (const t of [dsTarget, sshTarget]) {
        if (!t) continue;
        const m = await measure(t, dir);
        results[t.name]!.up.push(m.up);
        results[t.name]!.down.push(m.down);
        console.log(
          `run ${r + 1} ${t.name.padEnd(8)} up ${m.up.toFixed(0)} MB/s  down ${m.down.toFixed(0)} MB/s`,
        );
      }
    }
    const rss = peakRssMb(ds.pid!);
    const d = { up: median(results.datasync!.up), down: median(results.datasync!.down) };
    console.log(
      `\nmedian datasync: up ${d.up.toFixed(0)} MB/s, down ${d.down.toFixed(0)} MB/s; server peak RSS ${rss.toFixed(0)} MB`,
    );
    if (sshTarget) {
      const o = { up: median(results.openssh!.up), down: median(results.openssh!.down) };
      console.log(`median openssh:  up ${o.up.toFixed(0)} MB/s, down ${o.down.toFixed(0)} MB/s`);
      console.log(
        `ratio datasync/openssh: up ${(d.up / o.up).toFixed(2)}, down ${(d.down / o.down).toFixed(2)} (target ≥ 0.80)`,
      );
    }
    console.log(`RSS target ≤ 150 MB: ${rss <= 150 ? 'met' : 'NOT met'}`);
  } finally {
    await cleanup();
  }
}

await main();
