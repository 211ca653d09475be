/**
 * Before any test: drop the per-test PostgreSQL schemas (`t_…`) left by earlier runs. Tests never drop their
 * schema themselves (see test/helpers/store.ts), so this is the one place they go.
 */
import pg from 'pg';

export default async function setup(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) return;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ nspname: string }>(
      `select nspname from pg_namespace where nspname like 't\\_%'`,
    );
    for (const { nspname } of r.rows) await c.query(`drop schema if exists "${nspname}" cascade`);
  } finally {
    await c.end();
  }
}
