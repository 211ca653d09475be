/**
 * `datasync instances apply` and config provisioning for export instances: validate every document first
 * (all problems listed at once, nothing stored when one is wrong), check the lists exist, then upsert.
 */
import { DatasyncError } from '../errors.js';
import { findAccount, listLists, upsertInstance, type Db } from '../store/index.js';
import { exportInstanceSchema, storedDefinition, type ExportInstance } from './export-instance.js';

export interface ApplyResult {
  created: string[];
  updated: string[];
}

/**
 * Applies export instance documents (each `{ id, accountId, kind: 'export', … }`). `accountId`, when given,
 * is filled into documents without one (config sections are per account) and must match the others.
 */
export async function applyExportInstances(
  store: { db: Db },
  docs: readonly unknown[],
  opts: { accountId?: string; at?: Date } = {},
): Promise<ApplyResult> {
  const problems: string[] = [];
  const parsed: ExportInstance[] = [];
  docs.forEach((doc, i) => {
    const input =
      opts.accountId && doc && typeof doc === 'object' && !('accountId' in doc)
        ? { ...doc, accountId: opts.accountId }
        : doc;
    const r = exportInstanceSchema.safeParse(input);
    if (!r.success) {
      for (const issue of r.error.issues)
        problems.push(`instances[${i}]${issue.path.map((p) => `.${String(p)}`).join('')}: ${issue.message}`);
      return;
    }
    if (opts.accountId && r.data.accountId !== opts.accountId)
      problems.push(`instances[${i}].accountId: must be "${opts.accountId}"`);
    parsed.push(r.data);
  });
  const ids = new Set<string>();
  for (const d of parsed) {
    if (ids.has(d.id)) problems.push(`instances: id "${d.id}" appears twice`);
    ids.add(d.id);
  }
  const { db } = store;
  const listsOf = new Map<string, Set<number> | null>();
  for (const d of parsed) {
    if (!listsOf.has(d.accountId))
      listsOf.set(
        d.accountId,
        (await findAccount(db, d.accountId))
          ? new Set((await listLists(db, d.accountId)).map((l) => l.listId))
          : null,
      );
    const lists = listsOf.get(d.accountId);
    if (!lists) problems.push(`instance "${d.id}": account "${d.accountId}" does not exist`);
    else
      for (const l of d.lists)
        if (!lists.has(l)) problems.push(`instance "${d.id}": list ${l} does not exist`);
  }
  if (problems.length > 0)
    throw new DatasyncError(
      'DS_EXPORT_INSTANCE_INVALID',
      `export instances have ${problems.length} problem(s):\n${problems.join('\n')}`,
      { details: { problems } },
    );
  const out: ApplyResult = { created: [], updated: [] };
  for (const d of parsed) {
    const { created } = await upsertInstance(
      db,
      {
        id: d.id,
        accountId: d.accountId,
        kind: 'export',
        enabled: d.enabled,
        definition: storedDefinition(d),
      },
      opts.at,
    );
    (created ? out.created : out.updated).push(d.id);
  }
  return out;
}
