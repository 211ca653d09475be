/**
 * Declarative provisioning (`accounts:` in the config file) and the first-start demo. Applied idempotently
 * at every start: what exists is left as it is (the database stays the source of truth), what is missing is
 * created.
 */
import type { Config } from '../config/index.js';
import { createApiToken } from '../http/index.js';
import type { Logger } from '../logger.js';
import {
  addGroup,
  addList,
  createAccount,
  findAccount,
  findList,
  getSetting,
  listAccounts,
  listGroups,
  listFields,
  setField,
  setSetting,
  type Store,
} from '../store/index.js';

/** Extra provisioning steps owned by other capabilities (SFTP users, instances), run per account. */
export interface ProvisionHooks {
  users?(store: Store, accountId: string, users: Config['accounts'][number]['users']): Promise<void>;
  instances?(
    store: Store,
    accountId: string,
    instances: Config['accounts'][number]['instances'],
  ): Promise<void>;
}

export async function provisionAccounts(
  store: Store,
  config: Config,
  hooks: ProvisionHooks,
  log: Logger,
): Promise<void> {
  const { db } = store;
  for (const a of config.accounts) {
    if (!(await findAccount(db, a.id))) {
      await createAccount(db, {
        id: a.id,
        name: a.name,
        timeZone: a.timeZone,
        defaultCountry: a.defaultCountry,
      });
      log.info({ account: a.id }, 'account provisioned from config');
    }
    const knownFields = new Map((await listFields(db, a.id)).map((f) => [f.fieldId, f.name]));
    for (const f of a.fields) if (knownFields.get(f.id) !== f.name) await setField(db, a.id, f.id, f.name);
    for (const l of a.lists) {
      if (!(await findList(db, a.id, l.id)))
        await addList(db, { accountId: a.id, listId: l.id, name: l.name, mobilePrefix: l.mobilePrefix });
    }
    const groups = await listGroups(db, a.id);
    for (const g of a.groups) {
      if (!groups.some((x) => x.listId === g.listId && x.name === g.name))
        await addGroup(db, { accountId: a.id, listId: g.listId, name: g.name });
    }
    if (hooks.users && a.users.length) await hooks.users(store, a.id, a.users);
    if (hooks.instances && a.instances.length) await hooks.instances(store, a.id, a.instances);
  }
}

export interface FirstStartSecrets {
  adminToken?: string;
  demo?: { account: string; username: string; password: string };
}

export interface DemoHooks {
  /** Create the demo SFTP user; returns its generated password. */
  createDemoUser?(store: Store, accountId: string, username: string): Promise<string>;
  /** Create the demo import/export instances. */
  createDemoInstances?(store: Store, accountId: string): Promise<void>;
}

/**
 * First start: an admin API token (unless the config gives one) and, when there are no accounts at all,
 * the demo account of INTERFACES.md. Returns the clear secrets so `serve` can print them once.
 */
export async function firstStart(store: Store, config: Config, hooks: DemoHooks): Promise<FirstStartSecrets> {
  const { db } = store;
  const out: FirstStartSecrets = {};
  if (config.http.adminToken) {
    await createApiToken(db, { accountId: null, name: 'config', token: config.http.adminToken });
  } else if (!(await getSetting(db, 'admin_token.created'))) {
    out.adminToken = await createApiToken(db, { accountId: null, name: 'first-start' });
    await setSetting(db, 'admin_token.created', new Date().toISOString());
  }
  if (config.demo && !(await getSetting(db, 'demo.created')) && (await listAccounts(db)).length === 0) {
    await db.transaction().execute(async (trx) => {
      await createAccount(trx, { id: 'demo', name: 'Demo account' });
      await addList(trx, { accountId: 'demo', listId: 1, name: 'Newsletter', mobilePrefix: '39' });
      await setField(trx, 'demo', 1, 'First name');
      await setField(trx, 'demo', 2, 'Last name');
      await setField(trx, 'demo', 3, 'City');
      await addGroup(trx, { accountId: 'demo', listId: 1, name: 'Imported' });
    });
    if (hooks.createDemoInstances) await hooks.createDemoInstances(store, 'demo');
    if (hooks.createDemoUser) {
      const password = await hooks.createDemoUser(store, 'demo', 'demo');
      out.demo = { account: 'demo', username: 'demo', password };
    }
    await setSetting(db, 'demo.created', new Date().toISOString());
  }
  return out;
}
