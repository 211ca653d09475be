/** Subscription, channel, empty-cell, group and key rules of reference §2.3–§2.6, on both dialects. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImportInstanceInput } from '../../src/imports/index.js';
import { setSubscriptionStatus, upsertRecipient } from '../../src/store/index.js';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import { openSeededImports, subscriptions, type SeededImports } from './helpers.js';

describe.each(DIALECTS)('import rules (%s)', (dialect) => {
  let t: SeededImports;
  let store: TestStore;
  let groups: SeededImports['groups'];
  beforeEach(async () => {
    t = await openSeededImports(dialect, 'ds-rules-');
    ({ store, groups } = t);
  });
  afterEach(() => t.close());

  const run = (
    content: string,
    def: Partial<ImportInstanceInput>,
    opts: { dryRun?: boolean; id?: string } = {},
  ) => t.run(content, def, opts);
  const subOf = async (email: string, listId = 1, channel = 'email') => {
    const r = await store.db
      .selectFrom('recipients')
      .select('id')
      .where('email', '=', email)
      .executeTakeFirstOrThrow();
    return store.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('recipient_id', '=', r.id)
      .where('list_id', '=', listId)
      .where('channel', '=', channel as 'email')
      .executeTakeFirst();
  };

  it('default mode: new subscribed, existing status unchanged, fields updated, empty cells kept', async () => {
    const r = await upsertRecipient(store.db, {
      accountId: 'acme',
      email: 'old@example.com',
      fields: { 1: 'Old', 2: 'Keep' },
      listId: 1,
    });
    await setSubscriptionStatus(store.db, {
      accountId: 'acme',
      recipientId: r.recipient.id,
      listId: 1,
      channel: 'email',
      status: 'unsubscribed',
      optoutType: '2',
    });
    const s = await run('111;1;2\nold@example.com;New;\nnew@example.com;N;M\n', {});
    expect(s.counters).toMatchObject({ created: 1, updated: 1, subscribed: 1, unsubscribed: 0 });
    expect((await subOf('old@example.com'))?.status).toBe('unsubscribed');
    expect((await subOf('new@example.com'))?.status).toBe('subscribed');
    const old = await store.db
      .selectFrom('recipients')
      .selectAll()
      .where('email', '=', 'old@example.com')
      .executeTakeFirstOrThrow();
    expect([old.f1, old.f2]).toEqual(['New', 'Keep']);
  });

  it('emptyValues overwrite clears stored values; unchanged rows are counted and not written', async () => {
    await run('111;1;2\na@example.com;A;B\n', {});
    const again = await run('111;1;2\na@example.com;A;B\n', {});
    expect(again.counters).toMatchObject({ unchanged: 1, updated: 0 });
    const s = await run('111;1;2\na@example.com;A;\n', { emptyValues: 'overwrite' });
    expect(s.counters.updated).toBe(1);
    const a = await store.db
      .selectFrom('recipients')
      .selectAll()
      .where('email', '=', 'a@example.com')
      .executeTakeFirstOrThrow();
    expect(a.f2).toBeNull();
  });

  it('forceUnsubscribed unsubscribes with type 4 and records events; forceSubscribed does not re-subscribe', async () => {
    await run('111\nx@example.com\ny@example.com\n', {});
    const s = await run('111\nx@example.com\n', { subscription: { mode: 'forceUnsubscribed' } });
    expect(s.counters.unsubscribed).toBe(1);
    const sub = await subOf('x@example.com');
    expect(sub).toMatchObject({ status: 'unsubscribed', optout_type: '4' });
    const ev = await store.db.selectFrom('events').selectAll().where('kind', '=', 'unsubscribe').execute();
    expect(ev.map((e) => e.code)).toEqual(['4']);
    const back = await run('111\nx@example.com\n', { subscription: { mode: 'forceSubscribed' } });
    expect(back.counters.subscribed).toBe(0);
    expect((await subOf('x@example.com'))?.status).toBe('unsubscribed');
    const forced = await run('111\nx@example.com\n', {
      subscription: { mode: 'forceSubscribed', forceOptIn: true },
    });
    expect(forced.counters.subscribed).toBe(1);
  });

  it('forceOptIn never overrides a bounce or complaint unsubscription', async () => {
    const r = await upsertRecipient(store.db, { accountId: 'acme', email: 'b@example.com', listId: 1 });
    await setSubscriptionStatus(store.db, {
      accountId: 'acme',
      recipientId: r.recipient.id,
      listId: 1,
      channel: 'email',
      status: 'unsubscribed',
      optoutType: '80',
    });
    const s = await run('111\nb@example.com\n', {
      subscription: { mode: 'forceSubscribed', forceOptIn: true },
    });
    expect(s.counters.subscribed).toBe(0);
    expect((await subOf('b@example.com'))?.optout_type).toBe('80');
  });

  it('optIn: new recipients pending with a confirmation request, subscribed ones stay', async () => {
    await run('111\nsub@example.com\n', {});
    const s = await run('111\nsub@example.com\nnew@example.com\n', { subscription: { mode: 'optIn' } });
    expect(s.counters).toMatchObject({ pending: 1, confirmationsRequested: 1 });
    expect((await subOf('new@example.com'))?.status).toBe('pending');
    expect((await subOf('sub@example.com'))?.status).toBe('subscribed');
  });

  it('channels: email-only ignores mobiles, both subscribes each channel whose key is present', async () => {
    const s1 = await run('111;444\ne1@example.com;+393471111111\n', { channels: ['email'] });
    expect(s1.counters.sms.valid).toBe(0);
    const e1 = await store.db
      .selectFrom('recipients')
      .selectAll()
      .where('email', '=', 'e1@example.com')
      .executeTakeFirstOrThrow();
    expect(e1.mobile).toBeNull();
    await run('111;444\ne2@example.com;+393472222222\n;+393473333333\n', { channels: ['email', 'sms'] });
    const subs = await subscriptions(store);
    expect(subs.filter((x) => x.channel === 'sms')).toHaveLength(2);
  });

  it('key conflict: email of one recipient and mobile of another is rejected', async () => {
    await run('111;444\nk1@example.com;+393474444441\nk2@example.com;+393474444442\n', {});
    const s = await run('111;444\nk1@example.com;+393474444442\n', {});
    expect(s.status).toBe('partial');
    expect(s.rejected[0]).toMatchObject({ line: 2, code: 'DS_RECIPIENT_KEY_CONFLICT' });
    expect(s.counters.email.invalidMapping).toBe(1);
  });

  it('groups are added; replaceGroups removes the list\u2019s other groups', async () => {
    await run('111;IdGroup\ng@example.com;' + groups.groupA + '\n', {});
    await run('111;IdGroup\ng@example.com;' + groups.groupB + '\n', {});
    const members = async () =>
      (await store.db.selectFrom('group_members').select('group_id').orderBy('group_id').execute()).map(
        (m) => m.group_id,
      );
    expect(await members()).toEqual([groups.groupA, groups.groupB]);
    const s = await run('111;IdGroup\ng@example.com;' + groups.groupA + '\n', {
      destination: { listId: 1, replaceGroups: true },
    });
    expect(s.counters).toMatchObject({ groupsRemoved: 1, groupsAdded: 0 });
    expect(await members()).toEqual([groups.groupA]);
  });

  it('dry run changes nothing and reports every rejected row', async () => {
    const s = await run('111;1\nok@example.com;A\nbad;B\n', {}, { dryRun: true });
    expect(s).toMatchObject({ jobId: null, status: 'partial', dryRun: true });
    expect(s.counters).toMatchObject({ created: 1, rejected: 1 });
    expect(await store.db.selectFrom('recipients').selectAll().execute()).toHaveLength(0);
    expect(await store.db.selectFrom('jobs').selectAll().execute()).toHaveLength(0);
  });

  it('a 5 MB single line is one rejected row; the rest is imported', async () => {
    const huge = 'x'.repeat(5 * 1024 * 1024);
    const s = await run(`111;1\nbefore@example.com;A\nhuge@example.com;${huge}\nafter@example.com;C\n`, {});
    expect(s.status).toBe('partial');
    expect(s.rejected.map((r) => r.code)).toEqual(['DS_IMPORT_CSV_MALFORMED']);
    expect(s.counters).toMatchObject({ created: 2, rejected: 1, malformed: 1 });
  });

  it('rows spanning several batches: duplicates across batches are counted, the last wins', async () => {
    const lines = ['111;1'];
    for (let i = 0; i < 25; i++) lines.push(`r${i % 10}@example.com;v${i}`);
    const s = await t.run(lines.join('\n'), {}, { batchSize: 4 });
    expect(s.counters).toMatchObject({ processed: 25, created: 10, duplicated: 15 });
    const r5 = await store.db
      .selectFrom('recipients')
      .selectAll()
      .where('email', '=', 'r5@example.com')
      .executeTakeFirstOrThrow();
    expect(r5.f1).toBe('v15');
  });
});
