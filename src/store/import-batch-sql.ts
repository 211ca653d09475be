/**
 * SQL helpers shared by the import batch repositories (reads, writes, the missing rule): chunking to the
 * dialect's parameter limit, PostgreSQL array parameters, and the compiled-SQL cache of multi-row statements.
 */
import { CompiledQuery, sql, type Compilable } from 'kysely';
import type { Db } from './accounts.js';
import type { StoreDialect } from './dialect.js';
import type { FieldColumns } from './tables.js';

/** Rows per multi-row statement, at most (fewer when the parameter limit requires). */
const MAX_ROWS_PER_STATEMENT = 500;

export type FieldColumn = keyof FieldColumns;
export const fieldColumn = (fieldId: number): FieldColumn => `f${fieldId}` as FieldColumn;

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function rowsPerStatement(dialect: StoreDialect, paramsPerRow: number): number {
  return Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(dialect.maxParameters / paramsPerRow)));
}

/**
 * Whether the driver binds a JS array as one SQL array parameter (`= any($1)`, `unnest($1, $2…)`). With it,
 * PostgreSQL gets small constant statements instead of 5,000-value IN lists and 500-row VALUES, whose parse and
 * plan time dominated (measured: 3–5× slower). SQLite gets the same effect from one JSON text parameter read
 * with `json_each` (see `keysParam`). Data, not an `if`: this belongs on `StoreDialect` (`supportsArrayParams`)
 * once store/ adopts it.
 */
const ARRAY_PARAMS: Record<StoreDialect['name'], boolean> = { sqlite: false, postgres: true };
export const supportsArrayParams = (dialect: StoreDialect): boolean => ARRAY_PARAMS[dialect.name];

/**
 * Default rows per import batch. PostgreSQL's is half: there two batches are in memory at once (the next is read
 * while the server writes the previous) with their `unnest` array parameters. A 1M-row import measured 321 MB
 * peak RSS with 10,000-row batches and 270 MB with 5,000 (V8 heap at the peak 195 → 156 MB), for the same client
 * CPU time (bench/RESULTS.md, import). SQLite keeps the raw limit's 10,000-row transactions.
 */
const IMPORT_BATCH_ROWS: Record<StoreDialect['name'], number> = { sqlite: 10_000, postgres: 5_000 };
export const importBatchRows = (dialect: StoreDialect): number => IMPORT_BATCH_ROWS[dialect.name];

export type ArrayType = 'text' | 'int4';
/** `unnest($1::text[], $2::int4[], …) as u(c1, c2, …)`: one row per index of the parallel arrays. */
export function unnestFrom(cols: { name: string; type: ArrayType; values: unknown[] }[]) {
  return sql`unnest(${sql.join(cols.map((c) => sql`${c.values}::${sql.raw(c.type)}[]`))}) as u(${sql.join(cols.map((c) => sql.id(c.name)))})`;
}

/**
 * A set of keys as one parameter with a constant SQL text: `$n::<type>[]` used as `= any(…)` on PostgreSQL, a
 * JSON array read by `(select value from json_each(?))` on SQLite. Constant text means the statement is
 * prepared once (SQLite statement cache) instead of one 5,000-placeholder statement per batch.
 */
export function inKeys(dialect: StoreDialect, type: ArrayType, placeholder: string): string {
  return supportsArrayParams(dialect)
    ? ` = any(${placeholder}::${type}[])`
    : ` in (select value from json_each(${placeholder}))`;
}
export const keysParam = (dialect: StoreDialect, keys: unknown[]): unknown =>
  supportsArrayParams(dialect) ? keys : JSON.stringify(keys);

/**
 * PostgreSQL: `from unnest($n::type[]) as k(key) cross join lateral (<select> offset 0) as x`, where `select`
 * refers to `k.key` — one index probe per key, whatever the table's statistics say. The plain
 * `where col = any($n)` form left the choice to the planner, and with a 5,000-key batch it scanned the whole
 * account on every batch (O(table) per batch, so an import got slower as the table grew): right after a bulk
 * load the table has no statistics yet (the planner then believed 249 rows for 200,000 and read them all through
 * a bitmap of the account), and analyzed at 200,000 rows it still chose a parallel seq scan (measured there: 137 ms
 * against 45 ms a batch for the key lookup, 118 against 30 ms for the subscriptions read). `offset 0` keeps the
 * subquery from being flattened into an ordinary join, so the nested loop is not the planner's choice to undo.
 */
export function perKey(type: ArrayType, placeholder: string, select: string): string {
  return ` from unnest(${placeholder}::${type}[]) as k(key) cross join lateral (${select} offset 0) as x`;
}
/** `?` on SQLite, `$n` on PostgreSQL. */
export const placeholder = (dialect: StoreDialect, n: number): string =>
  supportsArrayParams(dialect) ? `$${n}` : '?';

/** Run SQL text as it is (the caller built it from constants and column names only). */
export async function execRaw<R>(db: Db, text: string, params: unknown[]): Promise<R[]> {
  const res = await db.executeQuery(CompiledQuery.raw(text, params));
  return res.rows as R[];
}

/** Compiled SQL text cache: key → SQL. Bounded by (statement kinds × distinct row counts ≤ 500). */
const sqlCache = new Map<string, string>();

/**
 * Run a multi-row statement: `build(n)` makes the Kysely query for n placeholder rows (any values; its SQL is
 * cached by `key` and n), `params` are the real values in row-major column order.
 */
export async function execCached(
  db: Db,
  dialect: StoreDialect,
  key: string,
  n: number,
  build: (n: number) => Compilable,
  params: unknown[],
): Promise<unknown[]> {
  // The dialect is part of the key: placeholders differ (`?` / `$1`) and one process may hold both stores.
  const k = `${dialect.name}:${key}#${n}`;
  let text = sqlCache.get(k);
  if (text === undefined) {
    const compiled = build(n).compile();
    if (compiled.parameters.length !== params.length)
      throw new Error(
        `import batch: ${key} compiled ${compiled.parameters.length} parameters for ${params.length} values`,
      );
    text = compiled.sql;
    if (sqlCache.size > 4000) sqlCache.clear();
    sqlCache.set(k, text);
  }
  return execRaw(db, text, params);
}
