/** OpenSSH `sftp` in batch mode against the real server: the everyday commands customers' scripts use. */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSftp, startHarness, type Harness } from './sftp-harness.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('OpenSSH sftp client', () => {
  let h: Harness;
  let keyFile: string;
  let local: string;

  beforeAll(async () => {
    const tmp = await fs.mkdtemp(path.join((await import('node:os')).tmpdir(), 'ds-sftp-key-'));
    keyFile = path.join(tmp, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test@ci', '-f', keyFile]);
    const pub = await fs.readFile(`${keyFile}.pub`, 'utf8');
    h = await startHarness([
      { username: 'demo', accountId: 'acme', password: "s3cret pass'word" },
      { username: 'keyuser', accountId: 'acme', authorizedKeys: `# ci key\n${pub}` },
    ]);
    local = path.join(h.dir, 'local');
    await fs.mkdir(local);
  });
  afterAll(() => h?.stop());

  it('logs in with a password and does put, ls -l, get, rename, rm, mkdir, rmdir', async () => {
    const data = Buffer.from('email;name\na@example.com;A\n'.repeat(5000));
    await fs.writeFile(path.join(local, 'list.csv'), data);
    const r = await runSftp(
      h,
      'demo',
      [
        'ls /',
        'cd /import',
        'put list.csv',
        'ls -l',
        'get list.csv back.csv',
        'rename list.csv renamed.csv',
        'mkdir sub',
        'ls -l /import',
        'rmdir sub',
        'rm renamed.csv',
        'ls /import',
      ],
      { password: "s3cret pass'word", cwd: local },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/export\s+\/import\s+\/import_zip\s+\/sms/); // the four folders exist
    expect(r.stdout).toMatch(/-rw-r-----\s+1 demo\s+acme\s+135000 \w{3} [ \d]\d \d\d:\d\d list\.csv/);
    expect(r.stdout).toMatch(/drwxr-x---\s+2 demo\s+acme .* sub/);
    expect(sha(await fs.readFile(path.join(local, 'back.csv')))).toBe(sha(data));
    // put fired once, for the upload; the rename of a complete file fired for its new name.
    await h.ready.waitFor(2);
    expect(h.ready.events.map((e) => [e.accountId, e.path, e.size, e.sha256])).toEqual([
      ['acme', '/import/list.csv', data.length, sha(data)],
      ['acme', '/import/renamed.csv', data.length, sha(data)],
    ]);
    await expect(fs.readdir(h.spaces.resolve('acme', '/import'))).resolves.toEqual([]);
  });

  it('logs in with a public key', async () => {
    const r = await runSftp(h, 'keyuser', ['pwd', 'ls /'], { keyFile });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Remote working directory: /');
  });

  it('refuses a wrong password', async () => {
    const r = await runSftp(h, 'demo', ['ls /'], { password: 'wrong' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
  });

  it('resumes an interrupted upload with reput and fires once, with the full file', async () => {
    const full = Buffer.alloc(3 * 1024 * 1024 + 123);
    for (let i = 0; i < full.length; i++) full[i] = (i * 31) & 0xff;
    await fs.writeFile(path.join(local, 'big.csv'), full);
    // What a cut upload leaves behind: the first part of the file, and no event.
    await fs.writeFile(h.spaces.resolve('acme', '/import/big.csv'), full.subarray(0, 1024 * 1024));
    const before = h.ready.events.length;
    const r = await runSftp(h, 'demo', ['cd /import', 'reput big.csv'], {
      password: "s3cret pass'word",
      cwd: local,
    });
    expect(r.code).toBe(0);
    await h.ready.waitFor(before + 1);
    const ev = h.ready.events[before]!;
    expect(ev.path).toBe('/import/big.csv');
    expect(ev.size).toBe(full.length);
    expect(ev.sha256).toBe(sha(full));
  });

  it('replaces with rename when the client uses posix-rename, and df works (statvfs)', async () => {
    await fs.writeFile(path.join(local, 'a.csv'), 'a\n');
    const r = await runSftp(
      h,
      'demo',
      ['cd /export', 'put a.csv a.csv', 'put a.csv b.csv', 'rename a.csv b.csv', 'ls /export', 'df -h /'],
      { password: "s3cret pass'word", cwd: local },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/export\/b\.csv/);
    expect(r.stdout).not.toMatch(/\/export\/a\.csv/);
    expect(r.stdout).toMatch(/Size\s+Used\s+Avail/);
  });
});
