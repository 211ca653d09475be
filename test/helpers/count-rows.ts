/** How many rows a table holds: what tests compare before and after an action that must write nothing. */
import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/index.js';

export async function countRows(db: Kysely<Database>, table: keyof Database): Promise<number> {
  const r = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  // PostgreSQL returns count(*) as a bigint string, SQLite as a number.
  return Number(r.n);
}
