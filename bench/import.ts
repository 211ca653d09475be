/**
 * Import benchmark (issue 4). Generates an N-row file (email, mobile, 8 text fields, `;`) and measures on SQLite
 * and PostgreSQL:
 *   (a) the raw limit — SQLite: a streaming parse + prepared upsert loop (recipient + its email and SMS
 *       subscriptions: the rows datasync writes) in
 *       10k-row transactions; PostgreSQL: 10k-row chunks bulk-loaded into a temp table (`unnest` of arrays, the
 *       driver-only stand-in for COPY) then `INSERT … ON CONFLICT` into recipients and subscriptions;
 *   (b) datasync's import of the same file through the import engine, fresh, and again as all-updates.
 * Prints rows/s, peak RSS and the ratio datasync/raw.
 *
 *   node --import tsx bench/import.ts [--rows 1000000] [--only sqlite|postgres]
 * PostgreSQL runs when DATABASE_URL is set. Each measured step runs in its own child process so that peak RSS is
 * the step's own.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};

export function generateFile(file: string, rows: number, variant: number): void {
  const fd = fs.openSync(file, 'w');
  const buf: string[] = ['111;444;1;2;3;4;5;6;7;8'];
  for (let i = 0; i < rows; i++) {
    buf.push(
      `user${i}@example.com;+3934${String(10_000_000 + i)};first${i};last${i};city${i % 97};v${variant};street ${i};zip${i % 1000};x${i % 7};note ${variant}-${i}`,
    );
    if (buf.length >= 20_000) {
      fs.writeSync(fd, buf.join('\n') + '\n');
      buf.length = 0;
    }
  }
  fs.writeSync(fd, buf.join('\n') + '\n');
  fs.closeSync(fd);
}

interface StepResult {
  rows: number;
  ms: number;
  rssMb: number;
}

function runStep(step: string, extra: string[]): StepResult {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.resolve(import.meta.dirname, 'import.steps.ts'), step, ...extra],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  if (r.status !== 0) throw new Error(`${step} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as StepResult;
}

async function main(): Promise<void> {
  const rows = Number(opt('rows', '1000000'));
  const only = opt('only', '');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-bench-import-'));
  const fresh = path.join(dir, 'fresh.csv');
  const updates = path.join(dir, 'updates.csv');
  generateFile(fresh, rows, 1);
  generateFile(updates, rows, 2);
  const mb = (fs.statSync(fresh).size / 1e6).toFixed(0);
  console.log(
    `## import — ${rows.toLocaleString('en')} rows (${mb} MB), ${new Date().toISOString().slice(0, 10)}, ${os.cpus().length}× ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
  );
  console.log('');
  console.log('| database | path | fresh rows/s | all-updates rows/s | peak RSS MB (fresh / updates) |');
  console.log('|---|---|---|---|---|');
  const dbs = ['sqlite', ...(process.env.DATABASE_URL ? ['postgres'] : [])].filter(
    (d) => !only || d === only,
  );
  const summary: string[] = [];
  for (const db of dbs) {
    const target =
      db === 'sqlite' ? path.join(dir, 'raw.db') : `${process.env.DATABASE_URL}#bench_raw_${process.pid}`;
    const rawFresh = runStep(`raw-${db}`, [target, fresh, 'reset']);
    const rawUpd = runStep(`raw-${db}`, [target, updates, 'keep']);
    const dsTarget =
      db === 'sqlite' ? path.join(dir, 'ds.db') : `${process.env.DATABASE_URL}#bench_ds_${process.pid}`;
    const dsFresh = runStep(`ds-${db}`, [dsTarget, fresh, 'reset']);
    const dsUpd = runStep(`ds-${db}`, [dsTarget, updates, 'keep']);
    const rate = (s: StepResult) => Math.round((s.rows * 1000) / s.ms);
    console.log(
      `| ${db} | raw limit | ${rate(rawFresh)} | ${rate(rawUpd)} | ${rawFresh.rssMb} / ${rawUpd.rssMb} |`,
    );
    console.log(
      `| ${db} | datasync | ${rate(dsFresh)} | ${rate(dsUpd)} | ${dsFresh.rssMb} / ${dsUpd.rssMb} |`,
    );
    summary.push(
      `${db}: ratio datasync/raw fresh ${(rate(dsFresh) / rate(rawFresh)).toFixed(2)}, updates ${(rate(dsUpd) / rate(rawUpd)).toFixed(2)}; peak RSS ${Math.max(dsFresh.rssMb, dsUpd.rssMb)} MB`,
    );
    if (db === 'postgres') {
      for (const t of [target, dsTarget]) {
        const [url, schema] = t.split('#');
        execFileSync('psql', [url!, '-qc', `drop schema if exists "${schema}" cascade`]);
      }
    }
  }
  console.log('');
  for (const s of summary) console.log(`- ${s}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
