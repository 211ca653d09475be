/**
 * Export benchmark (issue 6). One run per dialect: builds `--subscribers` (default 1,000,000) subscribers and
 * `--events` (default 5,000,000) events (`--scale 0.05` multiplies both for a quick run), then measures, each
 * `--repeat` times (default 3, medians printed) and each in a child process of its own (so peak RSS is that
 * step's, tsx loader included):
 *   raw:      SQLite — iterate a plain join query (better-sqlite3) and write it with csv-stringify;
 *             PostgreSQL — `COPY (…) TO STDOUT` through psql into a file;
 *   datasync: `subscribers` (snapshot) and `statistics` (all events, latest-action rule) through runExport.
 * Prints rows/s, peak RSS of each step, the ratio datasync / raw and the load average seen.
 *
 *   node --import tsx bench/export.ts [--scale 1] [--dialects sqlite,postgres] [--repeat 3]
 *     [--exports subscribers,statistics] [--keep] [--reuse SCHEMA] [--work-mem 64MB]
 *
 * `--exports` picks the exports measured. PostgreSQL only: `--keep` leaves the seeded schema in place (its name is
 * printed) and `--reuse SCHEMA` measures against such a schema without seeding again (same `--scale` expected).
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import SqliteDatabase from 'better-sqlite3';
import { stringify } from 'csv-stringify';
import { sql } from 'kysely';
import { pino } from 'pino';
import { ManualClock } from '../src/clock.js';
import { applyExportInstances, runExport } from '../src/exports/index.js';
import { HostedSpaces } from '../src/spaces/index.js';
import { addList, createAccount, markSupersededEvents, openStore, type Store } from '../src/store/index.js';
import type { Db } from '../src/store/index.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const scale = Number(arg('scale', '1'));
const N = Math.round(Number(arg('subscribers', '1000000')) * scale);
const E = Math.round(Number(arg('events', '5000000')) * scale);
const dialects = arg('dialects', process.env.DATABASE_URL ? 'sqlite,postgres' : 'sqlite').split(',');
const repeat = Number(arg('repeat', '3'));
const exportsToRun = arg('exports', 'subscribers,statistics').split(',') as ('subscribers' | 'statistics')[];
const keep = process.argv.includes('--keep');
const reuse = arg('reuse', '');
/** PostgreSQL `work_mem` of datasync's export transaction (default: the exports' own, EXPORT_WORK_MEM). */
const workMem = arg('work-mem', '');
const logger = pino({ level: 'warn' });

/** Peak RSS while `fn` runs (sampled every 20 ms), in MB. */
async function measure<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; peakMb: number }> {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const start = process.hrtime.bigint();
  try {
    const value = await fn();
    return { value, seconds: Number(process.hrtime.bigint() - start) / 1e9, peakMb: Math.round(peak / 1e6) };
  } finally {
    clearInterval(t);
  }
}

function series(pg: boolean, n: number) {
  return pg
    ? sql.raw(`select i from generate_series(1, ${n}) as g(i)`)
    : sql.raw(
        `with recursive g(i) as (select 1 union all select i + 1 from g where i < ${n}) select i from g`,
      );
}

/**
 * The secondary indexes of a table, dropped for a bulk load and built again after it (one sort instead of
 * millions of B-tree inserts: the 5M-event seed goes from many minutes to about one on PostgreSQL).
 */
async function withoutIndexes(store: Store, table: string, load: () => Promise<void>): Promise<void> {
  const { db } = store;
  const pg = store.dialect.name === 'postgres';
  const { rows } = pg
    ? await sql<{ name: string; def: string }>`select indexname as name, indexdef as def from pg_indexes
        where schemaname = current_schema() and tablename = ${table}
          and indexname not in (select conname from pg_constraint)`.execute(db)
    : await sql<{ name: string; def: string }>`select name, sql as def from sqlite_master
        where type = 'index' and tbl_name = ${table} and sql is not null`.execute(db);
  for (const r of rows) await sql`drop index ${sql.id(r.name)}`.execute(db);
  await load();
  for (const r of rows) await sql.raw(r.def).execute(db);
  // What autovacuum / a DBA would have done on a table this size: planner statistics.
  await sql.raw(pg ? `analyze ${table}` : 'analyze').execute(db);
}

async function seed(store: Store): Promise<void> {
  const { db } = store;
  const at = new Date('2026-03-01T00:00:00.000Z');
  await createAccount(db, { id: 'bench' }, at);
  await addList(db, { accountId: 'bench', listId: 1, name: 'Bench' }, at);
  const ts = at.toISOString();
  const pg = store.dialect.name === 'postgres';
  const cat = (...p: string[]) => p.join(' || ');
  await sql`insert into recipients (account_id, email, mobile, f1, created_at, updated_at)
    select 'bench', ${sql.raw(cat("'user'", pg ? 'i::text' : 'i', "'@example.com'"))},
      ${sql.raw(cat("'39333'", pg ? 'i::text' : 'i'))}, ${sql.raw(cat("'Name '", pg ? 'i::text' : 'i'))}, ${ts}, ${ts}
    from (${series(pg, N)}) s`.execute(db);
  await sql`insert into subscriptions (account_id, recipient_id, list_id, channel, status, subscribed_at, updated_at)
    select 'bench', i, 1, 'email', 'subscribed', ${ts}, ${ts} from (${series(pg, N)}) s`.execute(db);
  for (let m = 1; m <= 5; m++) {
    await sql`insert into messages (account_id, message_number, channel, list_id, subject, created_at)
      values ('bench', ${100 + m}, 'email', 1, ${`Campaign ${m}`}, ${ts})`.execute(db);
    await sql`insert into sendings (account_id, sending_number, message_id, list_id, status, started_at, created_at)
      values ('bench', ${m}, ${m}, 1, 'done', ${ts}, ${ts})`.execute(db);
  }
  await withoutIndexes(store, 'events', () => insertEvents(db, pg));
  // What the workers' mark pass (every minute) would have done while these events arrived, here in one go and
  // timed apart: the statistics export then marks only what came since (store/superseded-marks.ts).
  const t0 = performance.now();
  const pass = await markSupersededEvents(db, 'bench', '2026-03-02T00:00:00.000Z');
  const s = (performance.now() - t0) / 1000;
  console.log(
    `[${store.dialect.name}] mark pass over ${E} events: ${pass.marked} marked in ${s.toFixed(1)} s` +
      ` (${((s * 1e6) / E).toFixed(2)} µs/event)`,
  );
  // The pass rewrote a fifth of the rows: what autovacuum does after that (this server runs with it off).
  await sql.raw(pg ? 'vacuum analyze events' : 'analyze').execute(db);
}

async function insertEvents(db: Db, pg: boolean): Promise<void> {
  // Round k = floor((i-1)/N) gives each recipient: sent, open, click a, click b, bounce (5 events for 5M / 1M).
  const k = `((i - 1) / ${N})`;
  const time = pg
    ? `to_char(timestamp '2026-03-01' + i * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
    : `strftime('%Y-%m-%dT%H:%M:%fZ', '2026-03-01', '+' || (i / 1000.0) || ' seconds')`;
  await sql`insert into events (account_id, kind, channel, recipient_id, list_id, message_id, sending_id, url, code,
      occurred_at, recorded_at)
    select 'bench',
      case ${sql.raw(k)} % 5 when 0 then 'sent' when 1 then 'open' when 2 then 'click' when 3 then 'click' else 'bounce' end,
      'email', ((i - 1) % ${sql.lit(N)}) + 1, 1, ((i - 1) % 5) + 1, ((i - 1) % 5) + 1,
      case ${sql.raw(k)} % 5 when 2 then 'https://shop.example/a' when 3 then 'https://shop.example/b' else null end,
      case ${sql.raw(k)} % 5 when 4 then '5.1.1' else null end,
      ${sql.raw(time)}, ${sql.raw(time)}
    from (${series(pg, E)}) s`.execute(db);
}

const SUBS_SQL = `select r.email, r.mobile, s.list_id, s.subscribed_at from subscriptions s
  join recipients r on r.id = s.recipient_id where s.account_id = 'bench' and s.status = 'subscribed'`;
const STATS_SQL = `select e.list_id, sd.sending_number, m.message_number, r.email, m.subject, e.kind, e.url, e.code,
  e.occurred_at, sd.started_at from events e join recipients r on r.id = e.recipient_id
  left join messages m on m.id = e.message_id left join sendings sd on sd.id = e.sending_id
  where e.account_id = 'bench' and e.kind in ('open', 'click', 'bounce')`;

const EXPORTS = {
  subscribers: { sql: SUBS_SQL, instance: 'b-subs' },
  statistics: { sql: STATS_SQL, instance: 'b-stats' },
} as const;

async function rawSqlite(file: string, query: string, out: string): Promise<number> {
  const raw = new SqliteDatabase(file, { readonly: true });
  let rows = 0;
  try {
    const it = raw.prepare(query).raw(true).iterate() as IterableIterator<unknown[]>;
    await pipeline(
      Readable.from(
        (function* () {
          for (const r of it) {
            rows++;
            yield r;
          }
        })(),
      ),
      stringify({ delimiter: ';' }),
      fs.createWriteStream(out),
    );
  } finally {
    raw.close();
  }
  return rows;
}

async function rawPostgres(url: string, schema: string, query: string, out: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(
      'psql',
      [url, '-qAt', '-c', `COPY (${query.replace(/\s+/g, ' ')}) TO STDOUT WITH (FORMAT csv, DELIMITER ';')`],
      {
        env: { ...process.env, PGOPTIONS: `-c search_path=${schema}` },
        stdio: ['ignore', fs.openSync(out, 'w'), 'inherit'],
      },
    );
    p.on('error', reject);
    p.on('close', (c) => (c === 0 ? resolve() : reject(new Error(`psql exited ${c}`))));
  });
  // Line count = rows (no value holds a newline here).
  let n = 0;
  for await (const chunk of fs.createReadStream(out)) for (const b of chunk as Buffer) if (b === 10) n++;
  return n;
}

interface Step {
  rows: number;
  seconds: number;
  peakMb: number;
}

/** A child process's step: `--step raw|ds --dialect D --db FILE|SCHEMA --export subscribers|statistics --run I`. */
async function childStep(): Promise<void> {
  const dialect = arg('dialect', 'sqlite');
  const where = arg('db', '');
  const label = arg('export', 'statistics') as keyof typeof EXPORTS;
  const out = arg('out', '');
  if (arg('step', '') === 'raw') {
    const r = await measure(() =>
      dialect === 'postgres'
        ? rawPostgres(process.env.DATABASE_URL!, where, EXPORTS[label].sql, out)
        : rawSqlite(where, EXPORTS[label].sql, out),
    );
    fs.rmSync(out, { force: true });
    console.log(JSON.stringify({ rows: r.value, seconds: r.seconds, peakMb: r.peakMb }));
    return;
  }
  const store =
    dialect === 'postgres'
      ? await openStore({ database: process.env.DATABASE_URL!, pgSchema: where, migrate: false })
      : await openStore({ database: `sqlite:${where}`, migrate: false });
  try {
    const spaces = new HostedSpaces(out);
    // A distinct run time per repetition: distinct file names.
    const clock = new ManualClock(
      new Date(Date.parse('2026-06-01T00:00:00.000Z') + Number(arg('run', '0')) * 60_000),
    );
    const r = await measure(() =>
      runExport({
        store,
        spaces,
        instanceId: EXPORTS[label].instance,
        trigger: 'cli',
        clock,
        logger,
        source: workMem ? { workMem } : undefined,
      }),
    );
    fs.rmSync(out, { recursive: true, force: true });
    console.log(JSON.stringify({ rows: r.value.rows, seconds: r.seconds, peakMb: r.peakMb }));
  } finally {
    await store.close();
  }
}

function runChild(args: string[]): Step {
  const r = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, ...args], {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`bench step ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Step;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

async function benchDialect(dialect: string): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-bench-export-'));
  const schema = reuse || `bench_export_${process.pid}`;
  const file = path.join(dir, 'bench.db');
  const store =
    dialect === 'postgres'
      ? await openStore({ database: process.env.DATABASE_URL!, pgSchema: schema })
      : await openStore({ database: `sqlite:${file}` });
  const table: string[] = [];
  try {
    if (reuse && dialect === 'postgres') console.log(`\n[${dialect}] reusing schema ${schema}`);
    else {
      const seeded = await measure(() => seed(store));
      console.log(`\n[${dialect}] seeded ${N} subscribers, ${E} events in ${seeded.seconds.toFixed(1)} s`);
    }
    await applyExportInstances(store, [
      {
        id: EXPORTS.subscribers.instance,
        accountId: 'bench',
        type: 'subscribers',
        lists: [1],
        columns: ['email', 'mobile', 'listId', 'subscriptionDate'],
      },
      {
        id: EXPORTS.statistics.instance,
        accountId: 'bench',
        type: 'statistics',
        lists: [1],
        window: { mode: 'snapshot' },
      },
    ]);
    if (dialect === 'sqlite') await sql`pragma wal_checkpoint(truncate)`.execute(store.db);
    const where = dialect === 'postgres' ? schema : file;
    for (const label of exportsToRun) {
      const raw: Step[] = [];
      const ds: Step[] = [];
      const loads: string[] = [];
      for (let i = 0; i < repeat; i++) {
        loads.push(load());
        const common = ['--dialect', dialect, '--db', where, '--export', label, '--run', String(i)];
        if (workMem) common.push('--work-mem', workMem);
        raw.push(runChild(['--step', 'raw', ...common, '--out', path.join(dir, `raw-${label}.csv`)]));
        ds.push(runChild(['--step', 'ds', ...common, '--out', path.join(dir, 'spaces')]));
        const [r, d] = [raw[i]!, ds[i]!];
        console.log(
          `[${dialect}] ${label} #${i + 1} (load ${loads[i]}): raw ${r.rows} rows in ${r.seconds.toFixed(2)} s` +
            ` = ${Math.round(r.rows / r.seconds)} rows/s (peak RSS ${dialect === 'postgres' ? 'n/a, in psql' : `${r.peakMb} MB`});` +
            ` datasync ${d.rows} rows in ${d.seconds.toFixed(2)} s = ${Math.round(d.rows / d.seconds)} rows/s,` +
            ` peak RSS ${d.peakMb} MB; ratio ${(d.rows / d.seconds / (r.rows / r.seconds)).toFixed(2)}`,
        );
      }
      const rawRate = median(raw.map((r) => r.rows / r.seconds));
      const dsRate = median(ds.map((r) => r.rows / r.seconds));
      const ratios = raw.map((r, i) => ds[i]!.rows / ds[i]!.seconds / (r.rows / r.seconds));
      table.push(
        `| ${dialect === 'postgres' ? 'PostgreSQL' : 'SQLite'} | ${label} | ${Math.round(rawRate).toLocaleString('en')} |` +
          ` ${Math.round(dsRate).toLocaleString('en')} | **${median(ratios).toFixed(2)}** (${ratios.map((x) => x.toFixed(2)).join(', ')}) |` +
          ` ${Math.max(...ds.map((d) => d.peakMb))} MB | ${loads.join(' / ')} |`,
      );
    }
  } finally {
    await store.close();
    if (dialect === 'postgres' && (keep || reuse)) console.log(`[${dialect}] schema ${schema} kept`);
    else if (dialect === 'postgres') {
      const p = spawn('psql', [process.env.DATABASE_URL!, '-qc', `drop schema ${schema} cascade`], {
        stdio: 'ignore',
      });
      await new Promise((r) => p.on('close', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return table;
}

if (process.argv.includes('--step')) await childStep();
else {
  const rows: string[] = [];
  for (const d of dialects) rows.push(...(await benchDialect(d)));
  console.log(
    `\n| dialect | export | raw rows/s (median) | datasync rows/s (median) | ratio median (each run) | datasync peak RSS (max) | load avg 1/5/15 min at each run |`,
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}
