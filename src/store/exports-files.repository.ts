/**
 * Export bookkeeping: watermarks (where the next incremental window starts) and the files each instance wrote
 * (sequence numbers of file names, retention). The watermark and the file record are written in one
 * transaction, after the file was renamed into place (invariant 5).
 */
import type { Db } from './accounts.js';

/** Table of migration 0003 (part of `Database` in tables.ts). */
export interface ExportFileTable {
  instance_id: string;
  seq: number;
  account_id: string;
  job_id: string;
  name: string;
  destination: string;
  rows: number;
  bytes: number;
  window_from: string | null;
  window_to: string;
  created_at: string;
  removed_at: string | null;
}

export interface ExportFileRecord {
  instanceId: string;
  seq: number;
  accountId: string;
  jobId: string;
  name: string;
  destination: string;
  rows: number;
  bytes: number;
  windowFrom: string | null;
  windowTo: string;
  createdAt: string;
  removedAt: string | null;
}

const exportFileRowToRecord = (r: ExportFileTable): ExportFileRecord => ({
  instanceId: r.instance_id,
  seq: r.seq,
  accountId: r.account_id,
  jobId: r.job_id,
  name: r.name,
  destination: r.destination,
  rows: r.rows,
  bytes: Number(r.bytes),
  windowFrom: r.window_from,
  windowTo: r.window_to,
  createdAt: r.created_at,
  removedAt: r.removed_at,
});

/** The end of the last successful incremental window of an instance, if any. */
export async function getExportWatermark(db: Db, instanceId: string): Promise<string | undefined> {
  const r = await db
    .selectFrom('export_watermarks')
    .select('watermark')
    .where('instance_id', '=', instanceId)
    .executeTakeFirst();
  return r?.watermark;
}

export async function setExportWatermark(
  db: Db,
  instanceId: string,
  watermark: string,
  at: Date,
): Promise<void> {
  await db
    .insertInto('export_watermarks')
    .values({ instance_id: instanceId, watermark, updated_at: at.toISOString() })
    .onConflict((oc) => oc.column('instance_id').doUpdateSet({ watermark, updated_at: at.toISOString() }))
    .execute();
}

/** Next sequence number of an instance's files (1 for the first). */
export async function nextExportSeq(db: Db, instanceId: string): Promise<number> {
  const r = await db
    .selectFrom('export_files')
    .select((eb) => eb.fn.max('seq').as('m'))
    .where('instance_id', '=', instanceId)
    .executeTakeFirst();
  return Number(r?.m ?? 0) + 1;
}

export async function insertExportFile(db: Db, rec: Omit<ExportFileRecord, 'removedAt'>): Promise<void> {
  await db
    .insertInto('export_files')
    .values({
      instance_id: rec.instanceId,
      seq: rec.seq,
      account_id: rec.accountId,
      job_id: rec.jobId,
      name: rec.name,
      destination: rec.destination,
      rows: rec.rows,
      bytes: rec.bytes,
      window_from: rec.windowFrom,
      window_to: rec.windowTo,
      created_at: rec.createdAt,
      removed_at: null,
    })
    .execute();
}

/** Files of an instance still in place, newest first. */
export async function listExportFiles(db: Db, instanceId: string): Promise<ExportFileRecord[]> {
  const rows = await db
    .selectFrom('export_files')
    .selectAll()
    .where('instance_id', '=', instanceId)
    .where('removed_at', 'is', null)
    .orderBy('seq', 'desc')
    .execute();
  return rows.map(exportFileRowToRecord);
}

export async function markExportFileRemoved(
  db: Db,
  instanceId: string,
  seq: number,
  at: Date,
): Promise<void> {
  await db
    .updateTable('export_files')
    .set({ removed_at: at.toISOString() })
    .where('instance_id', '=', instanceId)
    .where('seq', '=', seq)
    .execute();
}
