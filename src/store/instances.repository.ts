/** Instances (import, export, csv2sms, ftpzip): the definition is a JSON document each capability validates. */
import type { Db } from './accounts.js';
import type { InstanceKind, InstanceRow } from './tables.js';

export interface InstanceRecord {
  id: string;
  accountId: string;
  kind: InstanceKind;
  enabled: boolean;
  definition: unknown;
  createdAt: string;
  updatedAt: string;
}

export const instanceRowToRecord = (r: InstanceRow): InstanceRecord => ({
  id: r.id,
  accountId: r.account_id,
  kind: r.kind,
  enabled: r.enabled === 1,
  definition: JSON.parse(r.definition_json) as unknown,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** Create or replace an instance by id; returns whether it was created. */
export async function upsertInstance(
  db: Db,
  input: { id: string; accountId: string; kind: InstanceKind; enabled: boolean; definition: unknown },
  at = new Date(),
): Promise<{ created: boolean }> {
  const now = at.toISOString();
  const existing = await db
    .selectFrom('instances')
    .select('id')
    .where('id', '=', input.id)
    .executeTakeFirst();
  const definition_json = JSON.stringify(input.definition);
  if (existing) {
    await db
      .updateTable('instances')
      .set({
        account_id: input.accountId,
        kind: input.kind,
        enabled: input.enabled ? 1 : 0,
        definition_json,
        updated_at: now,
      })
      .where('id', '=', input.id)
      .execute();
    return { created: false };
  }
  await db
    .insertInto('instances')
    .values({
      id: input.id,
      account_id: input.accountId,
      kind: input.kind,
      enabled: input.enabled ? 1 : 0,
      definition_json,
      created_at: now,
      updated_at: now,
    })
    .execute();
  return { created: true };
}

export async function findInstance(db: Db, id: string): Promise<InstanceRecord | undefined> {
  const r = await db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
  return r && instanceRowToRecord(r);
}

export async function listInstances(
  db: Db,
  filter: { accountId?: string; kind?: InstanceKind } = {},
): Promise<InstanceRecord[]> {
  let q = db.selectFrom('instances').selectAll();
  if (filter.accountId) q = q.where('account_id', '=', filter.accountId);
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  return (await q.orderBy('account_id').orderBy('id').execute()).map(instanceRowToRecord);
}

export async function setInstanceEnabled(
  db: Db,
  id: string,
  enabled: boolean,
  at = new Date(),
): Promise<boolean> {
  const r = await db
    .updateTable('instances')
    .set({ enabled: enabled ? 1 : 0, updated_at: at.toISOString() })
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}
