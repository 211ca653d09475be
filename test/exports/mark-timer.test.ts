/**
 * The workers' periodic mark pass (jobs-runtime `startMarkTimer`, started by `startJobs` with the worker role): with a statistics export defined, events
 * recorded more than an interval ago get their superseded marks without any export running; an account without
 * such an export is left alone.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { startMarkTimer } from '../../src/jobs/index.js';
import { createAccount } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { exportSuite, insertEvent } from './export-fixtures.js';

describe.each(DIALECTS)('periodic superseded marks (%s)', (dialect) => {
  const t = exportSuite(dialect);

  it('a worker marks the events of accounts with statistics exports, one interval behind its clock', async () => {
    const { store, d } = t;
    await t.env.define({ id: 'st', type: 'statistics', columns: ['email', 'statusChange'] });
    await createAccount(store.db, { id: 'other' });
    const ev = { messageId: d.messageId, sendingId: d.sendingId, recipientId: d.ids.anna };
    await insertEvent(store.db, { ...ev, kind: 'open', at: '2026-03-11T03:00:00.000Z' });
    await insertEvent(store.db, {
      ...ev,
      kind: 'click',
      url: 'https://x.example/',
      at: '2026-03-11T03:01:00.000Z',
    });
    // Recorded within the last interval: not marked yet (its transaction may still be open).
    await insertEvent(store.db, { ...ev, kind: 'open', at: '2026-03-11T03:59:59.500Z' });

    const clock = new ManualClock('2026-03-11T04:00:00.000Z');
    // What a worker starts (startJobs with the worker role), every second instead of every minute.
    const stop = startMarkTimer({ db: store.db, everySeconds: 1, clock })!;
    try {
      const marks = () =>
        store.db
          .selectFrom('events')
          .select(['kind', 'occurred_at', 'superseded_at'])
          .orderBy('occurred_at')
          .execute();
      const deadline = Date.now() + 10_000;
      while ((await marks())[0]!.superseded_at === null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(await marks()).toEqual([
        { kind: 'open', occurred_at: '2026-03-11T03:00:00.000Z', superseded_at: '2026-03-11T03:01:00.000Z' },
        { kind: 'click', occurred_at: '2026-03-11T03:01:00.000Z', superseded_at: null },
        { kind: 'open', occurred_at: '2026-03-11T03:59:59.500Z', superseded_at: null },
      ]);
      const horizons = await store.db.selectFrom('event_mark_horizons').selectAll().execute();
      expect(horizons.map((h) => [h.account_id, h.marked_to])).toEqual([
        ['acme', '2026-03-11T03:59:59.000Z'],
      ]);
    } finally {
      await stop();
    }
  });
});
