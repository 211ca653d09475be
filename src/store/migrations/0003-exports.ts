/**
 * Schema additions of the exports issue. Same rules as 0001: Kysely schema builder only, both dialects.
 */
import type { Kysely } from 'kysely';
import type { StoreDialect } from '../dialect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function up(_db: Kysely<any>, _dialect: StoreDialect): Promise<void> {}
