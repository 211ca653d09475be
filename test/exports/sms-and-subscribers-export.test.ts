/** SMS statistics (reference §3.4.3, status vocabulary) and subscribers (§3.4.4, our layout): exact files. */
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import {
  addSmsStatuses,
  addUnsubscriptions,
  exportSuite,
  recipientIdOf,
  setEmailStatus,
} from './export-fixtures.js';

describe.each(DIALECTS)('SMS statistics and subscribers exports (%s)', (dialect) => {
  const t = exportSuite(dialect, addSmsStatuses, addUnsubscriptions);

  it('sms-statistics: international number without +, provider words mapped onto the vocabulary', async () => {
    await t.env.define({ id: 'sms', type: 'sms-statistics', fields: [1], file: { separator: ',' } });
    const r = await t.env.run('sms');
    expect((await t.env.read(r.file!)).toString('utf8')).toBe(
      [
        'recipient,idList,idSMS,sentdate,responsedate,status,First name',
        '393331112222,1,7,20260310T080000,20260310T080005,DELIVERED,Anna',
        '393334445555,1,7,20260310T080000,20260310T080009,FAILED,Carl',
      ].join('\r\n') + '\r\n',
    );
  });

  it('subscribers snapshot: current subscribers of the lists, groups by name, fields appended', async () => {
    await t.env.define({
      id: 'subs',
      type: 'subscribers',
      lists: [1, 2],
      fields: [1, 2],
      headers: { 'field:2': 'Town' },
    });
    const r = await t.env.run('subs');
    expect(r.window.mode).toBe('snapshot');
    expect((await t.env.read(r.file!)).toString('utf8')).toBe(
      [
        'email;mobile;idList;Subscription_Date;groups;First name;Town',
        'zoe@example.com;;1;20260301T090000;;Zoë;Łódź',
        'carl@example.com;393334445555;1;20260301T090000;;Carl;Torino',
      ].join('\r\n') + '\r\n',
    );
    // One row per page: SQLite's keyset walks list after list, PostgreSQL's cursor fetches row by row.
    await setEmailStatus(
      t.store.db,
      t.d.ids.carl,
      { listId: 2, status: 'subscribed' },
      '2026-03-10T12:00:00.000Z',
    );
    t.env.clock.advance(1000);
    const paged = await t.env.run('subs', { source: { pageRows: 1 } });
    expect((await t.env.read(paged.file!)).toString('utf8')).toBe(
      [
        'email;mobile;idList;Subscription_Date;groups;First name;Town',
        'zoe@example.com;;1;20260301T090000;;Zoë;Łódź',
        'carl@example.com;393334445555;1;20260301T090000;;Carl;Torino',
        'carl@example.com;393334445555;2;20260310T130000;;Carl;Torino',
      ].join('\r\n') + '\r\n',
    );
  });

  it('subscribers in a window: only subscriptions completed in it; groups column lists names', async () => {
    // Anna opts back in (an admin action, not a bounce: allowed).
    await setEmailStatus(
      t.store.db,
      await recipientIdOf(t.store.db, 'anna@example.com'),
      { status: 'subscribed' },
      '2026-03-10T12:00:00.000Z',
    );
    await t.env.define({
      id: 'subs',
      type: 'subscribers',
      window: { mode: 'lastDays', days: 2 },
      columns: ['email', 'groups'],
    });
    const r = await t.env.run('subs');
    expect((await t.env.read(r.file!)).toString('utf8')).toBe(
      'email;groups\r\nanna@example.com;Shop,VIP\r\n',
    );
  });
});
