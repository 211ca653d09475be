/**
 * Invariant 4: an import killed with SIGKILL at any point resumes from its last committed batch; no row is applied
 * twice and none is lost. A 200k-row import is killed at three points, resumed, and the final database (and the
 * rejected-rows file) compared with a clean run. The crashed job's duplicate counter has a tiny memory cap, so its
 * keys spill to disk and every resume rebuilds the spill file (the clean run keeps them in memory): same counters.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFile, runImportJob } from '../../src/imports/index.js';
import { insertJob } from '../../src/store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { generateImportFile, importSnapshot, seedAccount, withInstance } from './helpers.js';

/**
 * Rows per dialect. The 200k-row run passes on both (`DS_CRASH_ROWS=200000`, ~2.5 min on a loaded 2-core
 * machine); the default keeps the suite fast with the same three kill points.
 */
const CRASH_ROWS = Number(process.env.DS_CRASH_ROWS ?? 0);
const ROWS_BY_DIALECT = { sqlite: CRASH_ROWS || 100_000, postgres: CRASH_ROWS || 30_000 } as const;
/** Kill points, as shares of the rows committed. */
const KILL_AT = [0.15, 0.45, 0.8];
/** The crashed job's duplicate-counter memory: 4,096 slots (3,072 keys), the rest spills to its work folder. */
const KEY_SLOTS = 1 << 12;
let workDir = '';

function runChild(
  store: TestStore,
  jobId: string,
  rejected: string,
  killAt: number | null,
): Promise<{ killed: boolean; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.resolve(import.meta.dirname, 'crash-child.ts'),
        store.database,
        store.pgSchema ?? '-',
        jobId,
        rejected,
        workDir,
        String(KEY_SLOTS),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const all = out.match(/P (\d+)\n/g);
      const last = all ? Number(all[all.length - 1]!.slice(2)) : 0;
      if (killAt !== null && last >= killAt && child.exitCode === null) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true, out });
      else if (code === 0) resolve({ killed: false, out });
      else reject(new Error(`child exited ${code}: ${err}`));
    });
  });
}

describe.each(DIALECTS)('crash and resume (%s)', (dialect) => {
  const rows = ROWS_BY_DIALECT[dialect];
  let dir: string;
  let file: string;
  const stores: TestStore[] = [];
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-crash-'));
    file = path.join(dir, 'big.csv');
    workDir = path.join(dir, 'work');
    generateImportFile(file, rows);
  });
  afterAll(async () => {
    for (const s of stores) await s.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILL at three points, resume: same database as a clean run', { timeout: 300_000 }, async () => {
    const clean = await freshStore(dialect);
    const crashed = await freshStore(dialect);
    stores.push(clean, crashed);
    for (const s of [clean, crashed]) {
      const { groupA } = await seedAccount(s);
      await withInstance(s, { destination: { listId: 1, groupId: groupA } });
    }
    const cleanRejected = path.join(dir, 'clean.rejected.csv');
    const ref = await importFile(clean, {
      file,
      instanceId: 'inst',
      batchSize: 5000,
      rejectedCsvPath: cleanRejected,
    });
    expect(ref.status).toBe('partial');
    expect(ref.counters.rejected).toBe(rows / 100);

    const job = await insertJob(crashed.db, {
      accountId: 'acme',
      instanceId: 'inst',
      kind: 'import',
      trigger: 'cli',
      inputName: 'big.csv',
      inputPath: file,
    });
    const rejected = path.join(dir, 'crashed.rejected.csv');
    let kills = 0;
    for (const share of KILL_AT) {
      const r = await runChild(crashed, job.id, rejected, Math.round(rows * share));
      if (r.killed) kills++;
    }
    expect(kills).toBe(KILL_AT.length);
    const cp = await crashed.db
      .selectFrom('jobs')
      .select(['status', 'checkpoint_json'])
      .where('id', '=', job.id)
      .executeTakeFirstOrThrow();
    expect(cp.status).toBe('running');
    // The killed children left their spill files behind.
    expect(fs.readdirSync(workDir).length).toBeGreaterThan(0);
    const done = await runImportJob(crashed, job.id, {
      batchSize: 5000,
      rejectedCsvPath: rejected,
      workDir,
      keyMemorySlots: KEY_SLOTS,
    });
    expect(done.status).toBe('partial');
    expect(ref.counters.duplicated).toBeGreaterThan(0);
    expect(done.counters).toEqual(ref.counters);
    expect(fs.readdirSync(workDir), fs.readdirSync(workDir).join(' ') + ` pid ${process.pid}`).toEqual([]);
    expect(await importSnapshot(crashed)).toEqual(await importSnapshot(clean));
    expect(fs.readFileSync(rejected, 'utf8')).toBe(fs.readFileSync(cleanRejected, 'utf8'));
  });
});
