/** Job records: every job (import, export, csv2sms, ftpzip) leaves one, visible in the CLI, API and dashboard. */
import { randomBytes } from 'node:crypto';
import type { Db } from './accounts.js';
import type { InstanceKind, JobRow, JobStatus, JobTrigger, JobUpdate } from './tables.js';

export interface JobRecord {
  id: string;
  accountId: string;
  instanceId: string | null;
  kind: InstanceKind;
  trigger: JobTrigger;
  status: JobStatus;
  inputName: string | null;
  inputPath: string | null;
  inputSha256: string | null;
  inputSize: number | null;
  counters: Record<string, unknown> | null;
  checkpoint: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  result: Record<string, unknown> | null;
  attempts: number;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
}

const parse = (s: string | null): Record<string, unknown> | null =>
  s ? (JSON.parse(s) as Record<string, unknown>) : null;

export const jobRowToJob = (r: JobRow): JobRecord => ({
  id: r.id,
  accountId: r.account_id,
  instanceId: r.instance_id,
  kind: r.kind,
  trigger: r.trigger,
  status: r.status,
  inputName: r.input_name,
  inputPath: r.input_path,
  inputSha256: r.input_sha256,
  inputSize: r.input_size,
  counters: parse(r.counters_json),
  checkpoint: parse(r.checkpoint_json),
  error: r.error_code ? { code: r.error_code, message: r.error_message ?? '' } : null,
  result: parse(r.result_json),
  attempts: r.attempts,
  createdAt: r.created_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
});

/**
 * A time-sortable job id: 9 base-36 characters of milliseconds, then 6 random ones. Safe in file names
 * (`<jobId>_<name>`), sorts in creation order, unique across processes.
 */
export function newJobId(at = new Date()): string {
  const t = at.getTime().toString(36).padStart(9, '0');
  const r = BigInt('0x' + randomBytes(5).toString('hex'))
    .toString(36)
    .padStart(8, '0')
    .slice(-6);
  return `${t}${r}`;
}

export async function insertJob(
  db: Db,
  input: {
    id?: string;
    accountId: string;
    instanceId?: string | null;
    kind: InstanceKind;
    trigger: JobTrigger;
    status?: JobStatus;
    inputName?: string | null;
    inputPath?: string | null;
    inputSha256?: string | null;
    inputSize?: number | null;
  },
  at = new Date(),
): Promise<JobRecord> {
  const row = await db
    .insertInto('jobs')
    .values({
      id: input.id ?? newJobId(at),
      account_id: input.accountId,
      instance_id: input.instanceId ?? null,
      kind: input.kind,
      trigger: input.trigger,
      status: input.status ?? 'queued',
      input_name: input.inputName ?? null,
      input_path: input.inputPath ?? null,
      input_sha256: input.inputSha256 ?? null,
      input_size: input.inputSize ?? null,
      counters_json: null,
      checkpoint_json: null,
      error_code: null,
      error_message: null,
      result_json: null,
      attempts: 0,
      run_after: null,
      lease_owner: null,
      lease_until: null,
      created_at: at.toISOString(),
      started_at: null,
      ended_at: null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return jobRowToJob(row);
}

export async function updateJob(db: Db, id: string, update: JobUpdate): Promise<void> {
  await db.updateTable('jobs').set(update).where('id', '=', id).execute();
}

export async function findJob(db: Db, id: string): Promise<JobRecord | undefined> {
  const r = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  return r && jobRowToJob(r);
}

export interface ListJobsQuery {
  accountId?: string;
  instanceId?: string;
  status?: JobStatus;
  kind?: InstanceKind;
  /** Page size, default 50, at most 500. */
  limit?: number;
  /** Keyset cursor: jobs created before this job id (ids sort by creation time). */
  beforeId?: string;
}

/** Newest first, keyset-paginated on the time-sortable id. */
export async function listJobs(db: Db, q: ListJobsQuery = {}): Promise<JobRecord[]> {
  let query = db.selectFrom('jobs').selectAll();
  if (q.accountId) query = query.where('account_id', '=', q.accountId);
  if (q.instanceId) query = query.where('instance_id', '=', q.instanceId);
  if (q.status) query = query.where('status', '=', q.status);
  if (q.kind) query = query.where('kind', '=', q.kind);
  if (q.beforeId) query = query.where('id', '<', q.beforeId);
  const rows = await query
    .orderBy('id', 'desc')
    .limit(Math.min(Math.max(q.limit ?? 50, 1), 500))
    .execute();
  return rows.map(jobRowToJob);
}
