/**
 * Test isolation by construction (CONVENTIONS #13): each test gets a fresh SQLite file or a fresh
 * PostgreSQL schema. PostgreSQL runs when DATABASE_URL is set (CI sets it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, type Store } from '../../src/store/index.js';

export type DialectName = 'sqlite' | 'postgres';

export const DATABASE_URL = process.env.DATABASE_URL;

/** The dialects every store test runs on. */
export const DIALECTS: DialectName[] = DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestStore extends Store {
  /** Where this test's data lives (SQLite file's folder; also usable as a data dir). */
  readonly dir: string;
  /** The `database` option that reopens the same store (same SQLite file or PostgreSQL schema). */
  readonly database: string;
  readonly pgSchema?: string;
  /** Close and drop what the test created. */
  cleanup(): Promise<void>;
}

export async function freshStore(dialect: DialectName): Promise<TestStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-store-'));
  if (dialect === 'sqlite') {
    const database = `sqlite:${path.join(dir, 'test.db')}`;
    const store = await openStore({ database });
    return Object.assign(store, {
      dir,
      database,
      async cleanup() {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    });
  }
  if (!DATABASE_URL) throw new Error('DATABASE_URL is not set');
  const pgSchema = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const store = await openStore({ database: DATABASE_URL, pgSchema, pgPoolSize: 4 });
  return Object.assign(store, {
    dir,
    database: DATABASE_URL,
    pgSchema,
    async cleanup() {
      // The schema is NOT dropped here: Kysely's migrator introspects tables across all schemas, and a schema
      // dropped while another test migrates makes that introspection fail ("schema … does not exist").
      // test/helpers/global-setup.ts drops the leftovers of earlier runs before any test starts; CI uses a
      // fresh database per run.
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  });
}

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    await c.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await c.end();
  }
}
