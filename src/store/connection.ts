/**
 * Opening the store: Kysely over better-sqlite3 (embedded default) or PostgreSQL (`pg`), with the same
 * migrations run at start.
 */
import fs from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { POSTGRES_DIALECT, SQLITE_DIALECT, type StoreDialect } from './dialect.js';
import { withNormalizedErrors } from './db-errors.js';
import { migrateToLatest } from './migrate.js';
import type { Database } from './tables.js';

/** An open store: the query builder, the dialect's capabilities, and `close()` (call it last at shutdown). */
export interface Store {
  readonly db: Kysely<Database>;
  readonly dialect: StoreDialect;
  /** Human-readable location for logs, with any password removed. */
  readonly location: string;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** `sqlite` (file `<dataDir>/datasync.db`), `sqlite:<path>`, `:memory:`, or a `postgres://` URL. */
  database: string;
  /** Data directory for the default SQLite file. Default `./data`. */
  dataDir?: string;
  /** PostgreSQL schema to use (created when missing); tests use one schema per test. Default `public`. */
  pgSchema?: string;
  /** Largest PostgreSQL pool size. Default 10. */
  pgPoolSize?: number;
  /** Run migrations on open. Default true. */
  migrate?: boolean;
}

export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//.test(database);
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const store = isPostgresUrl(opts.database) ? await openPostgres(opts) : openSqlite(opts);
  if (opts.migrate !== false)
    await migrateToLatest(
      store.db,
      store.dialect,
      store.dialect.name === 'postgres' ? (opts.pgSchema ?? 'public') : undefined,
    );
  return store;
}

function sqlitePath(opts: OpenStoreOptions): string {
  if (opts.database === ':memory:') return ':memory:';
  if (opts.database.startsWith('sqlite:')) return opts.database.slice('sqlite:'.length);
  return path.join(opts.dataDir ?? 'data', 'datasync.db');
}

function openSqlite(opts: OpenStoreOptions): Store {
  const file = sqlitePath(opts);
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const raw = new SqliteDatabase(file);
  // WAL lets readers (exports, the dashboard) run while an import writes; NORMAL sync is durable at each
  // checkpoint of WAL and is what makes batched imports fast; foreign keys are off by default in SQLite.
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 10000');
  cachePreparedStatements(raw);
  const db = new Kysely<Database>({ dialect: withNormalizedErrors(new SqliteDialect({ database: raw })) });
  let closed = false;
  return {
    db,
    dialect: SQLITE_DIALECT,
    location: file,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

/** Prepared statements kept per connection (LRU): the batch statements of imports and the usual queries. */
const STATEMENT_CACHE_SIZE = 200;

/**
 * Kysely's SQLite driver prepares every statement it runs; for the multi-row statements of a million-row import
 * that was ~8 % of the time (measured). Reuse a prepared statement for the same SQL text unless it is busy (a
 * streaming iterator still open on it), in which case a fresh one is prepared as before.
 */
function cachePreparedStatements(raw: SqliteDatabase.Database): void {
  const prepare = raw.prepare.bind(raw);
  const cache = new Map<string, SqliteDatabase.Statement>();
  raw.prepare = ((source: string) => {
    const hit = cache.get(source);
    if (hit && !hit.busy) {
      cache.delete(source); // re-inserted below: Map order is the LRU order
      cache.set(source, hit);
      return hit;
    }
    const stmt = prepare(source);
    if (hit) return stmt;
    cache.set(source, stmt);
    if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
    return stmt;
  }) as typeof raw.prepare;
}

/** The pg pool behind each PostgreSQL store's `db` (see pgPoolOf). */
const pools = new WeakMap<object, pg.Pool>();

/**
 * The pg pool of a PostgreSQL store's `db`, for what Kysely cannot express: `COPY … TO STDOUT` streams
 * (exports/export-copy.ts). Undefined for SQLite and for a transaction (`db.isTransaction`), whose connection
 * a second client could not share.
 */
export function pgPoolOf(db: Kysely<Database> | Transaction<Database>): pg.Pool | undefined {
  return pools.get(db);
}

/** int8 (count(*), bigint columns) as JS numbers: our values stay far below 2^53. */
const pgTypes = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

async function openPostgres(opts: OpenStoreOptions): Promise<Store> {
  const schema = opts.pgSchema;
  if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad PostgreSQL schema name ${schema}`);
  if (schema) {
    const c = new pg.Client({ connectionString: opts.database });
    await c.connect();
    try {
      await c.query(`create schema if not exists "${schema}"`);
    } finally {
      await c.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: opts.database,
    max: opts.pgPoolSize ?? 10,
    types: pgTypes,
    ...(schema ? { options: `-c search_path="${schema}"` } : {}),
  });
  const db = new Kysely<Database>({ dialect: withNormalizedErrors(new PostgresDialect({ pool })) });
  pools.set(db, pool);
  await sql`select 1`.execute(db);
  let closed = false;
  return {
    db,
    dialect: POSTGRES_DIALECT,
    location: redactUrl(opts.database) + (schema ? ` (schema ${schema})` : ''),
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}
