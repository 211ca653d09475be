/**
 * One measured step of bench/import.ts, run in its own process (peak RSS is the step's own). Prints one JSON
 * line `{ rows, ms, cpuMs, rssMb }`. Steps: raw-sqlite, raw-postgres, ds-sqlite, ds-postgres; args: TARGET FILE reset|keep.
 * TARGET is a SQLite file, or `postgres://…#schema`.
 */
import fs from 'node:fs';
import SqliteDatabase from 'better-sqlite3';
import { parse } from 'csv-parse';
import pg from 'pg';
import { applyInstances, importFile } from '../src/imports/index.js';
import { addList, createAccount, findAccount, openStore, type Store } from '../src/store/index.js';

const [step, target, file, mode] = process.argv.slice(2) as [string, string, string, 'reset' | 'keep'];
let peak = 0;
/** `process.memoryUsage()` at the RSS peak: tells V8 heap from native memory (buffers, the drivers). */
let atPeak: NodeJS.MemoryUsage | null = null;
const sample = setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss > peak) {
    peak = rss;
    atPeak = process.memoryUsage();
  }
}, 50);
sample.unref();

async function open(): Promise<Store> {
  if (target.startsWith('postgres')) {
    const [url, schema] = target.split('#');
    if (mode === 'reset') {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    }
    return openStore({ database: url!, pgSchema: schema! });
  }
  if (mode === 'reset')
    for (const f of [target, `${target}-wal`, `${target}-shm`]) fs.rmSync(f, { force: true });
  return openStore({ database: `sqlite:${target}` });
}

async function seed(store: Store): Promise<void> {
  if (await findAccount(store.db, 'bench')) return;
  await createAccount(store.db, { id: 'bench' });
  await addList(store.db, { accountId: 'bench', listId: 1, name: 'bench', mobilePrefix: '39' });
  await applyInstances(store, [
    { id: 'bench', accountId: 'bench', destination: { listId: 1 }, reprocess: true },
  ]);
}

async function* records(): AsyncGenerator<string[]> {
  const p = fs.createReadStream(file).pipe(parse({ delimiter: ';', from_line: 2 }));
  for await (const r of p) yield r as string[];
}

const FIELDS = ['f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'];

async function rawSqlite(): Promise<number> {
  const store = await open();
  await seed(store);
  await store.close();
  const db = new SqliteDatabase(target);
  started = Date.now();
  cpuAtStart = process.cpuUsage();
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const now = new Date().toISOString();
  const upsert = db.prepare(
    `insert into recipients (account_id, email, mobile, ${FIELDS.join(', ')}, created_at, updated_at) values ('bench', ?, ?, ${FIELDS.map(() => '?').join(', ')}, ?, ?)
     on conflict (account_id, email) do update set mobile = excluded.mobile, ${FIELDS.map((f) => `${f} = excluded.${f}`).join(', ')}, updated_at = excluded.updated_at returning id`,
  );
  // The same rows datasync writes: the recipient and its subscription on both channels (email and SMS).
  const sub = db.prepare(
    `insert into subscriptions (account_id, recipient_id, list_id, channel, status, subscribed_at, updated_at) values ('bench', ?, 1, ?, 'subscribed', ?, ?) on conflict do nothing`,
  );
  let n = 0;
  let batch: string[][] = [];
  const flush = db.transaction((rows: string[][]) => {
    for (const r of rows) {
      const { id } = upsert.get(r[0], r[1]!.replace('+', ''), ...r.slice(2, 10), now, now) as { id: number };
      sub.run(id, 'email', now, now);
      sub.run(id, 'sms', now, now);
    }
  });
  for await (const r of records()) {
    batch.push(r);
    n++;
    if (batch.length === 10_000) {
      flush(batch);
      batch = [];
    }
  }
  flush(batch);
  db.close();
  return n;
}

async function rawPostgres(): Promise<number> {
  const store = await open();
  await seed(store);
  await store.close();
  const [url, schema] = target.split('#');
  const c = new pg.Client({ connectionString: url, options: `-c search_path="${schema}"` });
  await c.connect();
  started = Date.now();
  cpuAtStart = process.cpuUsage();
  await c.query(
    'create temp table stage (email text, mobile text, f1 text, f2 text, f3 text, f4 text, f5 text, f6 text, f7 text, f8 text)',
  );
  const now = new Date().toISOString();
  let n = 0;
  let cols: string[][] = Array.from({ length: 10 }, () => []);
  const flush = async () => {
    if (cols[0]!.length === 0) return;
    await c.query('begin');
    await c.query('truncate stage');
    await c.query(
      `insert into stage select * from unnest(${cols.map((_, i) => `$${i + 1}::text[]`).join(', ')})`,
      cols,
    );
    // One statement: the upsert's RETURNING gives the ids, so the subscriptions need no join back to recipients
    // (a join that, on tables without statistics, PostgreSQL planned as a scan of every recipient per batch).
    await c.query(
      `with r as (
         insert into recipients (account_id, email, mobile, ${FIELDS.join(', ')}, created_at, updated_at)
         select 'bench', email, mobile, ${FIELDS.join(', ')}, $1, $1 from stage
         on conflict (account_id, email) do update set mobile = excluded.mobile, ${FIELDS.map((f) => `${f} = excluded.${f}`).join(', ')}, updated_at = excluded.updated_at
         returning id)
       insert into subscriptions (account_id, recipient_id, list_id, channel, status, subscribed_at, updated_at)
       select 'bench', r.id, 1, ch.c, 'subscribed', $1, $1 from r cross join (values ('email'), ('sms')) as ch(c)
       on conflict do nothing`,
      [now],
    );
    await c.query('commit');
    cols = Array.from({ length: 10 }, () => []);
  };
  for await (const r of records()) {
    for (let i = 0; i < 10; i++) cols[i]!.push(i === 1 ? r[1]!.replace('+', '') : r[i]!);
    n++;
    if (cols[0]!.length === 10_000) await flush();
  }
  await flush();
  await c.end();
  return n;
}

async function datasync(): Promise<number> {
  const store = await open();
  await seed(store);
  started = Date.now();
  cpuAtStart = process.cpuUsage();
  // DS_BENCH_BATCH: rows per batch (default: the product's), to compare batch sizes.
  const batchSize = Number(process.env.DS_BENCH_BATCH) || undefined;
  const s = await importFile(store, { file, instanceId: 'bench', batchSize });
  await store.close();
  if (s.status !== 'succeeded') throw new Error(`import ${s.status}: ${JSON.stringify(s.error)}`);
  return s.counters.processed;
}

/** Set when the measured part starts (after opening, migrating and seeding). */
let started = Date.now();
/** CPU time of this process from the same point: less sensitive than wall time to a shared machine's load. */
let cpuAtStart = process.cpuUsage();
const rows = step.startsWith('raw-sqlite')
  ? await rawSqlite()
  : step.startsWith('raw-postgres')
    ? await rawPostgres()
    : await datasync();
const ms = Date.now() - started;
peak = Math.max(peak, process.memoryUsage.rss());
const cpu = process.cpuUsage(cpuAtStart);
console.log(
  JSON.stringify({
    rows,
    ms,
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    rssMb: Math.round(peak / 1e6),
    atPeakMb: Object.fromEntries(
      Object.entries((atPeak as NodeJS.MemoryUsage | null) ?? {}).map(([k, v]) => [k, Math.round(v / 1e6)]),
    ),
  }),
);
