/** The jail: every escape attempt is refused, and one account never sees another's files (invariant 7). */
import fs from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectSsh2, p, startHarness, statusOf, type Harness } from './sftp-harness.js';
import { HostedSpaces, normalizeSpacePath } from '../../src/spaces/index.js';

const { STATUS_CODE } = ssh2.utils.sftp;

describe('jail', () => {
  let h: Harness;
  let a: Awaited<ReturnType<typeof connectSsh2>>;

  beforeAll(async () => {
    h = await startHarness([
      { username: 'alice', accountId: 'acme', password: 'pa' },
      { username: 'bob', accountId: 'globex', password: 'pb' },
    ]);
    // bob's secret, and a file outside every space
    await h.spaces.ensureAccount('globex');
    await fs.writeFile(h.spaces.resolve('globex', '/import/secret.csv'), 'globex secret');
    await fs.writeFile(path.join(h.dir, 'outside.txt'), 'outside');
    a = await connectSsh2(h.port, 'alice', 'pa');
    // Symlinks planted on disk by someone with shell access (SFTP cannot create them).
    const acme = h.spaces.accountRoot('acme');
    await fs.symlink(h.spaces.accountRoot('globex'), path.join(acme, 'import', 'to-globex'));
    await fs.symlink(path.join(h.dir, 'outside.txt'), path.join(acme, 'import', 'out.txt'));
    await fs.symlink('/etc', path.join(acme, 'etc'));
  });
  afterAll(async () => {
    a?.client.end();
    await h?.stop();
  });

  it('shows the account space as /', async () => {
    const names = (await p.readdir(a.sftp, '/')).map((e) => e.filename).sort();
    expect(names).toEqual(['export', 'import', 'import_zip', 'sms']); // planted symlink `etc` is hidden
    const real = await new Promise<string>((res, rej) =>
      a.sftp.realpath('.', (e, r) => (e ? rej(e) : res(r))),
    );
    expect(real).toBe('/');
  });

  it.each([
    ['.. above the root', '/../outside.txt'],
    ['relative ..', '../../outside.txt'],
    ['.. inside a folder name chain', '/import/../../globex/import/secret.csv'],
    ['another account by its disk name', '/../globex/import/secret.csv'],
    ['NUL byte', '/import/a\u0000.csv'],
    ['control character', '/import/a\u001b[2J.csv'],
    ['right-to-left override', '/import/invoice\u202egpj.csv'],
    ['zero-width space', '/import/a\u200b.csv'],
    ['backslash', '/import/..\\..\\outside.txt'],
    ['over-long name', `/import/${'x'.repeat(300)}`],
    ['symlink to another account', '/import/to-globex/import/secret.csv'],
    ['symlink to a file outside', '/import/out.txt'],
    ['symlink to /etc', '/etc/passwd'],
  ])('refuses %s', async (_what, target) => {
    expect(await statusOf(p.readFile(a.sftp, target))).toBe(STATUS_CODE.PERMISSION_DENIED);
    expect(await statusOf(p.writeFile(a.sftp, target, Buffer.from('x')))).toBe(STATUS_CODE.PERMISSION_DENIED);
  });

  it('refuses to create symlinks, and to rename or write through a planted one', async () => {
    expect(await statusOf(p.symlink(a.sftp, '/etc/passwd', '/import/pw'))).toBe(
      STATUS_CODE.PERMISSION_DENIED,
    );
    expect(await statusOf(p.rename(a.sftp, '/import/to-globex/import/secret.csv', '/import/mine.csv'))).toBe(
      STATUS_CODE.PERMISSION_DENIED,
    );
    expect(await statusOf(p.mkdir(a.sftp, '/etc/x'))).toBe(STATUS_CODE.PERMISSION_DENIED);
    expect(await fs.readFile(path.join(h.dir, 'outside.txt'), 'utf8')).toBe('outside');
  });

  it('refuses removing or renaming the standard folders', async () => {
    const rmdir = new Promise<void>((res, rej) => a.sftp.rmdir('/sms', (e) => (e ? rej(e) : res())));
    expect(await statusOf(rmdir)).toBe(STATUS_CODE.PERMISSION_DENIED);
    expect(await statusOf(p.rename(a.sftp, '/import', '/imp'))).toBe(STATUS_CODE.PERMISSION_DENIED);
  });

  it('keeps accounts apart: same path, different files', async () => {
    await p.writeFile(a.sftp, '/import/secret.csv', Buffer.from('acme data'));
    const b = await connectSsh2(h.port, 'bob', 'pb');
    expect((await p.readFile(b.sftp, '/import/secret.csv')).toString()).toBe('globex secret');
    expect((await p.readFile(a.sftp, '/import/secret.csv')).toString()).toBe('acme data');
    b.client.end();
    await h.ready.waitFor(1);
    expect(h.ready.events.map((e) => [e.accountId, e.path])).toEqual([['acme', '/import/secret.csv']]);
  });

  it('normalises names (NFC) and refuses account ids that are not folder names', () => {
    expect(normalizeSpacePath('import//./caf\u0065\u0301.csv')).toBe('/import/caf\u00e9.csv');
    const spaces = new HostedSpaces(h.dir);
    for (const bad of ['..', '../x', 'a/b', '', '.hidden']) expect(() => spaces.accountRoot(bad)).toThrow();
  });
});
