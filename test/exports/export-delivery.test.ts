/**
 * Delivery: gzip and zip files hold the exact CSV, and an OpenSSH client on the hosted space sees the export
 * only once it is complete (invariant 5), then downloads it byte for byte.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runExport } from '../../src/exports/index.js';
import { runSftp, startHarness, type Harness } from '../sftp/sftp-harness.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { addUnsubscriptions, buildDataSet, envFor, exportSuite, logger } from './export-fixtures.js';

const EXPECTED =
  'email;idList;optout_type\r\n' +
  'anna@example.com;1;01\r\n' +
  'bob@example.com;1;2\r\n' +
  'carl@example.com;2;4\r\n';

describe.each(DIALECTS)('export delivery (%s)', (dialect) => {
  const t = exportSuite(dialect, addUnsubscriptions);

  it('gzip appends .gz; zip holds one CSV entry readable by unzip', async () => {
    const base = { type: 'unsubscribers' as const, lists: [1, 2], columns: ['listId', 'optoutType'] };
    await t.env.define({ id: 'gz', ...base, file: { compression: 'gzip' } });
    await t.env.define({ id: 'zp', ...base, file: { compression: 'zip' } });
    const gz = await t.env.run('gz');
    expect(gz.file).toBe('unsubscribers_1-2_20260311050000.csv.gz');
    expect(zlib.gunzipSync(await t.env.read(gz.file!)).toString('utf8')).toBe(EXPECTED);
    t.env.clock.advance(1000);
    const zp = await t.env.run('zp');
    expect(zp.file).toBe('unsubscribers_1-2_20260311050001.zip');
    const zipPath = path.join(t.env.exportDir, zp.file!);
    const { stdout: listing } = await promisify(execFile)('unzip', ['-l', zipPath]);
    expect(listing).toContain('unsubscribers_1-2_20260311050001.csv');
    const { stdout } = await promisify(execFile)('unzip', ['-p', zipPath], { encoding: 'buffer' });
    expect(stdout.toString('utf8')).toBe(EXPECTED);
    await promisify(execFile)('unzip', ['-tq', zipPath]); // CRC and sizes check out
  });
});

describe.each(DIALECTS)('export over the hosted SFTP space (%s)', (dialect) => {
  let store: TestStore;
  let h: Harness;
  beforeEach(async () => {
    store = await freshStore(dialect);
    await addUnsubscriptions(store.db, await buildDataSet(store.db));
    h = await startHarness([{ username: 'acme', accountId: 'acme', password: 'pw-acme-123' }]);
  });
  afterEach(async () => {
    await h.stop();
    await store.cleanup();
    await fs.rm(h.dir, { recursive: true, force: true });
  });

  it('an OpenSSH client never sees a partial file under the final name, then downloads the exact file', async () => {
    const env = envFor(store);
    await env.define({ id: 'u', type: 'unsubscribers', lists: [1, 2], columns: ['listId', 'optoutType'] });
    const auth = { password: 'pw-acme-123' };
    let during = '';
    const r = await runExport({
      store,
      spaces: h.spaces,
      instanceId: 'u',
      trigger: 'schedule',
      clock: env.clock,
      logger,
      source: { pageRows: 1 },
      onRow: async (n) => {
        if (n !== 2) return;
        // Mid-run: the file is being written under its hidden temporary name only.
        const ls = await runSftp(h, 'acme', ['ls -1a /export'], auth);
        expect(ls.code).toBe(0);
        during = ls.stdout;
      },
    });
    expect(during).toMatch(/\.unsubscribers_1-2_20260311050000\.csv\.[0-9a-z]+\.part/);
    expect(during).not.toMatch(/^\/?(export\/)?unsubscribers_1-2_20260311050000\.csv$/m);

    const local = path.join(h.dir, 'got.csv');
    const get = await runSftp(h, 'acme', [`get /export/${r.file} ${local}`, 'ls -1a /export'], auth);
    expect(get.code).toBe(0);
    expect(get.stdout).not.toContain('.part');
    expect(await fs.readFile(local, 'utf8')).toBe(EXPECTED);
  });
});
