/** Logins, the brute-force defender, session limits, host-key stability and quotas. */
import fs from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, describe, expect, it } from 'vitest';
import { connectSsh2, p, runSftp, startHarness, statusOf, type Harness } from './sftp-harness.js';

const { STATUS_CODE } = ssh2.utils.sftp;

describe('auth and limits', () => {
  const harnesses: Harness[] = [];
  afterAll(() => Promise.all(harnesses.map((h) => h.stop())));
  const start = async (...args: Parameters<typeof startHarness>) => {
    const h = await startHarness(...args);
    harnesses.push(h);
    return h;
  };

  it('bans an address after repeated failures, even for the right password, and counts it', async () => {
    const h = await start([{ username: 'demo', accountId: 'acme', password: 'right' }], {
      bruteForce: { maxFailures: 2, windowSeconds: 60, banSeconds: 600 },
    });
    for (let i = 0; i < 2; i++)
      expect((await runSftp(h, 'demo', ['ls'], { password: 'wrong' })).code).not.toBe(0);
    const r = await runSftp(h, 'demo', ['ls'], { password: 'right' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Connection closed|reset|kex_exchange_identification/i);
    const m = await h.registry.metrics();
    expect(m).toMatch(/datasync_sftp_bans_total 1/);
    expect(m).toMatch(/datasync_sftp_auth_failures_total\{method="password"\} 2/);
    expect(m).toMatch(/datasync_sftp_refused_connections_total\{reason="banned"\} 1/);
  });

  it('keeps the same host key across restarts (known_hosts stays valid)', async () => {
    const h = await start([{ username: 'demo', accountId: 'acme', password: 'pw' }]);
    const knownHosts = path.join(h.dir, 'known_hosts');
    expect((await runSftp(h, 'demo', ['ls'], { password: 'pw', knownHosts })).code).toBe(0);
    await h.restart();
    // The new port is another known_hosts entry; copy the first entry's key to it so a changed key would fail.
    const line = (await fs.readFile(knownHosts, 'utf8')).trim().split('\n');
    const pinned = line.map((l) => l.replace(/^\[127\.0\.0\.1\]:\d+/, `[127.0.0.1]:${h.port}`)).join('\n');
    await fs.writeFile(knownHosts, pinned + '\n');
    const r = await runSftp(h, 'demo', ['ls'], { password: 'pw', knownHosts: knownHosts });
    expect(r.stderr).not.toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED/);
    expect(r.code).toBe(0);
    const keys = await fs.readdir(path.join(h.dataDir, 'keys'));
    expect(keys.sort()).toEqual([
      'ssh_host_ed25519_key',
      'ssh_host_ed25519_key.pub',
      'ssh_host_rsa_key',
      'ssh_host_rsa_key.pub',
    ]);
  });

  it('limits sessions per user', async () => {
    const h = await start([{ username: 'demo', accountId: 'acme', password: 'pw' }], {
      maxSessionsPerUser: 2,
    });
    const c1 = await connectSsh2(h.port, 'demo', 'pw');
    const c2 = await connectSsh2(h.port, 'demo', 'pw');
    await expect(connectSsh2(h.port, 'demo', 'pw')).rejects.toThrow(/authentication methods failed/);
    c1.client.end();
    await new Promise<void>((r) => c1.client.on('close', () => r()));
    // The server frees the slot when it sees the close; retry until it has (bounded).
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      ok = await connectSsh2(h.port, 'demo', 'pw').then(
        (c) => (c.client.end(), true),
        () => false,
      );
    }
    expect(ok).toBe(true);
    c2.client.end();
  });

  it('enforces the file-size and account quotas with a clear failure', async () => {
    const h = await start([{ username: 'demo', accountId: 'acme', password: 'pw' }], {
      quotas: { maxFileBytes: 100_000, maxAccountBytes: 250_000 },
    });
    const { client, sftp } = await connectSsh2(h.port, 'demo', 'pw');
    const tooBig = statusOf(p.writeFile(sftp, '/import/big.csv', Buffer.alloc(150_000, 1)));
    expect(await tooBig).toBe(STATUS_CODE.FAILURE);
    await new Promise<void>((res) => sftp.unlink('/import/big.csv', () => res()));
    await p.writeFile(sftp, '/import/a.csv', Buffer.alloc(90_000, 1));
    await p.writeFile(sftp, '/import/b.csv', Buffer.alloc(90_000, 1));
    const err = await p.writeFile(sftp, '/import/c.csv', Buffer.alloc(90_000, 1)).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/Quota exceeded/);
    // The failed uploads fired nothing; the two complete ones did.
    await h.ready.waitFor(2);
    expect(h.ready.events.map((e) => e.path).sort()).toEqual(['/import/a.csv', '/import/b.csv']);
    client.end();
  });
});
