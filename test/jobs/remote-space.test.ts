/** Remote SFTP spaces against a real OpenSSH sshd: pinned host key, complete files only, exports land complete. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRemoteSpace, type RemoteSftpSpace } from '../../src/spaces/remote-sftp-space.js';
import {
  downloadFile,
  findCompleteFiles,
  finishRemoteFile,
  pushFile,
} from '../../src/spaces/remote-transfer.js';
import { HAVE_SSHD, startSshd, type SshdHandle } from './sshd-harness.js';

describe.skipIf(!HAVE_SSHD)('remote SFTP space (real OpenSSH sshd)', () => {
  let sshd: SshdHandle;
  let space: RemoteSftpSpace;
  let local: string;
  beforeAll(async () => {
    sshd = await startSshd();
    local = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-remote-local-'));
    fs.mkdirSync(path.join(sshd.home, 'in'));
    fs.mkdirSync(path.join(sshd.home, 'out'));
    space = await connectRemoteSpace({
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.username,
      privateKey: sshd.privateKey,
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      root: sshd.home,
    });
  });
  afterAll(async () => {
    space?.end();
    await sshd?.stop();
    if (local) fs.rmSync(local, { recursive: true, force: true });
  });

  it('refuses a server whose host key does not match the pinned fingerprint, with a clear error', async () => {
    const err = await connectRemoteSpace({
      host: '127.0.0.1',
      port: sshd.port,
      username: sshd.username,
      privateKey: sshd.privateKey,
      hostKeyFingerprint: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DS_REMOTE_HOST_KEY' });
    expect((err as Error).message).toContain(sshd.hostKeyFingerprint);
    expect((err as Error).constructor.name).toBe('UnrecoverableJobError');
  });

  it('reports a connection failure as a retryable DS_REMOTE_CONNECT', async () => {
    const err = await connectRemoteSpace({
      host: '127.0.0.1',
      port: sshd.port,
      username: 'nobody-here',
      privateKey: sshd.privateKey,
      hostKeyFingerprint: sshd.hostKeyFingerprint,
      connectTimeoutSeconds: 5,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DS_REMOTE_CONNECT' });
  });

  it('takes only files whose size and mtime are stable across two looks, then deletes them after success', async () => {
    fs.writeFileSync(path.join(sshd.home, 'in', 'done.csv'), 'email\na@x.it\n');
    const growing = path.join(sshd.home, 'in', 'growing.csv');
    fs.writeFileSync(growing, 'email\n');
    fs.writeFileSync(path.join(sshd.home, 'in', 'notes.txt'), 'ignored');
    const found = await findCompleteFiles(space, {
      folder: '/in',
      match: (n) => n.endsWith('.csv'),
      completeness: { mode: 'stable' },
      // The customer is still writing between the two looks.
      betweenLooks: async () => {
        fs.appendFileSync(growing, 'b@x.it\n');
        fs.utimesSync(growing, new Date(), new Date(Date.now() + 5000));
      },
    });
    expect(found.map((f) => f.name)).toEqual(['done.csv']);
    const n = await downloadFile(space, found[0]!.path, path.join(local, 'done.csv'));
    expect(n).toBe(13);
    expect(fs.readFileSync(path.join(local, 'done.csv'), 'utf8')).toBe('email\na@x.it\n');
    await finishRemoteFile(space, found[0]!, { action: 'delete' });
    expect(fs.existsSync(path.join(sshd.home, 'in', 'done.csv'))).toBe(false);
    expect(fs.existsSync(growing)).toBe(true);
  });

  it('with trigger files, takes a file only once its .done/.ok companion exists, and moves both away', async () => {
    fs.writeFileSync(path.join(sshd.home, 'in', 'a.csv'), 'email\nc@x.it\n');
    fs.writeFileSync(path.join(sshd.home, 'in', 'b.csv'), 'email\nd@x.it\n');
    fs.writeFileSync(path.join(sshd.home, 'in', 'b.csv.ok'), '');
    const found = await findCompleteFiles(space, {
      folder: '/in',
      match: (n) => /^[ab]\.csv$/.test(n),
      completeness: { mode: 'trigger' },
    });
    expect(found.map((f) => f.name)).toEqual(['b.csv']);
    await finishRemoteFile(space, found[0]!, { action: 'move', moveTo: '/in/archive' });
    expect(fs.existsSync(path.join(sshd.home, 'in', 'archive', 'b.csv'))).toBe(true);
    expect(fs.existsSync(path.join(sshd.home, 'in', 'b.csv.ok'))).toBe(false);
  });

  it('pushes an export under a temporary name and renames it complete, replacing an older one', async () => {
    const src = path.join(local, 'export.csv');
    const body = 'email;date\n' + 'x@y.it;20260301T040000\n'.repeat(50_000);
    fs.writeFileSync(src, body);
    fs.writeFileSync(path.join(sshd.home, 'out', 'export.csv'), 'old');
    const final = await pushFile(space, src, '/out', 'export.csv');
    expect(final).toBe('/out/export.csv');
    expect(fs.readFileSync(path.join(sshd.home, 'out', 'export.csv'), 'utf8')).toBe(body);
    expect(fs.readdirSync(path.join(sshd.home, 'out'))).toEqual(['export.csv']);
  });
});
