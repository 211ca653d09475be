/** SMS statistics (reference §3.4.3, status vocabulary) and subscribers (§3.4.4, our layout): exact files. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { addSmsStatuses, addUnsubscriptions, buildDataSet, envFor, type Env } from './export-fixtures.js';

describe.each(DIALECTS)('SMS statistics and subscribers exports (%s)', (dialect) => {
  let store: TestStore;
  let env: Env;
  beforeEach(async () => {
    store = await freshStore(dialect);
    env = envFor(store);
    const d = await buildDataSet(store.db);
    await addSmsStatuses(store.db, d);
    await addUnsubscriptions(store.db, d);
  });
  afterEach(async () => {
    await store.cleanup();
  });

  it('sms-statistics: international number without +, provider words mapped onto the vocabulary', async () => {
    await env.define({ id: 'sms', type: 'sms-statistics', fields: [1], file: { separator: ',' } });
    const r = await env.run('sms');
    expect((await env.read(r.file!)).toString('utf8')).toBe(
      [
        'recipient,idList,idSMS,sentdate,responsedate,status,First name',
        '393331112222,1,7,20260310T080000,20260310T080005,DELIVERED,Anna',
        '393334445555,1,7,20260310T080000,20260310T080009,FAILED,Carl',
      ].join('\r\n') + '\r\n',
    );
  });

  it('subscribers snapshot: current subscribers of the lists, groups by name, fields appended', async () => {
    await env.define({
      id: 'subs',
      type: 'subscribers',
      lists: [1, 2],
      fields: [1, 2],
      headers: { 'field:2': 'Town' },
    });
    const r = await env.run('subs');
    expect(r.window.mode).toBe('snapshot');
    expect((await env.read(r.file!)).toString('utf8')).toBe(
      [
        'email;mobile;idList;Subscription_Date;groups;First name;Town',
        'zoe@example.com;;1;20260301T090000;;Zoë;Łódź',
        'carl@example.com;393334445555;1;20260301T090000;;Carl;Torino',
      ].join('\r\n') + '\r\n',
    );
  });

  it('subscribers in a window: only subscriptions completed in it; groups column lists names', async () => {
    const { setSubscriptionStatus } = await import('../../src/store/index.js');
    const anna = await store.db
      .selectFrom('recipients')
      .select('id')
      .where('email', '=', 'anna@example.com')
      .executeTakeFirstOrThrow();
    // Anna opts back in (an admin action, not a bounce: allowed).
    await setSubscriptionStatus(
      store.db,
      { accountId: 'acme', recipientId: anna.id, listId: 1, channel: 'email', status: 'subscribed' },
      new Date('2026-03-10T12:00:00.000Z'),
    );
    await env.define({
      id: 'subs',
      type: 'subscribers',
      window: { mode: 'lastDays', days: 2 },
      columns: ['email', 'groups'],
    });
    const r = await env.run('subs');
    expect((await env.read(r.file!)).toString('utf8')).toBe('email;groups\r\nanna@example.com;Shop,VIP\r\n');
  });
});
