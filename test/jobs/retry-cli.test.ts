/**
 * `datasync jobs retry` of a finished file job, through the real CLI on both dialects: the input is taken back
 * from `failed/` (into the work area for an import, the processing area for a CSV2SMS file), a new job is
 * queued, and a real worker runs it again — an import imports, a CSV2SMS file is sent through a real SMSC; a
 * file that is no longer stored is DS_JOB_INPUT_GONE and creates nothing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startJobRoles } from '../../src/cli/job-roles.js';
import { configSchema } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { FileReadyBus, HostedSpaces } from '../../src/spaces/index.js';
import { findJob, insertJob, updateJob, type JobRecord, type Store } from '../../src/store/index.js';
import { openCliWorkspace, type CliWorkspace } from '../helpers/cli.js';
import { DIALECTS } from '../helpers/store.js';
import { seedAccount, withInstance } from '../imports/helpers.js';
import { TestSmsc } from '../sms/smsc-harness.js';

const CSV = '111;1\nuser1@example.com;Anna\nuser2@example.com;Bob\nuser3@example.com;Carla\n';

describe.each(DIALECTS)('jobs retry of a finished file import (%s)', (dialect) => {
  let w: CliWorkspace;
  let dataDir: string;
  let database: string;
  let store: Store;
  beforeEach(async () => {
    w = await openCliWorkspace(dialect, { prefix: 'ds-retry-', dataSubdir: 'data' });
    ({ dataDir, database, store } = w);
    await seedAccount(store);
    await withInstance(store, { destination: { listId: 1 } });
  });
  afterEach(() => w?.close());

  const cli = (...args: string[]) => w.cli(...args);

  /** A job as the worker leaves it after a failed run: input in `/import/failed/<id>_<name>` (or `/sms/…`). */
  async function failedJob(
    trigger: 'upload' | 'poll',
    name: string,
    o: { kind?: 'import' | 'csv2sms'; content?: string } = {},
  ): Promise<JobRecord> {
    const kind = o.kind ?? 'import';
    const content = o.content ?? CSV;
    const job = await insertJob(store.db, {
      accountId: 'acme',
      instanceId: kind === 'import' ? 'inst' : null,
      kind,
      trigger,
      inputName: name,
      inputSize: content.length,
    });
    const folder = kind === 'import' ? 'import' : 'sms';
    const spacePath = `/${folder}/failed/${job.id}_${name}`;
    const disk = path.join(dataDir, 'spaces', 'acme', folder, 'failed', `${job.id}_${name}`);
    fs.mkdirSync(path.dirname(disk), { recursive: true });
    fs.writeFileSync(disk, content);
    await updateJob(store.db, job.id, {
      status: 'failed',
      input_path: spacePath,
      error_code: 'DS_DB_UNAVAILABLE',
      error_message: 'the database went away',
      ended_at: new Date().toISOString(),
    });
    return (await findJob(store.db, job.id))!;
  }

  async function waitEnded(jobId: string, ms = 120_000): Promise<JobRecord> {
    const end = Date.now() + ms;
    for (;;) {
      // The import sets the final status first; the worker then files the results and clears its lease.
      const row = await store.db
        .selectFrom('jobs')
        .select(['status', 'lease_owner'])
        .where('id', '=', jobId)
        .executeTakeFirst();
      if (row && !['queued', 'running'].includes(row.status) && row.lease_owner === null)
        return (await findJob(store.db, jobId))!;
      if (Date.now() > end) throw new Error(`job ${jobId} still ${row?.status} after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** A real worker (what `datasync worker` starts), with `config` over the test's database and data dir. */
  async function startWorker(config: Record<string, unknown> = {}) {
    return (await startJobRoles({
      config: configSchema.parse({ database, dataDir, demo: false, ...config }),
      store,
      roles: new Set(['worker']),
      spaces: new HostedSpaces(path.join(dataDir, 'spaces')),
      bus: new FileReadyBus(),
      log: createLogger('silent'),
    }))!;
  }

  it(
    'takes the file back from failed/, queues a new job, and a worker imports it',
    { timeout: 240_000 },
    async () => {
      const old = await failedJob('upload', 'list.csv');
      const r = await cli('jobs', 'retry', old.id);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const newId = /^queued job (\S+) \(retry of (\S+)\)$/m.exec(r.stdout)?.[1];
      expect(r.stdout).toContain(`(retry of ${old.id})`);
      expect(r.stdout).toContain(`copied from /import/failed/${old.id}_list.csv into the work area`);
      expect(newId).toBeTruthy();

      const queued = (await findJob(store.db, newId!))!;
      const workFile = path.join(dataDir, 'work', 'imports', 'acme', newId!, 'list.csv');
      expect(queued).toMatchObject({
        status: 'queued',
        kind: 'import',
        trigger: 'cli',
        instanceId: 'inst',
        inputName: 'list.csv',
        inputPath: workFile,
      });
      expect(fs.readFileSync(workFile, 'utf8')).toBe(CSV);
      // Copied, not moved: the old job's files stay as its history.
      expect(fs.existsSync(path.join(dataDir, 'spaces/acme/import/failed', `${old.id}_list.csv`))).toBe(true);
      expect((await findJob(store.db, old.id))!.status).toBe('failed');

      const roles = await startWorker();
      try {
        const done = await waitEnded(newId!);
        expect(done.status).toBe('succeeded');
        expect(done.counters).toMatchObject({ rejected: 0 });
        expect(done.inputPath).toBe(`/import/done/${newId}_list.csv`);
      } finally {
        await roles.stop();
      }
      const doneDir = path.join(dataDir, 'spaces/acme/import/done');
      expect(fs.readFileSync(path.join(doneDir, `${newId}_list.csv`), 'utf8')).toBe(CSV);
      expect(fs.existsSync(path.join(doneDir, `${newId}_list.csv.result.json`))).toBe(true);
      expect(fs.existsSync(path.dirname(workFile))).toBe(false);
      const emails = await store.db.selectFrom('recipients').select('email').orderBy('email').execute();
      expect(emails.map((e) => e.email)).toEqual([
        'user1@example.com',
        'user2@example.com',
        'user3@example.com',
      ]);
    },
  );

  it(
    'a file no longer in failed/ is DS_JOB_INPUT_GONE and creates no job',
    { timeout: 120_000 },
    async () => {
      const old = await failedJob('poll', 'gone.csv');
      fs.rmSync(path.join(dataDir, 'spaces/acme/import/failed', `${old.id}_gone.csv`));
      const before = await store.db.selectFrom('jobs').select('id').execute();
      const r = await cli('jobs', 'retry', old.id);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error DS_JOB_INPUT_GONE: .*no longer stored/m);
      expect(r.stderr).toContain(`/import/failed/${old.id}_gone.csv`);
      expect(await store.db.selectFrom('jobs').select('id').execute()).toEqual(before);
      expect(fs.existsSync(path.join(dataDir, 'work', 'imports', 'acme'))).toBe(false);
    },
  );
  it(
    'a CSV2SMS file that failed at intake comes back from /sms/failed/ and a worker sends it through the SMSC',
    { timeout: 240_000 },
    async () => {
      const sms = ['#ops@example.com', '#', '#I', '#MailUp', '#1', '#Retry', '#'];
      const rows = ['MOBILE NUMBER;TEXT;Field1', '393331234567;Hello [Field1];Anna', '393339876543;Hi;Bob'];
      const content = [...sms, ...rows].join('\r\n') + '\r\n';
      const old = await failedJob('upload', 'offers.csv', { kind: 'csv2sms', content });
      const r = await cli('jobs', 'retry', old.id);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`copied from /sms/failed/${old.id}_offers.csv`);
      const newId = /^queued job (\S+) \(retry of /m.exec(r.stdout)![1]!;
      const copy = new HostedSpaces(path.join(dataDir, 'spaces')).processingFile('acme', newId, 'offers.csv');
      expect(await findJob(store.db, newId)).toMatchObject({
        status: 'queued',
        kind: 'csv2sms',
        inputPath: copy,
      });

      const smsc = await new TestSmsc().start();
      const roles = await startWorker({
        sms: {
          provider: 'smpp',
          smpp: { host: '127.0.0.1', port: smsc.port, systemId: 'datasync', password: 'secret' },
        },
      });
      try {
        const done = await waitEnded(newId);
        expect(done.error).toBeNull();
        expect(done.status).toBe('succeeded');
        expect(done.inputPath).toBe(`/sms/done/${newId}_offers.csv`);
        expect(smsc.submits.map((x) => x.destination)).toEqual(['393331234567', '393339876543']);
      } finally {
        await roles.stop();
        await smsc.stop();
      }
      const smsDir = path.join(dataDir, 'spaces/acme/sms');
      expect(fs.readFileSync(path.join(smsDir, 'done', `${newId}_offers.csv`), 'utf8')).toBe(content);
      expect(fs.existsSync(path.join(smsDir, 'failed', `${old.id}_offers.csv`))).toBe(true);
      expect(fs.existsSync(copy)).toBe(false);
    },
  );
});
