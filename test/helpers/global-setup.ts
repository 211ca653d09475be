/**
 * Before any test: drop the per-test PostgreSQL schemas (`t_…`) left by earlier runs. Tests never drop their
 * schema themselves (see test/helpers/store.ts), so this is the one place they go. Only schemas created more than
 * an hour ago (the name starts with its creation time, base 36) are dropped, so a run never pulls the schemas
 * from under another run going on against the same database.
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
    const cutoff = Date.now() - 60 * 60 * 1000;
    for (const { nspname } of r.rows) {
      const created = parseInt(nspname.split('_')[1] ?? '', 36);
      if (Number.isFinite(created) && created > cutoff) continue;
      await c.query(`drop schema if exists "${nspname}" cascade`);
    }
  } finally {
    await c.end();
  }
}
