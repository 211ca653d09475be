/**
 * A fresh PostgreSQL database per test, for tests whose processes open the store the way `datasync` does
 * (`public` schema, pg-boss in `pgboss`): the CLI and the servers take no schema option, and a shared `pgboss`
 * schema would let one test's workers fetch another test's jobs. Dropped at the end; databases of crashed runs
 * (the name carries its creation time) are dropped by the next run after an hour.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DATABASE_URL } from '../helpers/store.js';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  if (!DATABASE_URL) throw new Error('DATABASE_URL is not set');
  const name = `ds_t_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await admin(async (c) => {
    const old = await c.query<{ datname: string }>(
      `select datname from pg_database where datname like 'ds\\_t\\_%'`,
    );
    for (const { datname } of old.rows) {
      const born = parseInt(datname.split('_')[2] ?? '', 36);
      if (Number.isFinite(born) && Date.now() - born > 3600_000)
        await c.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
    }
    await c.query(`create database "${name}"`);
  });
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin((c) => c.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}
