/**
 * What the admin route files (`admin-*.routes.ts`) share: keyset page schemas, the `{ items, next }` page
 * envelope, and the audit helper that records who changed what.
 *
 * Pages: every listing takes `?limit=` and a cursor (`?after=` or `?before=`, depending on the order) and
 * answers `{ items, next }`, where `next` is the cursor of the following page or null on the last one. The
 * query fetches `limit + 1` rows, so "is there more" costs no count.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { insertAuditEntry, type NewAuditEntry } from '../store/audit.repository.js';
import type { Db } from '../store/index.js';

export const accountParams = z.object({ accountId: z.string().min(1).max(64) });
export const limitSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(200)
  .default(50)
  .describe('page size (1..200, default 50)');

/** A page of results and the cursor of the next one (null on the last page). */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), next: z.string().nullable() });

/** Cut a `limit + 1` fetch into a page; `cursor` gives the next-page cursor from the last item kept. */
export function toPage<T>(rows: T[], limit: number, cursor: (last: T) => string | number) {
  const items = rows.slice(0, limit);
  const more = rows.length > limit;
  return { items, next: more && items.length ? String(cursor(items[items.length - 1]!)) : null };
}

/** `admin` or `account:<id>`: who made a change, as the audit log records it. */
export function actorOf(req: FastifyRequest): string {
  const p = req.principal;
  return p?.kind === 'account' ? `account:${p.accountId}` : 'admin';
}

/** Record one change in the audit log (never pass secrets in `details`). */
export async function audit(
  db: Db,
  req: FastifyRequest,
  e: Omit<NewAuditEntry, 'actor' | 'requestId'>,
  at = new Date(),
): Promise<void> {
  await insertAuditEntry(db, { ...e, actor: actorOf(req), requestId: req.id }, at);
}
