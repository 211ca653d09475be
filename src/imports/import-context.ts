/** Everything a job needs to know about its account, loaded once when the job (re)starts. */
import type { Db } from '../store/index.js';
import { findInstance, getAccount, listFields, listGroups, listLists } from '../store/index.js';
import { DatasyncError, ImportFileError } from '../errors.js';
import { parseImportInstance, type ImportInstance } from './import-instance.js';
import type { GroupInfo, ListInfo } from './row-validator.js';

export interface AccountContext {
  accountId: string;
  defaultCountry: string;
  lists: Map<number, ListInfo>;
  groupsById: Map<number, GroupInfo>;
  groupsByName: Map<string, GroupInfo>;
  groupsOfList: Map<number, number[]>;
  definedFields: Set<number>;
  fixedGroup: GroupInfo | null;
}

/** Load a stored import instance; DS_IMPORT_INSTANCE_INVALID when missing, not an import, or not valid. */
export async function loadImportInstance(db: Db, instanceId: string): Promise<ImportInstance> {
  const rec = await findInstance(db, instanceId);
  if (!rec) throw new DatasyncError('DS_NOT_FOUND', `import instance "${instanceId}" does not exist`);
  if (rec.kind !== 'import')
    throw new DatasyncError(
      'DS_IMPORT_INSTANCE_INVALID',
      `instance "${instanceId}" is a ${rec.kind} instance`,
    );
  const def = parseImportInstance(rec.definition, instanceId);
  return { ...def, enabled: rec.enabled };
}

export async function loadAccountContext(db: Db, instance: ImportInstance): Promise<AccountContext> {
  const account = await getAccount(db, instance.accountId);
  const lists = new Map<number, ListInfo>();
  for (const l of await listLists(db, account.id))
    lists.set(l.listId, { listId: l.listId, mobilePrefix: l.mobilePrefix });
  const groupsById = new Map<number, GroupInfo>();
  const groupsByName = new Map<string, GroupInfo>();
  const groupsOfList = new Map<number, number[]>();
  for (const g of await listGroups(db, account.id)) {
    const info = { id: g.id, listId: g.listId, name: g.name };
    groupsById.set(g.id, info);
    // ExternalGroupName matching (gap §7.5): trimmed, case-insensitive, within the row's list.
    groupsByName.set(`${g.listId}:${g.name.trim().toLowerCase()}`, info);
    groupsOfList.set(g.listId, [...(groupsOfList.get(g.listId) ?? []), g.id]);
  }
  const d = instance.destination;
  // An unknown fixed list or group is a file-level failure (reference §6.2): nothing can be imported.
  if (d.listId !== undefined && !lists.has(d.listId))
    throw new ImportFileError('DS_LIST_UNKNOWN', `list ${d.listId} of the instance does not exist`, {
      details: { listId: d.listId },
    });
  let fixedGroup: GroupInfo | null = null;
  if (d.groupId !== undefined) {
    fixedGroup = groupsById.get(d.groupId) ?? null;
    if (!fixedGroup || (d.listId !== undefined && fixedGroup.listId !== d.listId))
      throw new ImportFileError(
        'DS_GROUP_UNKNOWN',
        `group ${d.groupId} of the instance does not exist in its list`,
        { details: { groupId: d.groupId } },
      );
  } else if (d.groupName !== undefined) {
    const want = d.groupName.trim().toLowerCase();
    fixedGroup =
      [...groupsById.values()].find(
        (g) => g.name.trim().toLowerCase() === want && (d.listId === undefined || g.listId === d.listId),
      ) ?? null;
    if (!fixedGroup)
      throw new ImportFileError(
        'DS_GROUP_UNKNOWN',
        `group "${d.groupName}" of the instance does not exist`,
        {},
      );
  }
  const definedFields = new Set((await listFields(db, account.id)).map((f) => f.fieldId));
  return {
    accountId: account.id,
    defaultCountry: account.defaultCountry,
    lists,
    groupsById,
    groupsByName,
    groupsOfList,
    definedFields,
    fixedGroup,
  };
}
