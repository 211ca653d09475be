import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DatasyncError } from '../../src/errors.js';
import {
  addGroup,
  addList,
  createAccount,
  listAccounts,
  listFields,
  listGroups,
  listLists,
  listRecipients,
  setField,
  setSubscriptionStatus,
  upsertRecipient,
} from '../../src/store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DatasyncError) return e.code;
    throw e;
  }
  throw new Error('expected a DatasyncError');
}

describe.each(DIALECTS)('store on %s', (dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await freshStore(dialect);
    await createAccount(store.db, { id: 'acme', name: 'ACME' });
    await addList(store.db, { accountId: 'acme', listId: 1, name: 'Newsletter', mobilePrefix: '0039' });
  });
  afterEach(async () => store.cleanup());

  it('creates accounts, lists, fields and groups, and reports duplicates with DS_DUPLICATE', async () => {
    expect((await listAccounts(store.db)).map((a) => a.id)).toEqual(['acme']);
    expect(await codeOf(createAccount(store.db, { id: 'acme' }))).toBe('DS_DUPLICATE');
    expect(await codeOf(createAccount(store.db, { id: 'Bad Id!' }))).toBe('DS_VALIDATION');
    expect(await codeOf(createAccount(store.db, { id: 'x', timeZone: 'Mars/Base' }))).toBe('DS_VALIDATION');
    const lists = await listLists(store.db, 'acme');
    expect(lists).toHaveLength(1);
    expect(lists[0]).toMatchObject({ listId: 1, mobilePrefix: '39' });
    expect(await codeOf(addList(store.db, { accountId: 'acme', listId: 1, name: 'again' }))).toBe(
      'DS_DUPLICATE',
    );
    expect(await codeOf(addList(store.db, { accountId: 'nope', listId: 1, name: 'x' }))).toBe('DS_NOT_FOUND');
    await setField(store.db, 'acme', 1, 'First name');
    await setField(store.db, 'acme', 1, 'Name');
    expect(await listFields(store.db, 'acme')).toEqual([{ fieldId: 1, name: 'Name', defaultValue: null }]);
    expect(await codeOf(setField(store.db, 'acme', 40, 'x'))).toBe('DS_FIELD_UNKNOWN');
    const g = await addGroup(store.db, { accountId: 'acme', listId: 1, name: 'VIP' });
    expect((await listGroups(store.db, 'acme', 1))[0]).toEqual(g);
    expect(await codeOf(addGroup(store.db, { accountId: 'acme', listId: 1, name: 'VIP' }))).toBe(
      'DS_DUPLICATE',
    );
    expect(await codeOf(addGroup(store.db, { accountId: 'acme', listId: 9, name: 'x' }))).toBe(
      'DS_LIST_UNKNOWN',
    );
  });

  it('upserts recipients by email and mobile without duplicates, following the default subscription rules', async () => {
    const a = await upsertRecipient(store.db, {
      accountId: 'acme',
      email: 'Mario.Rossi@Example.COM',
      fields: { 1: 'Mario' },
      listId: 1,
    });
    expect(a.created).toBe(true);
    expect(a.recipient.email).toBe('Mario.Rossi@example.com');
    expect(a.subscribed).toEqual(['email']);
    // Same email, different case in the domain: the same recipient; mobile added; field kept when empty.
    const b = await upsertRecipient(store.db, {
      accountId: 'acme',
      email: 'Mario.Rossi@example.com',
      mobile: '347 1234567',
      fields: { 1: '', 2: 'Rossi' },
      listId: 1,
    });
    expect(b.created).toBe(false);
    expect(b.recipient.id).toBe(a.recipient.id);
    expect(b.recipient.mobile).toBe('393471234567');
    expect(b.recipient.fields).toEqual({ 1: 'Mario', 2: 'Rossi' });
    expect(b.subscribed).toEqual(['sms']);
    // An unsubscribed recipient stays unsubscribed on re-import (reference §2.4 rule 2).
    await setSubscriptionStatus(store.db, {
      accountId: 'acme',
      recipientId: a.recipient.id,
      listId: 1,
      channel: 'email',
      status: 'unsubscribed',
      optoutType: '4',
    });
    const c = await upsertRecipient(store.db, {
      accountId: 'acme',
      email: 'mario.rossi@example.com'.replace('mario.rossi', 'Mario.Rossi'),
      listId: 1,
    });
    expect(c.subscribed).toEqual([]);
    const page = await listRecipients(store.db, 'acme', { listId: 1, status: 'unsubscribed' });
    expect(page).toHaveLength(1);
    expect(page[0]!.subscriptions.find((s) => s.channel === 'email')).toMatchObject({
      status: 'unsubscribed',
      optoutType: '4',
    });
    const events = await store.db.selectFrom('events').selectAll().execute();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'unsubscribe', code: '4', list_id: 1 });
  });

  it('rejects bad keys with DS_* codes', async () => {
    expect(await codeOf(upsertRecipient(store.db, { accountId: 'acme', email: 'not-an-email' }))).toBe(
      'DS_EMAIL_INVALID',
    );
    expect(await codeOf(upsertRecipient(store.db, { accountId: 'acme', mobile: '12' }))).toBe(
      'DS_MOBILE_INVALID',
    );
    expect(await codeOf(upsertRecipient(store.db, { accountId: 'acme' }))).toBe('DS_RECIPIENT_KEY_MISSING');
    expect(
      await codeOf(
        upsertRecipient(store.db, {
          accountId: 'acme',
          email: 'a@example.com',
          fields: { 1: 'x'.repeat(201) },
        }),
      ),
    ).toBe('DS_FIELD_TOO_LONG');
    await upsertRecipient(store.db, { accountId: 'acme', email: 'a@example.com', listId: 1 });
    await upsertRecipient(store.db, { accountId: 'acme', mobile: '+393470000001', listId: 1 });
    expect(
      await codeOf(
        upsertRecipient(store.db, { accountId: 'acme', email: 'a@example.com', mobile: '+393470000001' }),
      ),
    ).toBe('DS_RECIPIENT_KEY_CONFLICT');
  });

  it('refuses to force an opt-in over a bounce unsubscription', async () => {
    const a = await upsertRecipient(store.db, { accountId: 'acme', email: 'b@example.com', listId: 1 });
    await setSubscriptionStatus(store.db, {
      accountId: 'acme',
      recipientId: a.recipient.id,
      listId: 1,
      channel: 'email',
      status: 'unsubscribed',
      optoutType: '8',
    });
    expect(
      await codeOf(
        setSubscriptionStatus(store.db, {
          accountId: 'acme',
          recipientId: a.recipient.id,
          listId: 1,
          channel: 'email',
          status: 'subscribed',
        }),
      ),
    ).toBe('DS_SUBSCRIPTION_LOCKED');
  });

  it('paginates recipients with a keyset cursor', async () => {
    for (let i = 0; i < 25; i++)
      await upsertRecipient(store.db, { accountId: 'acme', email: `u${i}@example.com`, listId: 1 });
    const p1 = await listRecipients(store.db, 'acme', { limit: 10 });
    const p2 = await listRecipients(store.db, 'acme', { limit: 10, afterId: p1.at(-1)!.recipient.id });
    const p3 = await listRecipients(store.db, 'acme', { limit: 10, afterId: p2.at(-1)!.recipient.id });
    expect([p1.length, p2.length, p3.length]).toEqual([10, 10, 5]);
    const ids = [...p1, ...p2, ...p3].map((r) => r.recipient.id);
    expect(new Set(ids).size).toBe(25);
  });
});
