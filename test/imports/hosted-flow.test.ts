/**
 * The hosted flow end to end: OpenSSH `sftp` uploads into the real SFTP server; the "file ready" event starts the
 * import; the customer finds the input, `.result.json` and `.rejected.csv` in `/import/done/` (or `failed/`).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostedImports, type HostedImports } from '../../src/imports/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { runSftp, startHarness, type Harness } from '../sftp/sftp-harness.js';
import { seedAccount, withInstance } from './helpers.js';

describe.each(DIALECTS)('hosted flow through SFTP (%s)', (dialect) => {
  let store: TestStore;
  let h: Harness;
  let hosted: HostedImports;
  let keyFile: string;
  const local = (name: string, content: string | Buffer) => {
    const p = path.join(h.dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  const space = (p: string) => h.spaces.resolve('acme', p);
  const upload = async (localFile: string, remote: string) => {
    const before = h.ready.events.length;
    const r = await runSftp(h, 'acme', [`put ${localFile} ${remote}`], { keyFile });
    expect(r.code, r.stderr).toBe(0);
    await h.ready.waitFor(before + 1);
    await hosted.idle();
  };
  const jobs = () => store.db.selectFrom('jobs').selectAll().orderBy('id').execute();

  beforeAll(async () => {
    store = await freshStore(dialect);
    await seedAccount(store);
    await withInstance(store, { id: 'crm', fileMatch: { glob: '*.csv' }, destination: { listId: 1 } });
    const tmp = fs.mkdtempSync(path.join(store.dir, 'keys-'));
    keyFile = path.join(tmp, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test@ci', '-f', keyFile]);
    h = await startHarness([
      { username: 'acme', accountId: 'acme', authorizedKeys: fs.readFileSync(`${keyFile}.pub`, 'utf8') },
    ]);
    await h.spaces.ensureAccount('acme');
    hosted = startHostedImports({
      store,
      spaces: h.spaces,
      bus: h.bus,
      workDir: path.join(h.dataDir, 'work', 'imports'),
    });
  });
  afterAll(async () => {
    await hosted?.stop();
    await h?.stop();
    await store?.cleanup();
    if (h) fs.rmSync(h.dir, { recursive: true, force: true });
  });

  it('imports an uploaded file and returns done/ result files', async () => {
    await upload(local('crm.csv', '111;1\nann@example.com;Ann\nnot-an-email;Bob\n'), '/import/crm.csv');
    const [job] = await jobs();
    expect(job).toMatchObject({ status: 'partial', instance_id: 'crm', trigger: 'upload' });
    expect(fs.existsSync(space('/import/crm.csv'))).toBe(false);
    const base = `/import/done/${job!.id}_crm.csv`;
    expect(fs.readFileSync(space(base), 'utf8')).toContain('ann@example.com');
    const result = JSON.parse(fs.readFileSync(space(`${base}.result.json`), 'utf8'));
    expect(result).toMatchObject({
      status: 'partial',
      counters: { processed: 2, valid: 1, rejected: 1, created: 1 },
    });
    expect(result.resultFiles.rejected).toBe(`${base}.rejected.csv`);
    expect(fs.readFileSync(space(`${base}.rejected.csv`), 'utf8')).toBe(
      '111;1;_line;_code;_reason\nnot-an-email;Bob;3;DS_EMAIL_INVALID;"""not-an-email"" is not a valid email address"\n',
    );
    // The customer sees the result files over SFTP too.
    const ls = await runSftp(h, 'acme', ['ls /import/done'], { keyFile });
    expect(ls.stdout).toContain(`${job!.id}_crm.csv.result.json`);
    const r = await store.db.selectFrom('recipients').select('email').execute();
    expect(r.map((x) => x.email)).toEqual(['ann@example.com']);
  });

  it('the same content again is skipped with a reason', async () => {
    await upload(local('again.csv', '111;1\nann@example.com;Ann\nnot-an-email;Bob\n'), '/import/again.csv');
    const job = (await jobs()).at(-1)!;
    expect(job).toMatchObject({ status: 'skipped', error_code: 'DS_IMPORT_ALREADY_DONE' });
    const result = JSON.parse(fs.readFileSync(space(`/import/done/${job.id}_again.csv.result.json`), 'utf8'));
    expect(result.status).toBe('skipped');
  });

  it('a file-level error lands in failed/', async () => {
    await upload(local('bad.csv', '111;77\nx@example.com;1\n'), '/import/bad.csv');
    const job = (await jobs()).at(-1)!;
    expect(job).toMatchObject({ status: 'failed', error_code: 'DS_IMPORT_HEADER_INVALID' });
    expect(fs.existsSync(space(`/import/failed/${job.id}_bad.csv`))).toBe(true);
    expect(fs.existsSync(space(`/import/failed/${job.id}_bad.csv.result.json`))).toBe(true);
  });

  it('a file matching no instance stays where it is and is reported as a skipped job', async () => {
    await upload(local('notes.txt', 'hello'), '/import/notes.txt');
    const job = (await jobs()).at(-1)!;
    expect(job).toMatchObject({ status: 'skipped', error_code: 'DS_IMPORT_NO_INSTANCE', instance_id: null });
    expect(fs.existsSync(space('/import/notes.txt'))).toBe(true);
  });
});
