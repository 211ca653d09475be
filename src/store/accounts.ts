/** Accounts, recipient fields, lists and groups: the containers every other record belongs to. */
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { NotFoundError, ValidationError } from '../errors.js';
import type { AccountRow, Database, FieldRow, GroupRow, ListRow } from './tables.js';

/** A database handle or an open transaction: repository functions take it first, so callers own transactions. */
export type Db = Kysely<Database> | Transaction<Database>;

export interface Account {
  id: string;
  name: string;
  timeZone: string;
  defaultCountry: string;
  createdAt: string;
}
export interface List {
  accountId: string;
  listId: number;
  guid: string;
  name: string;
  mobilePrefix: string | null;
  createdAt: string;
}
export interface Group {
  id: number;
  accountId: string;
  listId: number;
  name: string;
  isTest: boolean;
  createdAt: string;
}
export interface Field {
  fieldId: number;
  name: string;
  defaultValue: string | null;
}

export const accountRowToAccount = (r: AccountRow): Account => ({
  id: r.id,
  name: r.name,
  timeZone: r.time_zone,
  defaultCountry: r.default_country,
  createdAt: r.created_at,
});
export const listRowToList = (r: ListRow): List => ({
  accountId: r.account_id,
  listId: r.list_id,
  guid: r.guid,
  name: r.name,
  mobilePrefix: r.mobile_prefix,
  createdAt: r.created_at,
});
export const groupRowToGroup = (r: GroupRow): Group => ({
  id: r.id,
  accountId: r.account_id,
  listId: r.list_id,
  name: r.name,
  isTest: r.is_test === 1,
  createdAt: r.created_at,
});
const fieldRowToField = (r: FieldRow): Field => ({
  fieldId: r.field_id,
  name: r.name,
  defaultValue: r.default_value,
});

const ACCOUNT_ID_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function checkTimeZone(tz: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
  } catch {
    throw new ValidationError(`"${tz}" is not an IANA time zone (e.g. Europe/Rome)`);
  }
}

export async function createAccount(
  db: Db,
  input: { id: string; name?: string; timeZone?: string; defaultCountry?: string },
  at = new Date(),
): Promise<Account> {
  if (!ACCOUNT_ID_RE.test(input.id))
    throw new ValidationError(
      `account id "${input.id}" must be 1-63 characters of a-z, 0-9, "-" or "_", starting with a letter or digit`,
    );
  const timeZone = input.timeZone ?? 'Europe/Rome';
  checkTimeZone(timeZone);
  const defaultCountry = (input.defaultCountry ?? 'IT').toUpperCase();
  if (!/^[A-Z]{2}$/.test(defaultCountry))
    throw new ValidationError(`"${defaultCountry}" is not an ISO country code`);
  const row = {
    id: input.id,
    name: input.name ?? input.id,
    time_zone: timeZone,
    default_country: defaultCountry,
    created_at: at.toISOString(),
  };
  await db.insertInto('accounts').values(row).execute();
  return accountRowToAccount(row);
}

export async function findAccount(db: Db, id: string): Promise<Account | undefined> {
  const r = await db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
  return r && accountRowToAccount(r);
}

export async function getAccount(db: Db, id: string): Promise<Account> {
  const a = await findAccount(db, id);
  if (!a) throw new NotFoundError(`account "${id}" does not exist`);
  return a;
}

export async function listAccounts(db: Db): Promise<Account[]> {
  return (await db.selectFrom('accounts').selectAll().orderBy('id').execute()).map(accountRowToAccount);
}

export async function setField(db: Db, accountId: string, fieldId: number, name: string): Promise<Field> {
  if (!Number.isInteger(fieldId) || fieldId < 1 || fieldId > 39)
    throw new ValidationError(`field id ${fieldId} is outside 1..39`, { code: 'DS_FIELD_UNKNOWN' });
  if (!name.trim()) throw new ValidationError('a field needs a name');
  await getAccount(db, accountId);
  await db
    .insertInto('fields')
    .values({ account_id: accountId, field_id: fieldId, name: name.trim(), default_value: null })
    .onConflict((oc) => oc.columns(['account_id', 'field_id']).doUpdateSet({ name: name.trim() }))
    .execute();
  return { fieldId, name: name.trim(), defaultValue: null };
}

export async function listFields(db: Db, accountId: string): Promise<Field[]> {
  const rows = await db
    .selectFrom('fields')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('field_id')
    .execute();
  return rows.map(fieldRowToField);
}

export async function addList(
  db: Db,
  input: { accountId: string; listId: number; name: string; mobilePrefix?: string | null; guid?: string },
  at = new Date(),
): Promise<List> {
  if (!Number.isInteger(input.listId) || input.listId < 1)
    throw new ValidationError(`list id must be a positive integer`);
  if (!input.name.trim()) throw new ValidationError('a list needs a name');
  const prefix = input.mobilePrefix ? input.mobilePrefix.replace(/^\+/, '').replace(/^00/, '') : null;
  if (prefix !== null && !/^[0-9]{1,4}$/.test(prefix))
    throw new ValidationError(`mobile prefix "${input.mobilePrefix}" must be 1-4 digits (e.g. 39 or 0039)`);
  await getAccount(db, input.accountId);
  const row = {
    account_id: input.accountId,
    list_id: input.listId,
    guid: input.guid ?? randomUUID(),
    name: input.name.trim(),
    mobile_prefix: prefix,
    created_at: at.toISOString(),
  };
  await db.insertInto('lists').values(row).execute();
  return listRowToList(row);
}

export async function findList(db: Db, accountId: string, listId: number): Promise<List | undefined> {
  const r = await db
    .selectFrom('lists')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('list_id', '=', listId)
    .executeTakeFirst();
  return r && listRowToList(r);
}

export async function getList(db: Db, accountId: string, listId: number): Promise<List> {
  const l = await findList(db, accountId, listId);
  if (!l)
    throw new NotFoundError(`list ${listId} does not exist in account "${accountId}"`, {
      code: 'DS_LIST_UNKNOWN',
    });
  return l;
}

export async function listLists(db: Db, accountId: string): Promise<List[]> {
  const rows = await db
    .selectFrom('lists')
    .selectAll()
    .where('account_id', '=', accountId)
    .orderBy('list_id')
    .execute();
  return rows.map(listRowToList);
}

export async function addGroup(
  db: Db,
  input: { accountId: string; listId: number; name: string; isTest?: boolean },
  at = new Date(),
): Promise<Group> {
  if (!input.name.trim()) throw new ValidationError('a group needs a name');
  await getList(db, input.accountId, input.listId);
  const row = await db
    .insertInto('groups')
    .values({
      account_id: input.accountId,
      list_id: input.listId,
      name: input.name.trim(),
      is_test: input.isTest ? 1 : 0,
      created_at: at.toISOString(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return groupRowToGroup(row);
}

export async function listGroups(db: Db, accountId: string, listId?: number): Promise<Group[]> {
  let q = db.selectFrom('groups').selectAll().where('account_id', '=', accountId);
  if (listId !== undefined) q = q.where('list_id', '=', listId);
  return (await q.orderBy('list_id').orderBy('id').execute()).map(groupRowToGroup);
}

export async function findGroup(db: Db, accountId: string, groupId: number): Promise<Group | undefined> {
  const r = await db
    .selectFrom('groups')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('id', '=', groupId)
    .executeTakeFirst();
  return r && groupRowToGroup(r);
}
