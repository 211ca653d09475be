/** SFTP users in the store (SQLite, and PostgreSQL when DATABASE_URL is set) and logins through them. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/store/index.js';
import {
  addSftpKey,
  addSftpUser,
  createSftpServer,
  createStoreUserDirectory,
  listSftpUsers,
  removeSftpKey,
  removeSftpUser,
  setSftpPassword,
} from '../../src/sftp/index.js';
import { FileReadyBus, HostedSpaces } from '../../src/spaces/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { connectSsh2, runSftp } from './sftp-harness.js';

describe.each(DIALECTS)('SFTP users in the store (%s)', (dialect) => {
  let store: TestStore;
  afterEach(() => store?.cleanup());

  it('adds, lists, rotates, adds/removes keys and removes users; never stores a clear password', async () => {
    store = await freshStore(dialect);
    await createAccount(store.db, { id: 'acme' });
    const key = path.join(store.dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ops@acme', '-f', key]);
    const pub = await fs.readFile(`${key}.pub`, 'utf8');
    const fp = execFileSync('ssh-keygen', ['-lf', `${key}.pub`], { encoding: 'utf8' }).split(' ')[1];

    const u = await addSftpUser(store, { accountId: 'acme', username: 'demo', password: 'first-pass' });
    expect(u).toMatchObject({ accountId: 'acme', username: 'demo', hasPassword: true, keys: [] });
    await expect(
      addSftpUser(store, { accountId: 'acme', username: 'demo', password: 'x' }),
    ).rejects.toMatchObject({
      code: 'DS_DUPLICATE',
    });
    await expect(
      addSftpUser(store, { accountId: 'acme', username: 'bad/name', password: 'x' }),
    ).rejects.toMatchObject({
      code: 'DS_VALIDATION',
    });
    expect(await addSftpKey(store, 'demo', pub)).toEqual([
      { algo: 'ssh-ed25519', fingerprint: fp, comment: 'ops@acme' },
    ]);
    expect(await addSftpKey(store, 'demo', pub)).toEqual([]); // idempotent

    const rows = await store.db.selectFrom('sftp_users').select('password_hash').execute();
    expect(rows[0]!.password_hash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(JSON.stringify(rows)).not.toContain('first-pass');

    const dir = createStoreUserDirectory(store);
    expect(await dir.authenticatePassword('demo', 'first-pass')).toEqual({
      accountId: 'acme',
      username: 'demo',
    });
    expect(await dir.authenticatePassword('demo', 'nope')).toBeNull();
    expect(await dir.authenticatePassword('ghost', 'first-pass')).toBeNull();
    await setSftpPassword(store, 'demo', 'second-pass');
    expect(await dir.authenticatePassword('demo', 'first-pass')).toBeNull();
    expect(await dir.authenticatePassword('demo', 'second-pass')).not.toBeNull();

    const blob = Buffer.from(pub.split(' ')[1]!, 'base64');
    expect(await dir.authenticateKey('demo', 'ssh-ed25519', blob)).toEqual({
      accountId: 'acme',
      username: 'demo',
    });
    expect((await listSftpUsers(store, 'acme')).map((x) => [x.username, x.keys.length])).toEqual([
      ['demo', 1],
    ]);
    await removeSftpKey(store, 'demo', fp!);
    expect(await dir.authenticateKey('demo', 'ssh-ed25519', blob)).toBeNull();
    await removeSftpUser(store, 'acme', 'demo');
    expect(await listSftpUsers(store, 'acme')).toEqual([]);
  });

  it('serves logins from the store (password with ssh2, key with OpenSSH)', async () => {
    store = await freshStore(dialect);
    await createAccount(store.db, { id: 'shop' });
    const key = path.join(store.dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    await addSftpUser(store, {
      accountId: 'shop',
      username: 'shopuser',
      password: 'pw',
      authorizedKeys: await fs.readFile(`${key}.pub`, 'utf8'),
    });
    const server = createSftpServer(
      { host: '127.0.0.1', port: 0, dataDir: store.dir },
      {
        spaces: new HostedSpaces(path.join(store.dir, 'spaces')),
        users: createStoreUserDirectory(store),
        bus: new FileReadyBus(),
        logger: pino({ level: 'silent' }),
      },
    );
    const { port } = await server.start();
    try {
      const { client, sftp } = await connectSsh2(port, 'shopuser', 'pw');
      const names = await new Promise<string[]>((res, rej) =>
        sftp.readdir('/', (e, l) => (e ? rej(e) : res(l.map((x) => x.filename).sort()))),
      );
      expect(names).toEqual(['export', 'import', 'import_zip', 'sms']);
      client.end();
      const r = await runSftp({ port, dir: store.dir }, 'shopuser', ['ls /import'], { keyFile: key });
      expect(r.code).toBe(0);
      await expect(connectSsh2(port, 'shopuser', 'wrong')).rejects.toThrow();
    } finally {
      await server.stop();
      await server.stop(); // idempotent
    }
  });
});
