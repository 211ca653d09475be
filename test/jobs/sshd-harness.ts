/**
 * A real OpenSSH sshd for remote-space tests: temporary config, host key and user key, `internal-sftp`, on a
 * free loopback port. Tests skip with a loud message only when /usr/sbin/sshd is absent (.ci/run installs it).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SSHD = '/usr/sbin/sshd';
export const HAVE_SSHD = fs.existsSync(SSHD);
if (!HAVE_SSHD)
  console.warn(
    '\n!!! /usr/sbin/sshd is absent: remote SFTP tests are SKIPPED (install openssh-server) !!!\n',
  );

export interface SshdHandle {
  port: number;
  dir: string;
  /** Folder the tests write into, on the server's disk. */
  home: string;
  username: string;
  privateKey: string;
  hostKeyFingerprint: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function fingerprint(pubFile: string): string {
  return execFileSync('ssh-keygen', ['-lf', pubFile], { encoding: 'utf8' }).split(' ')[1]!;
}

export async function startSshd(): Promise<SshdHandle> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-sshd-'));
  const home = path.join(dir, 'home');
  fs.mkdirSync(home);
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  keygen(path.join(dir, 'host_key'));
  keygen(path.join(dir, 'user_key'));
  fs.copyFileSync(path.join(dir, 'user_key.pub'), path.join(dir, 'authorized_keys'));
  const username = os.userInfo().username;
  // sshd refuses to start without its privilege-separation directory; a fresh machine (or a container whose
  // /run is a tmpfs) may not have it until the sshd service ran once.
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  for (let tries = 0; ; tries++) {
    const port = await freePort();
    fs.writeFileSync(
      path.join(dir, 'sshd_config'),
      [
        `ListenAddress 127.0.0.1:${port}`,
        `HostKey ${dir}/host_key`,
        `PidFile ${dir}/sshd.pid`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        `ChrootDirectory none`,
        'Subsystem sftp internal-sftp',
        'LogLevel ERROR',
      ].join('\n') + '\n',
    );
    const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // Ready when the port accepts connections; an early exit means the port was taken meanwhile.
    const ready = await new Promise<boolean>((resolve) => {
      child.once('exit', () => resolve(false));
      const attempt = () => {
        const sock = net.connect(port, '127.0.0.1');
        sock.once('connect', () => {
          sock.destroy();
          resolve(true);
        });
        sock.once('error', () => setTimeout(attempt, 50));
      };
      attempt();
    });
    if (!ready) {
      if (tries < 3) continue;
      throw new Error(`sshd did not start: ${stderr}`);
    }
    return {
      port,
      dir,
      home,
      username,
      privateKey: fs.readFileSync(path.join(dir, 'user_key'), 'utf8'),
      hostKeyFingerprint: fingerprint(path.join(dir, 'host_key.pub')),
      async stop() {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}
