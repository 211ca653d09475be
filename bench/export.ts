/**
 * Export benchmark (issue 6). One run per dialect: builds `--subscribers` (default 1,000,000) subscribers and
 * `--events` (default 5,000,000) events (`--scale 0.05` multiplies both for a quick run), then measures
 *   raw:      SQLite — iterate a plain join query (better-sqlite3) and write it with csv-stringify;
 *             PostgreSQL — `COPY (…) TO STDOUT` through psql into a file;
 *   datasync: `subscribers` (snapshot) and `statistics` (all events, latest-action rule) through runExport.
 * Prints rows/s, peak RSS of this process during each phase, and the ratio datasync / raw.
 *
 *   node --import tsx bench/export.ts [--scale 1] [--dialects sqlite,postgres]
 */
import { spawn } from 'node:child_process';
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
import { addList, createAccount, openStore, type Store } from '../src/store/index.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const scale = Number(arg('scale', '1'));
const N = Math.round(Number(arg('subscribers', '1000000')) * scale);
const E = Math.round(Number(arg('events', '5000000')) * scale);
const dialects = arg('dialects', process.env.DATABASE_URL ? 'sqlite,postgres' : 'sqlite').split(',');
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

function series(store: Store, n: number) {
  return store.dialect.name === 'postgres'
    ? sql.raw(`select i from generate_series(1, ${n}) as g(i)`)
    : sql.raw(
        `with recursive g(i) as (select 1 union all select i + 1 from g where i < ${n}) select i from g`,
      );
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
    from (${series(store, N)}) s`.execute(db);
  await sql`insert into subscriptions (account_id, recipient_id, list_id, channel, status, subscribed_at, updated_at)
    select 'bench', i, 1, 'email', 'subscribed', ${ts}, ${ts} from (${series(store, N)}) s`.execute(db);
  for (let m = 1; m <= 5; m++) {
    await sql`insert into messages (account_id, message_number, channel, list_id, subject, created_at)
      values ('bench', ${100 + m}, 'email', 1, ${`Campaign ${m}`}, ${ts})`.execute(db);
    await sql`insert into sendings (account_id, sending_number, message_id, list_id, status, started_at, created_at)
      values ('bench', ${m}, ${m}, 1, 'done', ${ts}, ${ts})`.execute(db);
  }
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
    from (${series(store, E)}) s`.execute(db);
}

const SUBS_SQL = `select r.email, r.mobile, s.list_id, s.subscribed_at from subscriptions s
  join recipients r on r.id = s.recipient_id where s.account_id = 'bench' and s.status = 'subscribed'`;
const STATS_SQL = `select e.list_id, sd.sending_number, m.message_number, r.email, m.subject, e.kind, e.url, e.code,
  e.occurred_at, sd.started_at from events e join recipients r on r.id = e.recipient_id
  left join messages m on m.id = e.message_id left join sendings sd on sd.id = e.sending_id
  where e.account_id = 'bench' and e.kind in ('open', 'click', 'bounce')`;

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

async function benchDialect(dialect: string): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-bench-export-'));
  const schema = `bench_export_${process.pid}`;
  const store =
    dialect === 'postgres'
      ? await openStore({ database: process.env.DATABASE_URL!, pgSchema: schema })
      : await openStore({ database: `sqlite:${path.join(dir, 'bench.db')}` });
  try {
    const seeded = await measure(() => seed(store));
    console.log(`\n[${dialect}] seeded ${N} subscribers, ${E} events in ${seeded.seconds.toFixed(1)} s`);
    const spaces = new HostedSpaces(path.join(dir, 'spaces'));
    await applyExportInstances(store, [
      {
        id: 'b-subs',
        accountId: 'bench',
        type: 'subscribers',
        lists: [1],
        columns: ['email', 'mobile', 'listId', 'subscriptionDate'],
      },
      { id: 'b-stats', accountId: 'bench', type: 'statistics', lists: [1], window: { mode: 'snapshot' } },
    ]);
    const clock = new ManualClock('2026-06-01T00:00:00.000Z');
    for (const [label, query, id] of [
      ['subscribers', SUBS_SQL, 'b-subs'],
      ['statistics', STATS_SQL, 'b-stats'],
    ] as const) {
      const out = path.join(dir, `raw-${label}.csv`);
      const raw = await measure(() =>
        dialect === 'postgres'
          ? rawPostgres(process.env.DATABASE_URL!, schema, query, out)
          : rawSqlite(path.join(dir, 'bench.db'), query, out),
      );
      fs.rmSync(out);
      const ds = await measure(() =>
        runExport({ store, spaces, instanceId: id, trigger: 'cli', clock, logger }),
      );
      clock.advance(60_000);
      const rawRate = raw.value / raw.seconds;
      const dsRate = ds.value.rows / ds.seconds;
      console.log(
        `[${dialect}] ${label}: raw ${raw.value} rows in ${raw.seconds.toFixed(2)} s = ${Math.round(rawRate)} rows/s` +
          ` (peak RSS ${dialect === 'postgres' ? 'n/a, in psql' : `${raw.peakMb} MB`});` +
          ` datasync ${ds.value.rows} rows in ${ds.seconds.toFixed(2)} s = ${Math.round(dsRate)} rows/s,` +
          ` peak RSS ${ds.peakMb} MB; ratio ${(dsRate / rawRate).toFixed(2)}`,
      );
    }
  } finally {
    await store.close();
    if (dialect === 'postgres') {
      const p = spawn('psql', [process.env.DATABASE_URL!, '-qc', `drop schema ${schema} cascade`], {
        stdio: 'ignore',
      });
      await new Promise((r) => p.on('close', r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const d of dialects) await benchDialect(d);
