/** Import instances in the store: `datasync instances apply FILE.yaml` and the config's `accounts` section. */
import { DatasyncError } from '../errors.js';
import { findAccount, listInstances, upsertInstance, type Store } from '../store/index.js';
import { parseImportInstance, type ImportInstance, type ImportInstanceInput } from './import-instance.js';

export interface ApplyInstancesResult {
  created: string[];
  updated: string[];
}

/**
 * Store import instances (create or replace by id), idempotently, in one transaction: either every
 * definition is stored or none. Definitions are validated again (defaults resolved) and their accounts must exist.
 */
export async function applyInstances(
  store: Store,
  defs: Array<ImportInstance | ImportInstanceInput>,
): Promise<ApplyInstancesResult> {
  const resolved = defs.map((d, i) => parseImportInstance(d, `instances[${i}]`));
  const result: ApplyInstancesResult = { created: [], updated: [] };
  await store.db.transaction().execute(async (trx) => {
    for (const d of resolved) {
      if (!(await findAccount(trx, d.accountId)))
        throw new DatasyncError(
          'DS_IMPORT_INSTANCE_INVALID',
          `instance "${d.id}": account "${d.accountId}" does not exist`,
        );
      const { created } = await upsertInstance(trx, {
        id: d.id,
        accountId: d.accountId,
        kind: 'import',
        enabled: d.enabled,
        definition: d,
      });
      (created ? result.created : result.updated).push(d.id);
    }
  });
  return result;
}

/** The account's import instances (enabled or not), resolved; invalid stored definitions are skipped. */
export async function listImportInstances(store: Store, accountId?: string): Promise<ImportInstance[]> {
  const out: ImportInstance[] = [];
  for (const rec of await listInstances(store.db, { kind: 'import', ...(accountId ? { accountId } : {}) })) {
    try {
      out.push({ ...parseImportInstance(rec.definition, rec.id), enabled: rec.enabled });
    } catch {
      // A definition stored by an older version that no longer validates: it matches no file.
    }
  }
  return out;
}
