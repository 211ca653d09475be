/** Full imports (missing rule) and the guardrails that abort before anything is applied (reference §2.9, §2.12). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImportInstanceInput } from '../../src/imports/index.js';
import { DIALECTS, type TestStore } from '../helpers/store.js';
import { openSeededImports, type SeededImports } from './helpers.js';

describe.each(DIALECTS)('full imports and guards (%s)', (dialect) => {
  let t: SeededImports;
  let store: TestStore;
  let groups: SeededImports['groups'];
  beforeEach(async () => {
    t = await openSeededImports(dialect, 'ds-full-');
    ({ store, groups } = t);
  });
  afterEach(() => t.close());

  const run = (content: string, def: Partial<ImportInstanceInput>, id = 'inst') =>
    t.run(content, def, { id, batchSize: 3 });
  const statusOf = async (email: string) => {
    const r = await store.db
      .selectFrom('subscriptions')
      .innerJoin('recipients', 'recipients.id', 'subscriptions.recipient_id')
      .select(['status', 'optout_type'])
      .where('email', '=', email)
      .where('list_id', '=', 1)
      .where('channel', '=', 'email')
      .executeTakeFirst();
    return r ? `${r.status}${r.optout_type ? `:${r.optout_type}` : ''}` : 'none';
  };
  const base = '111\n' + Array.from({ length: 10 }, (_, i) => `m${i}@example.com`).join('\n') + '\n';

  it('unsubscribes (type 4, with events) the list members missing from a full file', async () => {
    await run(base, {});
    const file =
      '111;1\n' + Array.from({ length: 8 }, (_, i) => `m${i}@example.com;x`).join('\n') + '\nbad-email;y\n';
    const s = await run(file, { mode: 'full', fullMissingRule: 'unsubscribe', channels: ['email'] }, 'full');
    expect(s.status).toBe('partial');
    expect(s.counters).toMatchObject({ missingHandled: 2, unsubscribed: 2, updated: 8 });
    expect(await statusOf('m8@example.com')).toBe('unsubscribed:4');
    expect(await statusOf('m7@example.com')).toBe('subscribed');
    const ev = await store.db
      .selectFrom('events')
      .select(['code'])
      .where('kind', '=', 'unsubscribe')
      .execute();
    expect(ev).toHaveLength(2);
  });

  it('a rejected row protects its recipient from the missing rule', async () => {
    await run(base, {});
    const file =
      '111;10\n' +
      Array.from({ length: 10 }, (_, i) => `m${i}@example.com;${i === 9 ? 'not-a-date' : '2020-01-01'}`).join(
        '\n',
      ) +
      '\n';
    const s = await run(
      file,
      { mode: 'full', channels: ['email'], file: { dateFormat: 'YYYY-MM-DD', dateFields: [10] } },
      'full',
    );
    expect(s.counters).toMatchObject({ rejected: 1, missingHandled: 0 });
    expect(await statusOf('m9@example.com')).toBe('subscribed');
  });

  it('removeFromGroup takes missing members out of the instance group only', async () => {
    const def = { destination: { listId: 1, groupId: groups.groupA } };
    await run(base, def);
    const s = await run(
      '111\nm0@example.com\nm1@example.com\nm2@example.com\nm3@example.com\nm4@example.com\nm5@example.com\n',
      {
        ...def,
        mode: 'full',
        fullMissingRule: 'removeFromGroup',
      },
      'full',
    );
    expect(s.counters).toMatchObject({ missingHandled: 4, groupsRemoved: 4, unsubscribed: 0 });
    const members = await store.db
      .selectFrom('group_members')
      .select('recipient_id')
      .where('group_id', '=', groups.groupA)
      .execute();
    expect(members).toHaveLength(6);
    expect(await statusOf('m9@example.com')).toBe('subscribed');
  });

  it('full guard: would unsubscribe too much of the list → failed, nothing applied', async () => {
    await run(base, {});
    const s = await run(
      '111;1\nm0@example.com;changed\n',
      { mode: 'full', guards: { maxFullUnsubscribeRatio: 0.5 } },
      'full',
    );
    expect(s.status).toBe('failed');
    expect(s.error?.code).toBe('DS_IMPORT_FULL_GUARD');
    const m0 = await store.db
      .selectFrom('recipients')
      .select('f1')
      .where('email', '=', 'm0@example.com')
      .executeTakeFirstOrThrow();
    expect(m0.f1).toBeNull();
    expect(await statusOf('m5@example.com')).toBe('subscribed');
  });

  it('reject-ratio guard: too many bad rows → failed before any change, rejected rows still reported', async () => {
    const s = await run('111\ngood@example.com\nbad1\nbad2\n', { guards: { maxRejectedRatio: 0.5 } });
    expect(s.status).toBe('failed');
    expect(s.error?.code).toBe('DS_IMPORT_REJECT_RATIO');
    expect(s.counters).toMatchObject({ processed: 3, rejected: 2 });
    expect(await store.db.selectFrom('recipients').selectAll().execute()).toHaveLength(0);
    const ok = await run('111\ngood@example.com\nbad1\n', { guards: { maxRejectedRatio: 0.5 } }, 'inst2');
    expect(ok.status).toBe('partial');
    expect(ok.counters.created).toBe(1);
  });
});
