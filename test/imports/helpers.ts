/** Shared set-up of the import tests: an account with lists, groups and fields, and instances. */
import fs from 'node:fs';
import path from 'node:path';
import { addGroup, addList, createAccount, type Store } from '../../src/store/index.js';
import { applyInstances, type ImportInstanceInput } from '../../src/imports/index.js';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/imports');

export async function seedAccount(
  store: Store,
  accountId = 'acme',
): Promise<{ groupA: number; groupB: number }> {
  await createAccount(store.db, { id: accountId, defaultCountry: 'IT' });
  await addList(store.db, { accountId, listId: 1, name: 'Newsletter', mobilePrefix: '39' });
  await addList(store.db, { accountId, listId: 2, name: 'Promotions', mobilePrefix: '39' });
  const a = await addGroup(store.db, { accountId, listId: 1, name: 'Customers' });
  const b = await addGroup(store.db, { accountId, listId: 1, name: 'VIP' });
  await addGroup(store.db, { accountId, listId: 2, name: 'Leads' });
  return { groupA: a.id, groupB: b.id };
}

export async function withInstance(
  store: Store,
  def: Partial<ImportInstanceInput> & { id?: string },
): Promise<string> {
  const id = def.id ?? 'inst';
  await applyInstances(store, [
    { accountId: 'acme', destination: { listId: 1 }, ...def, id } as ImportInstanceInput,
  ]);
  return id;
}

export function writeTemp(dir: string, name: string, content: string | Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

export async function recipients(store: Store) {
  return store.db.selectFrom('recipients').selectAll().orderBy('id').execute();
}

export async function subscriptions(store: Store) {
  return store.db
    .selectFrom('subscriptions')
    .selectAll()
    .orderBy('recipient_id')
    .orderBy('list_id')
    .orderBy('channel')
    .execute();
}
