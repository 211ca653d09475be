/**
 * Several real datasync processes on one PostgreSQL (issue #5 "Tests"): each node is a child process running
 * the real worker code (test/jobs/worker-child.ts) against a per-test database and a shared data directory.
 *
 * 1. Two workers; the one holding an import is SIGKILLed mid-way (seen by its checkpoint advancing). The other
 *    takes the job over once the lease runs out (10 s lease, sent by the test like an upload's message; the
 *    heartbeat is a third of it) and resumes from the checkpoint: the job completes once, with one set of
 *    result files, and the recipients equal a clean run of the same file.
 * 2. Three nodes (scheduler+worker, scheduler+worker, worker): a schedule "every minute" over three minutes is
 *    exactly three runs. Test-only time: the nodes share a fast clock (6× real time; see worker-child.ts), so
 *    the three minutes take 30 s; exactly-once comes from the real mechanism (the scheduler's slot state and
 *    pg-boss's primary key on the slot's dedupe id), the test only counts.
 * Robust on a loaded 2-core machine: every wait polls with a generous deadline; no sleep is an assertion.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { importFile } from '../../src/imports/index.js';
import { PgBossJobQueue, dedupeUuid, queueOf } from '../../src/jobs/index.js';
import {
  createAccount,
  findJob,
  insertJob,
  newJobId,
  openStore,
  upsertInstance,
  type Store,
} from '../../src/store/index.js';
import { DATABASE_URL, freshStore, type TestStore } from '../helpers/store.js';
import { generateImportFile, importSnapshot, seedAccount, withInstance } from '../imports/helpers.js';
import { createTestDatabase, type TestDatabase } from './pg-database.js';

const CHILD = path.resolve(import.meta.dirname, 'worker-child.ts');
const ROWS = Number(process.env.DS_MULTI_ROWS ?? 40_000);

/** A node: a child process, its stdout lines, and waits on them. */
class Node {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private out = '';
  private err = '';
  private waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    env: Record<string, string>,
  ) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stdout.on('data', (d: Buffer) => {
      this.out += d.toString();
      for (const w of this.waiters) w();
    });
    this.proc.stderr.on('data', (d: Buffer) => (this.err = (this.err + d.toString()).slice(-20_000)));
    this.exited = new Promise((resolve) =>
      this.proc.on('exit', (code, signal) => {
        for (const w of this.waiters) w();
        resolve({ code, signal });
      }),
    );
  }

  /** Resolves the first match of `re` in stdout; rejects when the node exits first or after `ms`. */
  waitFor(re: RegExp, ms: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(this.out);
        if (m) return done(() => resolve(m));
        if (this.proc.exitCode !== null || this.proc.signalCode !== null)
          done(() => reject(new Error(`${this.name} exited before ${re}; stderr:\n${this.err}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`${this.name}: no ${re} after ${ms} ms; stderr:\n${this.err}`))),
        ms,
      );
      const done = (f: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }

  send(line: string): void {
    this.proc.stdin.write(line + '\n');
  }

  /** SIGTERM (graceful) and wait; SIGKILL if it does not stop in time. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 60_000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Polls `fn` until it returns a non-null value; throws after `ms` with `what`. */
async function until<T>(what: string, ms: number, fn: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!DATABASE_URL)('several datasync processes on one PostgreSQL', () => {
  const nodes: Node[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function sharedEnv(): Promise<{ db: TestDatabase; dir: string; dataDir: string; store: Store }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-multi-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    const db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const store = await openStore({ database: db.url, dataDir });
    cleanups.push(() => store.close());
    return { db, dir, dataDir, store };
  }

  it(
    'a worker killed mid-import: the other worker takes the job over after its lease and completes it once',
    { timeout: 600_000 },
    async () => {
      const { db, dir, dataDir, store } = await sharedEnv();
      const file = path.join(dir, 'big.csv');
      generateImportFile(file, ROWS);

      // The reference: a clean run of the same file on a fresh store.
      const clean: TestStore = await freshStore('postgres');
      cleanups.push(() => clean.cleanup());
      for (const s of [clean, store]) {
        const { groupA } = await seedAccount(s);
        await withInstance(s, { destination: { listId: 1, groupId: groupA } });
      }
      const cleanRejected = path.join(dir, 'clean.rejected.csv');
      const ref = await importFile(clean, { file, instanceId: 'inst', rejectedCsvPath: cleanRejected });
      expect(ref.status).toBe('partial');

      const env = { DS_CHILD_DATABASE: db.url, DS_CHILD_DATA_DIR: dataDir, DS_CHILD_MODE: 'roles' };
      const a = new Node('worker A', env);
      const b = new Node('worker B', env);
      nodes.push(a, b);
      const ids = new Map<string, Node>();
      for (const n of [a, b]) ids.set((await n.waitFor(/^READY (\S+)$/m, 120_000))[1]!, n);

      // What the SFTP role does with an upload: the file in the work area, the record, the queue message.
      const jobId = newJobId();
      const workFile = path.join(dataDir, 'work', 'imports', 'acme', jobId, 'big.csv');
      fs.mkdirSync(path.dirname(workFile), { recursive: true });
      fs.copyFileSync(file, workFile);
      await insertJob(store.db, {
        id: jobId,
        accountId: 'acme',
        instanceId: 'inst',
        kind: 'import',
        trigger: 'upload',
        inputName: 'big.csv',
        inputPath: workFile,
      });
      const queue = new PgBossJobQueue({ connectionString: db.url, supervise: false });
      cleanups.push(() => queue.stop());
      await queue.start();
      const queueJobId = await queue.send(
        queueOf('import'),
        { jobId, accountId: 'acme', instanceId: null, kind: 'import', trigger: 'upload' },
        {
          group: 'account:acme',
          dedupeKey: `import:${jobId}`,
          leaseSeconds: 10,
          retryDelaySeconds: 1,
          retryBackoff: false,
        },
      );
      expect(queueJobId).not.toBeNull();

      // Kill the holder once at least one batch is committed, well before the end.
      const atKill = await until('the import to commit a batch', 300_000, async () => {
        const j = await store.db
          .selectFrom('jobs')
          .select(['status', 'lease_owner', 'checkpoint_json'])
          .where('id', '=', jobId)
          .executeTakeFirstOrThrow();
        if (j.status !== 'running' && j.status !== 'queued')
          throw new Error(`the import ended (${j.status}) before it could be killed; raise DS_MULTI_ROWS`);
        const cp = j.checkpoint_json ? (JSON.parse(j.checkpoint_json) as { nextItem?: number }) : null;
        const next = cp?.nextItem ?? 0;
        return j.status === 'running' && j.lease_owner && next > 0 ? { next, owner: j.lease_owner } : null;
      });
      const holder = ids.get(atKill.owner);
      expect(holder, `lease owner ${atKill.owner} is one of the two workers`).toBeDefined();
      holder!.proc.kill('SIGKILL');
      expect((await holder!.exited).signal).toBe('SIGKILL');
      const survivor = holder === a ? b : a;
      expect(atKill.next).toBeLessThan(ROWS);

      // Ended for the worker too: the import sets the status, then the worker files the results and lets go.
      const done = await until('the job to end', 400_000, async () => {
        const j = (await findJob(store.db, jobId))!;
        const q = await queue.getJob(queueOf('import'), queueJobId!);
        return q?.state === 'completed' || q?.state === 'failed' ? j : null;
      });
      expect(survivor.proc.exitCode).toBeNull();
      expect(done.status).toBe('partial');
      expect(done.counters).toEqual(ref.counters);
      expect(done.inputPath).toBe(`/import/done/${jobId}_big.csv`);

      // Completed once: one record, one queue job that ran twice (the killed attempt and the takeover).
      expect(await store.db.selectFrom('jobs').select('id').execute()).toEqual([{ id: jobId }]);
      const qj = await queue.getJob(queueOf('import'), queueJobId!);
      expect(qj).toMatchObject({ state: 'completed', attempts: 2 });
      const doneDir = path.join(dataDir, 'spaces', 'acme', 'import', 'done');
      expect(fs.readdirSync(doneDir).sort()).toEqual([
        `${jobId}_big.csv`,
        `${jobId}_big.csv.rejected.csv`,
        `${jobId}_big.csv.result.json`,
      ]);
      expect(fs.existsSync(path.join(dataDir, 'spaces', 'acme', 'import', 'failed'))).toBe(false);
      expect(fs.existsSync(path.dirname(workFile))).toBe(false);
      const result = JSON.parse(fs.readFileSync(path.join(doneDir, `${jobId}_big.csv.result.json`), 'utf8'));
      expect(result).toMatchObject({ status: 'partial', counters: ref.counters });

      // The data equals the clean run's, and so do the rejected rows.
      expect(await importSnapshot(store)).toEqual(await importSnapshot(clean));
      expect(fs.readFileSync(path.join(doneDir, `${jobId}_big.csv.rejected.csv`), 'utf8')).toBe(
        fs.readFileSync(cleanRejected, 'utf8'),
      );
    },
  );

  it(
    'three nodes, two schedulers: "every minute" for three minutes is exactly three runs',
    { timeout: 600_000 },
    async () => {
      const { db, dir, dataDir, store } = await sharedEnv();
      await createAccount(store.db, { id: 'acme', name: 'Acme' });
      await upsertInstance(store.db, {
        id: 'nightly',
        accountId: 'acme',
        kind: 'export',
        enabled: true,
        definition: { schedule: { cron: '* * * * *', timeZone: 'UTC', catchUp: 'once' } },
      });
      const runs = path.join(dir, 'runs.log');
      const T0 = '2026-03-01T10:00:30.000Z';
      const END = '2026-03-01T10:03:30.000Z';
      const env = {
        DS_CHILD_DATABASE: db.url,
        DS_CHILD_DATA_DIR: dataDir,
        DS_CHILD_MODE: 'schedule',
        DS_CHILD_RUNS: runs,
        DS_CLOCK_T0: T0,
        DS_CLOCK_END: END,
        DS_CLOCK_SPEED: '6',
      };
      const n1 = new Node('scheduler+worker 1', { ...env, DS_CHILD_ROLES: 'scheduler,worker' });
      const n2 = new Node('scheduler+worker 2', { ...env, DS_CHILD_ROLES: 'scheduler,worker' });
      const n3 = new Node('worker 3', { ...env, DS_CHILD_ROLES: 'worker' });
      nodes.push(n1, n2, n3);
      for (const n of nodes) await n.waitFor(/^READY /m, 120_000);
      // The clocks start together, and only now: slow start-ups under load cannot eat into the window.
      const go = Date.now();
      for (const n of nodes) n.send(`GO ${go}`);
      for (const n of [n1, n2]) await n.waitFor(/^END$/m, 300_000);

      const scheduled = () =>
        store.db
          .selectFrom('jobs')
          .selectAll()
          .where('trigger', '=', 'schedule')
          .where('instance_id', '=', 'nightly')
          .execute();
      const ended = await until('the scheduled runs to end', 120_000, async () => {
        const rows = await scheduled();
        return rows.length > 0 && rows.every((r) => r.status === 'succeeded') ? rows : null;
      });
      expect(ended.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      const lines = fs.readFileSync(runs, 'utf8').trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines.map((l) => l.split(' ')[0]).sort()).toEqual(ended.map((r) => r.id).sort());

      // One queue job per slot: 10:01, 10:02, 10:03 (pg-boss ids are derived from the slots' dedupe keys).
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const q = await c.query<{ id: string }>(
          `select id from pgboss.job where name = $1 union all select id from pgboss.archive where name = $1`,
          [queueOf('export')],
        );
        const slots = ['10:01', '10:02', '10:03'].map((t) => `2026-03-01T${t}:00.000Z`);
        expect(q.rows.map((r) => r.id).sort()).toEqual(
          slots.map((s) => dedupeUuid(queueOf('export'), `schedule:nightly:${s}`)).sort(),
        );
      } finally {
        await c.end();
      }
      const state = await store.db.selectFrom('job_schedules').select('last_slot').execute();
      expect(state).toEqual([{ last_slot: '2026-03-01T10:03:00.000Z' }]);
    },
  );
});
