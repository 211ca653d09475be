/**
 * Database differences as data (CONVENTIONS #3): one `StoreDialect` chosen at start-up, never
 * `if (driver === 'pg')` spread through the code.
 */
export interface StoreDialect {
  readonly name: 'sqlite' | 'postgres';
  /** SQL type of an auto-increment integer primary key column. */
  readonly autoIdType: 'integer' | 'serial';
  /** Whether `autoIncrement()` must be added to the id column (SQLite) or is implied by the type (serial). */
  readonly autoIdNeedsAutoIncrement: boolean;
  /** `SELECT … FOR UPDATE SKIP LOCKED` works (PostgreSQL); SQLite serialises writers instead. */
  readonly supportsSkipLocked: boolean;
  /** Largest number of bound parameters one statement may carry (SQLite's SQLITE_MAX_VARIABLE_NUMBER is 32766). */
  readonly maxParameters: number;
  /** Transactions can contain DDL and roll it back. */
  readonly transactionalDdl: boolean;
}

export const SQLITE_DIALECT: StoreDialect = Object.freeze({
  name: 'sqlite',
  autoIdType: 'integer',
  autoIdNeedsAutoIncrement: true,
  supportsSkipLocked: false,
  maxParameters: 32_000,
  transactionalDdl: true,
});

export const POSTGRES_DIALECT: StoreDialect = Object.freeze({
  name: 'postgres',
  autoIdType: 'serial',
  autoIdNeedsAutoIncrement: false,
  supportsSkipLocked: true,
  maxParameters: 65_000,
  transactionalDdl: true,
});
