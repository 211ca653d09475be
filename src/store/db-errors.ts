/**
 * Driver errors are normalised here, at the store boundary (CONVENTIONS #4): nothing above `store/` looks at
 * SQLite or PostgreSQL error codes. The mapping is installed as a connection wrapper, so every query made
 * through Kysely throws `DuplicateError`, `ForeignKeyError` or `DatabaseUnavailableError` with the driver error
 * as `cause`.
 */
import type {
  CompiledQuery,
  DatabaseConnection,
  Dialect,
  Driver,
  QueryResult,
  TransactionSettings,
} from 'kysely';
import { DatabaseUnavailableError, DuplicateError, ForeignKeyError, ValidationError } from '../errors.js';

interface DriverErrorShape {
  code?: string;
  constraint?: string;
  message?: string;
}

const PG_CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P03',
  '08006',
  '08001',
  '08003',
]);

/** Map one driver error to a DatasyncError, or return it unchanged when it has no stable meaning. */
export function normalizeDbError(e: unknown): unknown {
  if (!e || typeof e !== 'object') return e;
  const err = e as DriverErrorShape;
  const code = err.code ?? '';
  const msg = err.message ?? '';
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505') {
    return new DuplicateError('a record with the same unique key already exists', {
      details: { constraint: err.constraint ?? constraintFromSqliteMessage(msg) },
      cause: e,
    });
  }
  if (code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503') {
    return new ForeignKeyError(
      'the record refers to something that does not exist, or is still referred to',
      {
        cause: e,
      },
    );
  }
  if (
    code === 'SQLITE_CONSTRAINT_CHECK' ||
    code === '23514' ||
    code === 'SQLITE_CONSTRAINT_NOTNULL' ||
    code === '23502'
  ) {
    return new ValidationError('a value is not allowed by the database constraints', { cause: e });
  }
  if (PG_CONNECTION_CODES.has(code) || /Connection terminated|connect ECONNREFUSED/.test(msg)) {
    return new DatabaseUnavailableError('the database cannot be reached', e);
  }
  return e;
}

function constraintFromSqliteMessage(msg: string): string | undefined {
  // "UNIQUE constraint failed: recipients.account_id, recipients.email"
  const m = /constraint failed: (.+)$/.exec(msg);
  return m?.[1];
}

class NormalizingConnection implements DatabaseConnection {
  constructor(private readonly inner: DatabaseConnection) {}
  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(q);
    } catch (e) {
      throw normalizeDbError(e);
    }
  }
  async *streamQuery<R>(q: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(q, chunkSize);
    } catch (e) {
      throw normalizeDbError(e);
    }
  }
}

class NormalizingDriver implements Driver {
  private readonly wrapped = new WeakMap<DatabaseConnection, NormalizingConnection>();
  constructor(private readonly inner: Driver) {}
  init(): Promise<void> {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    let conn: DatabaseConnection;
    try {
      conn = await this.inner.acquireConnection();
    } catch (e) {
      throw normalizeDbError(e);
    }
    let w = this.wrapped.get(conn);
    if (!w) {
      w = new NormalizingConnection(conn);
      this.wrapped.set(conn, w);
      originals.set(w, conn);
    }
    return w;
  }
  beginTransaction(c: DatabaseConnection, s: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(unwrap(c), s);
  }
  commitTransaction(c: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(unwrap(c));
  }
  rollbackTransaction(c: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(unwrap(c));
  }
  releaseConnection(c: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(c));
  }
  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

const originals = new WeakMap<DatabaseConnection, DatabaseConnection>();
function unwrap(c: DatabaseConnection): DatabaseConnection {
  return originals.get(c) ?? c;
}

/** Wrap a Kysely dialect so its queries throw normalised errors. */
export function withNormalizedErrors(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createDriver: () => new NormalizingDriver(dialect.createDriver()),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
  };
}
