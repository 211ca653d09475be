/** Shared set-up of the import tests: an account with lists, groups and fields, and instances. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { addGroup, addList, createAccount, type Store } from '../../src/store/index.js';
import { applyInstances, importFile, type ImportInstanceInput } from '../../src/imports/index.js';
import { freshStore, type DialectName, type TestStore } from '../helpers/store.js';

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

/**
 * A fresh store seeded by {@link seedAccount} and a temp folder for import files; `run` applies an instance
 * (`inst` unless `id`) and imports `content` with it through `importFile`.
 */
export interface SeededImports {
  store: TestStore;
  dir: string;
  groups: { groupA: number; groupB: number };
  run(
    content: string,
    def: Partial<ImportInstanceInput>,
    opts?: { id?: string; dryRun?: boolean; batchSize?: number },
  ): ReturnType<typeof importFile>;
  close(): Promise<void>;
}

export async function openSeededImports(dialect: DialectName, prefix: string): Promise<SeededImports> {
  const store = await freshStore(dialect);
  const groups = await seedAccount(store);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    store,
    dir,
    groups,
    async run(content, def, opts = {}) {
      const id = await withInstance(store, { ...def, id: opts.id ?? 'inst' });
      return importFile(store, {
        file: writeTemp(dir, `f${Math.random()}.csv`, content),
        instanceId: id,
        dryRun: opts.dryRun,
        batchSize: opts.batchSize,
      });
    },
    async close() {
      await store.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
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

/**
 * A large import file for crash and takeover tests: 1% invalid emails (rejected rows), 1% repeats of an earlier
 * row's keys (duplicates), the rest unique; mobiles on every third row.
 */
export function generateImportFile(file: string, ROWS: number): void {
  const out = fs.openSync(file, 'w');
  const lines: string[] = ['111;444;1;2;3;4;5;6;7;8'];
  for (let i = 0; i < ROWS; i++) {
    // 1% invalid emails (rejected rows), 1% repeats of an earlier row's keys (duplicates: row i − 5003 is a
    // plain row, where i − 5000 was itself a repeat row and so never a duplicate), the rest unique.
    const n = i % 100 === 7 ? i - 5003 : i;
    const email = i % 100 === 3 ? `bad-${i}` : `user${n}@example.com`;
    const mobile = i % 3 === 0 ? `+3934${String(10_000_000 + n)}` : '';
    lines.push(`${email};${mobile};first${i};last${i};city${i % 50};c;d;e;f;g${i}`);
    if (lines.length >= 10_000) {
      fs.writeSync(out, lines.join('\n') + '\n');
      lines.length = 0;
    }
  }
  fs.writeSync(out, lines.join('\n') + '\n');
  fs.closeSync(out);
}

/** Recipients, subscriptions and group memberships in a stable order: equal snapshots mean equal data. */
export async function importSnapshot(store: Store) {
  const recipients = await store.db
    .selectFrom('recipients')
    .select(['email', 'mobile', 'f1', 'f2', 'f3', 'f8'])
    .orderBy('email')
    .orderBy('mobile')
    .execute();
  const subs = await store.db
    .selectFrom('subscriptions')
    .innerJoin('recipients', 'recipients.id', 'subscriptions.recipient_id')
    .select(['email', 'mobile', 'list_id', 'channel', 'status'])
    .orderBy('email')
    .orderBy('mobile')
    .orderBy('channel')
    .execute();
  const members = await store.db
    .selectFrom('group_members')
    .innerJoin('recipients', 'recipients.id', 'group_members.recipient_id')
    .select(['email', 'mobile', 'group_id'])
    .orderBy('email')
    .orderBy('mobile')
    .execute();
  return { recipients, subs, members };
}
