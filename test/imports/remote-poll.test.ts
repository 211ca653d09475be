/**
 * Scheduled import from the customer's own SFTP server, against a real OpenSSH sshd: only complete files are
 * taken (stable size/mtime, or a trigger file), each becomes a child job whose data lands in the store and whose
 * result files land in the hosted done/ or failed/; the remote file is deleted or moved only after success; a
 * wrong host key fails the run without a retry, an unreachable server is retried.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { UnrecoverableJobError } from '../../src/errors.js';
import { silentLogger } from '../../src/imports/import-job.service.js';
import { pollRemoteImport, type RemotePollDeps } from '../../src/imports/index.js';
import { JobWorkers, enqueueJob, waitForJob } from '../../src/jobs/index.js';
import { HostedSpaces } from '../../src/spaces/index.js';
import { addList, findJob, insertJob, type Store } from '../../src/store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { openJobsEnv, type JobsEnv } from '../jobs/jobs-harness.js';
import { HAVE_SSHD, startSshd, type SshdHandle } from '../jobs/sshd-harness.js';
import { recipients, seedAccount, withInstance } from './helpers.js';

const WRONG_FINGERPRINT = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

function remoteBlock(sshd: SshdHandle, folder: string, extra: Record<string, unknown> = {}) {
  return {
    host: '127.0.0.1',
    port: sshd.port,
    username: sshd.username,
    privateKeyFile: path.join(sshd.dir, 'user_key'),
    hostKeyFingerprint: sshd.hostKeyFingerprint,
    folder,
    ...extra,
  };
}

async function scheduledJob(store: Store, instanceId: string): Promise<string> {
  const job = await insertJob(store.db, {
    accountId: 'acme',
    instanceId,
    kind: 'import',
    trigger: 'schedule',
  });
  return job.id;
}

describe.skipIf(!HAVE_SSHD).each(DIALECTS)('scheduled import from a remote SFTP server (%s)', (dialect) => {
  let sshd: SshdHandle;
  let store: TestStore;
  let deps: RemotePollDeps;
  let spaces: HostedSpaces;
  let remoteDir: string;
  let n = 0;
  const remote = (name: string) => path.join(remoteDir, name);
  const hosted = (p: string) => spaces.resolve('acme', p);

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  beforeEach(async () => {
    store = await freshStore(dialect);
    await seedAccount(store);
    spaces = new HostedSpaces(path.join(store.dir, 'spaces'));
    await spaces.ensureAccount('acme');
    // A folder of its own per test on the one server (absolute remote path: the test user has no chroot).
    remoteDir = path.join(sshd.home, `t${++n}`);
    fs.mkdirSync(remoteDir);
    deps = {
      store,
      spaces,
      logger: silentLogger,
      clock: new ManualClock('2026-03-02T03:00:00Z'),
      workDir: path.join(store.dir, 'work', 'imports'),
    };
  });
  afterEach(async () => {
    await store?.cleanup();
  });

  it('stable mode: imports the two complete files as child jobs, deletes them, leaves the growing one', async () => {
    await withInstance(store, {
      id: 'rome-import',
      fileMatch: { glob: 'contacts_*.csv' },
      schedule: { cron: '0 4 * * *' },
      remote: remoteBlock(sshd, remoteDir),
    });
    fs.writeFileSync(remote('contacts_b.csv'), '111;1\nbob@example.com;Bob\n');
    fs.writeFileSync(remote('contacts_a.csv'), '111;1\nann@example.com;Ann\nnot-an-email;X\n');
    fs.writeFileSync(remote('contacts_c.csv'), '111;1\ncarl@example.com;Carl\n');
    fs.writeFileSync(remote('notes.txt'), 'not matched');
    const jobId = await scheduledJob(store, 'rome-import');
    let looks = 0;
    const r = await pollRemoteImport(
      {
        ...deps,
        // The customer is still writing contacts_c.csv between the two looks.
        betweenLooks: async () => {
          looks++;
          fs.appendFileSync(remote('contacts_c.csv'), 'dan@example.com;Dan\n');
        },
      },
      jobId,
    );
    expect(looks).toBe(1);
    expect(r).toMatchObject({
      status: 'succeeded',
      counters: { files: 2, imported: 2, failed: 0, skipped: 0 },
    });
    expect(r.result.jobs).toHaveLength(2);
    const [a, b] = await Promise.all(r.result.jobs.map((id) => findJob(store.db, id)));
    // Name order: contacts_a before contacts_b.
    expect(a).toMatchObject({ trigger: 'poll', inputName: 'contacts_a.csv', status: 'partial' });
    expect(b).toMatchObject({ trigger: 'poll', inputName: 'contacts_b.csv', status: 'succeeded' });
    expect(a!.inputSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(a!.inputPath).toBe(`/import/done/${a!.id}_contacts_a.csv`);
    expect(fs.existsSync(hosted(`/import/done/${a!.id}_contacts_a.csv.result.json`))).toBe(true);
    expect(fs.existsSync(hosted(`/import/done/${a!.id}_contacts_a.csv.rejected.csv`))).toBe(true);
    expect((await recipients(store)).map((x) => x.email).sort()).toEqual([
      'ann@example.com',
      'bob@example.com',
    ]);
    expect(fs.readdirSync(remoteDir).sort()).toEqual(['contacts_c.csv', 'notes.txt']);
    // The scheduled job's own record.
    expect(await findJob(store.db, jobId)).toMatchObject({
      status: 'succeeded',
      counters: { files: 2, imported: 2, failed: 0 },
      result: { jobs: r.result.jobs },
    });
    // The work area is empty again.
    expect(fs.readdirSync(path.join(deps.workDir, 'acme'))).toEqual([]);
  });

  it('trigger mode: takes only files with a .done/.ok companion, moves them and removes the trigger', async () => {
    await withInstance(store, {
      id: 'trig',
      fileMatch: { glob: '*.csv' },
      schedule: { cron: '0 4 * * *', timeZone: 'Europe/Rome', catchUp: 'skip' },
      remote: remoteBlock(sshd, remoteDir, {
        completeness: 'trigger',
        afterImport: 'move',
        moveTo: `${remoteDir}/imported`,
      }),
    });
    fs.writeFileSync(remote('one.csv'), '111;1\none@example.com;One\n');
    fs.writeFileSync(remote('one.csv.done'), '');
    fs.writeFileSync(remote('two.csv'), '111;1\ntwo@example.com;Two\n');
    fs.writeFileSync(remote('two.csv.ok'), '');
    fs.writeFileSync(remote('three.csv'), '111;1\nthree@example.com;Three\n');
    const jobId = await scheduledJob(store, 'trig');
    const r = await pollRemoteImport(
      {
        ...deps,
        betweenLooks: () => Promise.reject(new Error('trigger mode needs no second look')),
      },
      jobId,
    );
    expect(r.counters).toMatchObject({ files: 2, imported: 2, failed: 0 });
    expect((await recipients(store)).map((x) => x.email).sort()).toEqual([
      'one@example.com',
      'two@example.com',
    ]);
    expect(fs.readdirSync(remoteDir).sort()).toEqual(['imported', 'three.csv']);
    expect(fs.readdirSync(remote('imported')).sort()).toEqual(['one.csv', 'two.csv']);
  });

  it('a failed child leaves its remote file in place; the same content again is skipped and removed', async () => {
    await withInstance(store, {
      id: 'crm',
      schedule: { cron: '0 4 * * *' },
      remote: remoteBlock(sshd, remoteDir),
    });
    fs.writeFileSync(remote('bad.csv'), '111;77\nx@example.com;1\n');
    fs.writeFileSync(remote('good.csv'), '111;1\ngood@example.com;G\n');
    const first = await pollRemoteImport(
      { ...deps, betweenLooks: async () => {} },
      await scheduledJob(store, 'crm'),
    );
    expect(first).toMatchObject({ status: 'partial', counters: { files: 2, imported: 1, failed: 1 } });
    const bad = await findJob(store.db, first.result.jobs[0]!);
    expect(bad).toMatchObject({ status: 'failed', error: { code: 'DS_IMPORT_HEADER_INVALID' } });
    expect(fs.existsSync(hosted(`/import/failed/${bad!.id}_bad.csv.result.json`))).toBe(true);
    expect(fs.readdirSync(remoteDir)).toEqual(['bad.csv']);

    // The customer drops good.csv again: already imported, so the child is skipped and the file removed.
    fs.writeFileSync(remote('good.csv'), '111;1\ngood@example.com;G\n');
    fs.rmSync(remote('bad.csv'));
    const second = await pollRemoteImport(
      { ...deps, betweenLooks: async () => {} },
      await scheduledJob(store, 'crm'),
    );
    expect(second.counters).toMatchObject({ files: 1, imported: 0, skipped: 1 });
    expect(fs.readdirSync(remoteDir)).toEqual([]);
  });

  it('a retried run settles what the crashed attempt left: resumes a downloaded file, retakes a broken download', async () => {
    await withInstance(store, {
      id: 'crm',
      schedule: { cron: '0 4 * * *' },
      remote: remoteBlock(sshd, remoteDir),
    });
    fs.writeFileSync(remote('a.csv'), '111;1\nann@example.com;Ann\n');
    fs.writeFileSync(remote('b.csv'), '111;1\nbob@example.com;Bob\n');
    const jobId = await scheduledJob(store, 'crm');
    // The earlier attempt downloaded a.csv (its child never ran) and died while downloading b.csv.
    const child = async (name: string, downloaded: boolean) => {
      const workFile = path.join(deps.workDir, 'acme', `${name}-job`, name);
      fs.mkdirSync(path.dirname(workFile), { recursive: true });
      if (downloaded) fs.copyFileSync(remote(name), workFile);
      else fs.writeFileSync(`${workFile}.part`, '111;1\n');
      await insertJob(store.db, {
        id: `${name}-job`,
        accountId: 'acme',
        instanceId: 'crm',
        kind: 'import',
        trigger: 'poll',
        inputName: name,
        inputPath: workFile,
      });
      const st = fs.statSync(remote(name));
      return {
        jobId: `${name}-job`,
        found: { path: remote(name), name, size: st.size, mtime: st.mtime },
        downloaded,
        settled: false,
      };
    };
    const files = [await child('a.csv', true), await child('b.csv', false)];
    await store.db
      .updateTable('jobs')
      .set({ checkpoint_json: JSON.stringify({ files }) })
      .where('id', '=', jobId)
      .execute();
    const r = await pollRemoteImport({ ...deps, betweenLooks: async () => {} }, jobId);
    // a.csv resumed in its own child; b.csv's broken child failed and the file was taken again as a new child.
    expect(r.result.jobs.slice(0, 2)).toEqual(['a.csv-job', 'b.csv-job']);
    expect(r.result.jobs).toHaveLength(3);
    expect(r.counters).toMatchObject({ files: 3, imported: 2, failed: 1 });
    expect(await findJob(store.db, 'a.csv-job')).toMatchObject({ status: 'succeeded' });
    expect(await findJob(store.db, 'b.csv-job')).toMatchObject({
      status: 'failed',
      error: { message: expect.stringContaining('download interrupted') },
    });
    expect(await findJob(store.db, r.result.jobs[2]!)).toMatchObject({
      inputName: 'b.csv',
      status: 'succeeded',
    });
    expect((await recipients(store)).map((x) => x.email).sort()).toEqual([
      'ann@example.com',
      'bob@example.com',
    ]);
    expect(fs.readdirSync(remoteDir)).toEqual([]);
    expect(fs.readdirSync(path.join(deps.workDir, 'acme'))).toEqual([]);
  });

  it('no complete file: the run is skipped', async () => {
    await withInstance(store, {
      id: 'crm',
      schedule: { cron: '0 4 * * *' },
      remote: remoteBlock(sshd, remoteDir),
    });
    const jobId = await scheduledJob(store, 'crm');
    const r = await pollRemoteImport(deps, jobId);
    expect(r).toEqual({
      status: 'skipped',
      counters: { files: 0, imported: 0, failed: 0, skipped: 0 },
      result: { jobs: [] },
    });
    expect(await findJob(store.db, jobId)).toMatchObject({ status: 'skipped' });
  });

  it('a wrong host key fails the run with DS_REMOTE_HOST_KEY, unrecoverable, and takes nothing', async () => {
    await withInstance(store, {
      id: 'crm',
      schedule: { cron: '0 4 * * *' },
      remote: remoteBlock(sshd, remoteDir, { hostKeyFingerprint: WRONG_FINGERPRINT }),
    });
    fs.writeFileSync(remote('good.csv'), '111;1\ngood@example.com;G\n');
    const jobId = await scheduledJob(store, 'crm');
    const err = await pollRemoteImport(deps, jobId).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableJobError);
    expect(err).toMatchObject({ code: 'DS_REMOTE_HOST_KEY' });
    const job = await findJob(store.db, jobId);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'DS_REMOTE_HOST_KEY' } });
    expect(job!.error!.message).toContain(sshd.hostKeyFingerprint);
    expect(fs.readdirSync(remoteDir)).toEqual(['good.csv']);
  });

  it('an unreadable key file is DS_REMOTE_KEY_UNREADABLE, not retried', async () => {
    await withInstance(store, {
      id: 'crm',
      schedule: { cron: '0 4 * * *' },
      remote: remoteBlock(sshd, remoteDir, { privateKeyFile: path.join(sshd.dir, 'missing_key') }),
    });
    const err = await pollRemoteImport(deps, await scheduledJob(store, 'crm')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecoverableJobError);
    expect(err).toMatchObject({ code: 'DS_REMOTE_KEY_UNREADABLE' });
  });
});

describe.skipIf(!HAVE_SSHD).each(DIALECTS)('remote poll through the jobs worker (%s)', (dialect) => {
  let sshd: SshdHandle;
  let env: JobsEnv;
  let workers: JobWorkers | undefined;
  let tmp: string;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });
  beforeEach(async () => {
    env = await openJobsEnv(dialect);
    await addList(env.store.db, { accountId: 'acme', listId: 1, name: 'Newsletter' });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-remote-poll-'));
  });
  afterEach(async () => {
    await workers?.stop(5000);
    workers = undefined;
    await env?.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const run = async (remote: ReturnType<typeof remoteBlock>) => {
    await withInstance(env.store, { id: 'crm', schedule: { cron: '0 4 * * *' }, remote });
    const spaces = new HostedSpaces(path.join(tmp, 'spaces'));
    await spaces.ensureAccount('acme');
    const deps: RemotePollDeps = {
      store: env.store,
      spaces,
      logger: silentLogger,
      clock: env.clock,
      workDir: path.join(tmp, 'work'),
      betweenLooks: async () => {},
    };
    // The same branch as the worker's import handler of `datasync serve` (src/cli/job-roles.ts).
    workers = new JobWorkers({
      db: env.store.db,
      queue: env.queue,
      handlers: {
        import: async (ctx) => {
          const r = await pollRemoteImport(deps, ctx.message.jobId, { signal: ctx.signal });
          return { status: r.status, counters: r.counters, result: r.result };
        },
      },
      pollIntervalMs: 50,
    });
    await workers.start();
    return enqueueJob(
      env.store.db,
      env.queue,
      { accountId: 'acme', instanceId: 'crm', kind: 'import', trigger: 'schedule' },
      { retryDelaySeconds: 0, retryBackoff: false, retryLimit: 1 },
    );
  };

  it('a wrong host key: failed at once, no retry', async () => {
    const job = await run(remoteBlock(sshd, sshd.home, { hostKeyFingerprint: WRONG_FINGERPRINT }));
    const done = await waitForJob(workers!, job.id, ['failed']);
    expect(done).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'DS_REMOTE_HOST_KEY' } });
  });

  it('an unreachable server: DS_REMOTE_CONNECT, retried', async () => {
    const job = await run(remoteBlock(sshd, sshd.home, { username: 'nobody-here' }));
    const [retrying, done] = await Promise.all([
      waitForJob(workers!, job.id, ['queued']),
      waitForJob(workers!, job.id, ['failed']),
    ]);
    expect(retrying).toMatchObject({ status: 'queued', error: { code: 'DS_REMOTE_CONNECT' } });
    expect(done).toMatchObject({ status: 'failed', attempts: 2, error: { code: 'DS_REMOTE_CONNECT' } });
  });
});
