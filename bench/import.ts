/**
 * Import benchmark (issue 4). Generates an N-row file (email, mobile, 8 text fields, `;`) and measures on SQLite
 * and PostgreSQL:
 *   (a) the raw limit — SQLite: a streaming parse + prepared upsert loop (recipient + its email and SMS
 *       subscriptions: the rows datasync writes) in
 *       10k-row transactions; PostgreSQL: 10k-row chunks bulk-loaded into a temp table (`unnest` of arrays, the
 *       driver-only stand-in for COPY) then `INSERT … ON CONFLICT` into recipients and subscriptions;
 *   (b) datasync's import of the same file through the import engine, fresh, and again as all-updates.
 * Prints rows/s, peak RSS, the ratio datasync/raw, and each step's CPU time.
 *
 *   node --import tsx bench/import.ts [--rows 1000000] [--only sqlite|postgres] [--ds-fresh-only]
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
  cpuMs: number;
  rssMb: number;
}

/**
 * The steps run as one esbuild bundle under plain `node`, raw and datasync alike: under `--import tsx` each child
 * carried ~150 MB of loader (esbuild service, source maps) in its peak RSS, which measured the loader, not the
 * import. Dependencies stay external; the bundle sits under node_modules/ so they resolve as usual.
 */
async function bundleSteps(): Promise<string> {
  const { build } = await import('esbuild');
  const out = path.resolve(import.meta.dirname, '../node_modules/.cache/datasync-bench/import.steps.mjs');
  await build({
    entryPoints: [path.resolve(import.meta.dirname, 'import.steps.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: out,
    logLevel: 'warning',
  });
  return out;
}

let stepsBundle = '';

function runStep(step: string, extra: string[]): StepResult {
  const r = spawnSync(process.execPath, [stepsBundle, step, ...extra], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`${step} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as StepResult;
}

function dropSchemas(db: string, targets: string[]): void {
  if (db !== 'postgres') return;
  for (const t of targets) {
    const [url, schema] = t.split('#');
    execFileSync('psql', [url!, '-qc', `drop schema if exists "${schema}" cascade`]);
  }
}

async function main(): Promise<void> {
  const rows = Number(opt('rows', '1000000'));
  const only = opt('only', '');
  // `--ds-fresh-only`: just datasync's fresh import (the 5M-row flat-memory check).
  const dsFreshOnly = args.includes('--ds-fresh-only');
  stepsBundle = await bundleSteps();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-bench-import-'));
  const fresh = path.join(dir, 'fresh.csv');
  const updates = path.join(dir, 'updates.csv');
  generateFile(fresh, rows, 1);
  if (!dsFreshOnly) generateFile(updates, rows, 2);
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
    const dsTarget =
      db === 'sqlite' ? path.join(dir, 'ds.db') : `${process.env.DATABASE_URL}#bench_ds_${process.pid}`;
    if (dsFreshOnly) {
      const ds = runStep(`ds-${db}`, [dsTarget, fresh, 'reset']);
      console.log(
        `| ${db} | datasync | ${Math.round((ds.rows * 1000) / ds.ms)} | — | ${ds.rssMb} / — | (${ds.cpuMs} ms CPU) |`,
      );
      summary.push(`${db}: datasync fresh only; peak RSS ${ds.rssMb} MB`);
      dropSchemas(db, [dsTarget]);
      continue;
    }
    const rawFresh = runStep(`raw-${db}`, [target, fresh, 'reset']);
    const rawUpd = runStep(`raw-${db}`, [target, updates, 'keep']);
    const dsFresh = runStep(`ds-${db}`, [dsTarget, fresh, 'reset']);
    const dsUpd = runStep(`ds-${db}`, [dsTarget, updates, 'keep']);
    const rate = (s: StepResult) => Math.round((s.rows * 1000) / s.ms);
    // CPU-time ratio: raw CPU / datasync CPU over the same rows (on PostgreSQL the client's share only).
    const cpuRatio = (raw: StepResult, ds: StepResult) => (raw.cpuMs / ds.cpuMs).toFixed(2);
    console.log(
      `| ${db} | raw limit | ${rate(rawFresh)} | ${rate(rawUpd)} | ${rawFresh.rssMb} / ${rawUpd.rssMb} |`,
    );
    console.log(
      `| ${db} | datasync | ${rate(dsFresh)} | ${rate(dsUpd)} | ${dsFresh.rssMb} / ${dsUpd.rssMb} |`,
    );
    summary.push(
      `${db}: ratio datasync/raw fresh ${(rate(dsFresh) / rate(rawFresh)).toFixed(2)}, updates ${(rate(dsUpd) / rate(rawUpd)).toFixed(2)}; peak RSS ${Math.max(dsFresh.rssMb, dsUpd.rssMb)} MB; client CPU ms raw/datasync fresh ${rawFresh.cpuMs}/${dsFresh.cpuMs} (${cpuRatio(rawFresh, dsFresh)}), updates ${rawUpd.cpuMs}/${dsUpd.cpuMs} (${cpuRatio(rawUpd, dsUpd)})`,
    );
    dropSchemas(db, [target, dsTarget]);
  }
  console.log('');
  for (const s of summary) console.log(`- ${s}`);
  fs.rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
