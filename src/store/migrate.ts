/**
 * Migrations: one ordered list for both dialects, applied by Kysely's Migrator (it takes a lock so two
 * processes starting together do not both migrate).
 */
import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { StoreDialect } from './dialect.js';
import * as m0001 from './migrations/0001-initial.js';
import * as m0002 from './migrations/0002-engagement.js';
import * as m0003 from './migrations/0003-exports.js';
import * as m0004 from './migrations/0004-jobs.js';
import * as m0005 from './migrations/0005-audit.js';
import * as m0009 from './migrations/0009-dashboard.js';
import * as m0010 from './migrations/0010-superseded-marks.js';
import * as m0011 from './migrations/0011-events-sending.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;
type DialectMigration = { up(db: AnyDb, dialect: StoreDialect): Promise<void> };

const MIGRATIONS: Record<string, DialectMigration> = {
  '0001-initial': m0001,
  '0002-engagement': m0002,
  '0003-exports': m0003,
  '0004-jobs': m0004,
  '0005-audit': m0005,
  '0009-dashboard': m0009,
  '0010-superseded-marks': m0010,
  '0011-events-sending': m0011,
};

class DialectMigrationProvider implements MigrationProvider {
  constructor(private readonly dialect: StoreDialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const [name, m] of Object.entries(MIGRATIONS)) out[name] = { up: (db) => m.up(db, this.dialect) };
    return out;
  }
}

/**
 * `schema` (PostgreSQL only) names the schema of Kysely's own migration tables. It must be given: Kysely's
 * "does the lock table exist" check looks across all schemas, so without it a fresh schema next to one that
 * already has the table would skip creating its own.
 */
export async function migrateToLatest(db: AnyDb, dialect: StoreDialect, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: new DialectMigrationProvider(dialect),
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error } = await migrator.migrateToLatest();
  if (error) throw error;
}
