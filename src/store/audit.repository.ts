/**
 * Audit log of changes made through the admin API (migration 0005).
 */
import type { Generated, Kysely, Selectable, Transaction } from 'kysely';
import type { Database } from './tables.js';

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  /** `admin`, or `account:<id>` for an account token. */
  actor: string;
  account_id: string | null;
  /** Dotted verb: `account.create`, `instance.put`, `job.retry`… */
  action: string;
  target: string | null;
  details_json: string | null;
  request_id: string | null;
}
export type AuditLogRow = Selectable<AuditLogTable>;

type AnyDb = Kysely<Database> | Transaction<Database>;

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  accountId: string | null;
  action: string;
  target: string | null;
  details: Record<string, unknown> | null;
  requestId: string | null;
}

export const auditRowToEntry = (r: AuditLogRow): AuditEntry => ({
  id: Number(r.id),
  at: r.at,
  actor: r.actor,
  accountId: r.account_id,
  action: r.action,
  target: r.target,
  details: r.details_json ? (JSON.parse(r.details_json) as Record<string, unknown>) : null,
  requestId: r.request_id,
});

export interface NewAuditEntry {
  actor: string;
  accountId?: string | null;
  action: string;
  target?: string | null;
  /** Must not contain secrets (passwords, tokens): callers pass only what an operator may read back. */
  details?: Record<string, unknown> | null;
  requestId?: string | null;
}

export async function insertAuditEntry(db: AnyDb, e: NewAuditEntry, at = new Date()): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at: at.toISOString(),
      actor: e.actor,
      account_id: e.accountId ?? null,
      action: e.action,
      target: e.target ?? null,
      details_json: e.details ? JSON.stringify(e.details) : null,
      request_id: e.requestId ?? null,
    })
    .execute();
}

export interface ListAuditQuery {
  accountId?: string;
  /** Page size, default 50, at most 500. */
  limit?: number;
  /** Keyset cursor: entries older than this id. */
  beforeId?: number;
}

/** Newest first, keyset-paginated on id. */
export async function listAuditEntries(db: AnyDb, q: ListAuditQuery = {}): Promise<AuditEntry[]> {
  let query = db.selectFrom('audit_log').selectAll();
  if (q.accountId) query = query.where('account_id', '=', q.accountId);
  if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
  const rows = await query
    .orderBy('id', 'desc')
    .limit(Math.min(Math.max(q.limit ?? 50, 1), 500))
    .execute();
  return rows.map(auditRowToEntry);
}
