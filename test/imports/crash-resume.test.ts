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
import { insertJob, type Store } from '../../src/store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { seedAccount, withInstance } from './helpers.js';

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

function generate(file: string, ROWS: number): void {
  const out = fs.openSync(file, 'w');
  const lines: string[] = ['111;444;1;2;3;4;5;6;7;8'];
  for (let i = 0; i < ROWS; i++) {
    // 1% invalid emails (rejected rows), 1% repeats of an earlier row's keys (duplicates: row i − 5003 is a
    // plain row, where i − 5000 was itself a repeat row and so never a duplicate), the rest unique.
    const n = i % 100 === 7 ? i - 5003 : i;
    const email = i % 100 === 3 ? `bad-${i}` : `user${n}@example.com`;
    const mobile = i % 3 === 0 ? `+3934${String(10_000_000 + n)}` : '';
    lines.push(`${email};${mobile};first${i};last${i};city${i % 50};c;d;e;f;g${i}`);
    if (lines.length >= 10_000) {
      fs.writeSync(out, lines.join('\n') + '\n');
      lines.length = 0;
    }
  }
  fs.writeSync(out, lines.join('\n') + '\n');
  fs.closeSync(out);
}

async function snapshot(store: Store) {
  const recipients = await store.db
    .selectFrom('recipients')
    .select(['email', 'mobile', 'f1', 'f2', 'f3', 'f8'])
    .orderBy('email')
    .orderBy('mobile')
    .execute();
  const subs = await store.db
    .selectFrom('subscriptions')
    .innerJoin('recipients', 'recipients.id', 'subscriptions.recipient_id')
    .select(['email', 'mobile', 'list_id', 'channel', 'status'])
    .orderBy('email')
    .orderBy('mobile')
    .orderBy('channel')
    .execute();
  const members = await store.db
    .selectFrom('group_members')
    .innerJoin('recipients', 'recipients.id', 'group_members.recipient_id')
    .select(['email', 'mobile', 'group_id'])
    .orderBy('email')
    .orderBy('mobile')
    .execute();
  return { recipients, subs, members };
}

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
    generate(file, rows);
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
    expect(await snapshot(crashed)).toEqual(await snapshot(clean));
    expect(fs.readFileSync(rejected, 'utf8')).toBe(fs.readFileSync(cleanRejected, 'utf8'));
  });
});
