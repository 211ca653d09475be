import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  addList,
  claimDueSending,
  createAccount,
  createMessage,
  createSending,
  listDueEmailSendings,
  openStore,
  type Store,
} from '../../src/store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';

// Every worker polls for due scheduled sendings; the claim is what stops two of them sending the same campaign.
describe.each(DIALECTS)('claiming a due sending on %s', (dialect) => {
  let store: TestStore;
  let other: Store;
  beforeEach(async () => {
    store = await freshStore(dialect);
    other = await openStore({ database: store.database });
    await createAccount(store.db, { id: 'acme' });
    await addList(store.db, { accountId: 'acme', listId: 1, name: 'News' });
  });
  afterEach(async () => {
    await other.close();
    await store.cleanup();
  });

  it('lets exactly one of many concurrent claimers (two connections) take it, and only once it is due', async () => {
    const msg = await createMessage(store.db, {
      accountId: 'acme',
      channel: 'email',
      subject: 'Hi',
      html: '<p>hi</p>',
      senderEmail: 'news@acme.test',
    });
    const sending = await createSending(store.db, {
      accountId: 'acme',
      channel: 'email',
      messageNumber: msg.number,
      listId: 1,
      scheduledAt: '2026-11-28T10:00:00.000Z',
    });
    expect(await listDueEmailSendings(store.db, new Date('2026-11-28T09:59:59Z'))).toEqual([]);
    const now = new Date('2026-11-28T10:00:30Z');
    expect((await listDueEmailSendings(store.db, now)).map((s) => s.id)).toEqual([sending.id]);

    const claims = await Promise.all(
      [store, other, store, other, store, other].map((s) =>
        claimDueSending(s.db, sending.id, 'queued', 'running', now),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await listDueEmailSendings(other.db, now)).toEqual([]);
    // A later poll cannot take it again either.
    expect(await claimDueSending(other.db, sending.id, 'queued', 'running', now)).toBe(false);
  });
});
