/**
 * The mark pass (store/superseded-marks.ts) against the rule written out in plain JS: on random event sets
 * (few groups, so chains and clicks collide; occurred_at out of recorded order, as late bounces and replayed
 * tracking produce), marked by passes at random horizons while the events arrive, the filter
 * `superseded_at is null or superseded_at >= to` keeps exactly the events that no event recorded before `to`
 * supersedes, for every window end. And the marks do not depend on how the passes were cut.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createAccount, markSupersededEvents } from '../../src/store/index.js';
import type { EventKind } from '../../src/store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';

interface Ev {
  id: number;
  kind: EventKind;
  recipient: number;
  message: number | null;
  sending: number | null;
  url: string | null;
  occurred: string;
  recorded: string;
}

/** A deterministic generator (mulberry32), so a failure replays. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ (t + Math.imul(t ^ (t >>> 14), 71 | t));
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = Date.parse('2026-11-01T00:00:00.000Z');
const at = (sec: number) => new Date(T0 + sec * 1000).toISOString();

function randomEvents(seed: number, n: number): Ev[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const out: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const kind = pick(['open', 'open', 'click', 'click', 'bounce', 'sent', 'unsubscribe'] as const);
    const recorded = Math.floor(r() * 200);
    // Mostly occurred shortly before being recorded, sometimes long before (late reports); ties happen.
    const occurred = recorded - (r() < 0.2 ? Math.floor(r() * 150) : Math.floor(r() * 3));
    out.push({
      id: 0,
      kind,
      recipient: pick([1, 2]),
      message: r() < 0.1 ? null : pick([10, 11]),
      sending: pick([null, 100]),
      url: kind === 'click' ? pick(['https://a.example/', 'https://b.example/', null]) : null,
      occurred: at(occurred),
      recorded: at(recorded),
    });
  }
  return out;
}

/** §3.4.2 as the export applies it: does `s` supersede `e`? */
function supersedes(s: Ev, e: Ev): boolean {
  if (s === e || e.message === null) return false;
  if (s.recipient !== e.recipient || s.message !== e.message || (s.sending ?? 0) !== (e.sending ?? 0))
    return false;
  const later = s.occurred > e.occurred || (s.occurred === e.occurred && s.id > e.id);
  switch (e.kind) {
    case 'open':
      return s.kind === 'click' || (s.kind === 'open' && later);
    case 'click':
      return s.kind === 'click' && e.url !== null && s.url === e.url && later;
    case 'bounce':
    case 'sent':
      return s.kind === e.kind && later;
    default:
      return false;
  }
}

describe.each(DIALECTS)('superseded marks on %s', (dialect) => {
  let store: TestStore | undefined;
  afterEach(async () => {
    await store?.cleanup();
    store = undefined;
  });

  /** Inserts the events in recorded order, running a pass at each horizon; returns the marks by id. */
  async function markIn(events: Ev[], horizons: number[]): Promise<Map<number, string | null>> {
    store = await freshStore(dialect);
    const db = store.db;
    await createAccount(db, { id: 'a' });
    await createAccount(db, { id: 'b' });
    const byRecorded = [...events].sort((x, y) =>
      x.recorded < y.recorded ? -1 : x.recorded > y.recorded ? 1 : 0,
    );
    let next = 0;
    for (const h of [...horizons, 1000]) {
      const end = at(h);
      const batch: Ev[] = [];
      while (next < byRecorded.length && byRecorded[next]!.recorded < end) batch.push(byRecorded[next++]!);
      for (const e of batch) {
        const row = await db
          .insertInto('events')
          .values({
            account_id: 'a',
            kind: e.kind,
            channel: 'email',
            recipient_id: e.recipient,
            list_id: 1,
            message_id: e.message,
            sending_id: e.sending,
            url: e.url,
            occurred_at: e.occurred,
            recorded_at: e.recorded,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        e.id = Number(row.id);
      }
      await markSupersededEvents(db, 'a', end);
    }
    const rows = await db.selectFrom('events').select(['id', 'superseded_at']).execute();
    return new Map(rows.map((r) => [Number(r.id), r.superseded_at]));
  }

  for (const seed of [1, 2, 3]) {
    it(`keeps exactly the unsuperseded events of every window end (seed ${seed})`, async () => {
      const events = randomEvents(seed, 160);
      const marks = await markIn(events, [20, 50, 51, 90, 140, 199]);
      let dropped = 0;
      for (let end = 0; end <= 200; end += 7) {
        const to = at(end);
        for (const e of events.filter((x) => x.recorded < to)) {
          const expectDrop = events.some((s) => s.recorded < to && supersedes(s, e));
          const mark = marks.get(e.id) ?? null;
          const drop = mark !== null && mark < to;
          if (drop !== expectDrop)
            throw new Error(`event ${JSON.stringify(e)} window end ${to}: mark ${mark}`);
          if (drop) dropped++;
        }
      }
      // The data set must exercise the rule, not pass vacuously.
      expect(dropped).toBeGreaterThan(100);
    });
  }

  it('gives the same marks however the passes are cut, and leaves other accounts alone', async () => {
    const events = randomEvents(7, 120);
    const once = await markIn(events, []);
    const ids = new Map(events.map((e) => [e.id, e]));
    await store!.cleanup();
    const copy = events.map((e) => ({ ...e }));
    const many = await markIn(copy, [5, 10, 30, 31, 32, 60, 100, 101, 150, 180]);
    const byKey = (m: Map<number, string | null>, evs: Ev[]) =>
      evs.map((e) => `${e.recorded}|${e.occurred}|${e.kind}|${e.url}|${e.recipient}|${m.get(e.id)}`).sort();
    expect(byKey(many, copy)).toEqual(byKey(once, [...ids.values()]));
    expect([...once.values()].filter((m) => m !== null).length).toBeGreaterThan(20);

    // Account b's pass touches none of a's events; a pass up to an old horizon is a no-op.
    const db = store!.db;
    const before = await db.selectFrom('events').select(['id', 'superseded_at']).orderBy('id').execute();
    expect((await markSupersededEvents(db, 'b', at(1000))).marked).toBe(0);
    expect(await markSupersededEvents(db, 'a', at(500))).toMatchObject({ marked: 0, to: at(1000) });
    expect(await db.selectFrom('events').select(['id', 'superseded_at']).orderBy('id').execute()).toEqual(
      before,
    );
  });
});
