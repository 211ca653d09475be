/**
 * Ingestion maps the customer's numbers (idNl / idSMS, idInvio) to internal ids: unknown ones get their
 * messages / sendings rows, in batches, race-safely, and the counters never hand those numbers out again.
 */
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordEvents } from '../../src/http/index.js';
import { createMessage, createSending } from '../../src/store/engagement-messages.repository.js';
import { DIALECTS } from '../helpers/store.js';
import { eventsOf, seedAccount, startHarness, type Harness, type Seed } from './http-harness.js';

/** Counts the statements a Kysely handle runs (transactions opened from it included). */
class QueryCounter implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs) {
    this.count++;
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs) {
    return args.result;
  }
}

describe.each(DIALECTS)('ingestion of customer numbers (%s)', (dialect) => {
  let h: Harness;
  let s: Seed;
  beforeEach(async () => {
    h = await startHarness(dialect, { listen: false });
    s = await seedAccount(h);
  });
  afterEach(() => h.close());

  const messagesOf = (channel: 'email' | 'sms') =>
    h.store.db
      .selectFrom('messages')
      .select(['id', 'message_number', 'subject', 'list_id'])
      .where('account_id', '=', 'acme')
      .where('channel', '=', channel)
      .orderBy('message_number')
      .execute();

  it('creates the message and sending of numbers datasync never saw, and the counters skip them', async () => {
    const r = await recordEvents(h.store, 'acme', [
      {
        kind: 'sent',
        email: 'bob@example.com',
        idNl: 161,
        idInvio: 12,
        idList: 2,
        occurredAt: '2026-03-01T09:00:00+01:00',
      },
      { kind: 'open', email: 'bob@example.com', idNl: 161, idInvio: 12 },
      { kind: 'sms_status', recipientId: s.alice, idSMS: 9, status: 'DELIVRD' },
    ]);
    expect(r).toMatchObject({ recorded: 3, rejected: [] });
    const email = await messagesOf('email');
    expect(email.map((m) => [m.message_number, m.subject, m.list_id])).toEqual([
      [1, 'Spring sale', 1],
      [161, null, null],
    ]);
    const sms = await messagesOf('sms');
    expect(sms.map((m) => [m.message_number, m.subject])).toEqual([[9, null]]);
    const sending = await h.store.db
      .selectFrom('sendings')
      .selectAll()
      .where('account_id', '=', 'acme')
      .where('sending_number', '=', 12)
      .executeTakeFirstOrThrow();
    expect(sending).toMatchObject({
      message_id: email[1]!.id,
      list_id: 2,
      status: 'sent',
      started_at: '2026-03-01T08:00:00.000Z',
    });
    const [sent, open] = await eventsOf(h, s.bob);
    for (const e of [sent!, open!])
      expect(e).toMatchObject({ message_id: email[1]!.id, sending_id: sending.id, list_id: 2 });
    expect((await eventsOf(h, s.alice, 'sms_status'))[0]).toMatchObject({
      message_id: sms[0]!.id,
      sending_id: null,
    });

    // The counters moved past the external numbers: datasync's next ones are new.
    const next = await createMessage(h.store.db, {
      accountId: 'acme',
      channel: 'email',
      subject: 'x',
      text: 'x',
    });
    expect(next.number).toBe(162);
    expect((await createMessage(h.store.db, { accountId: 'acme', channel: 'sms', text: 'x' })).number).toBe(
      10,
    );
    const nextSending = await createSending(h.store.db, {
      accountId: 'acme',
      channel: 'email',
      messageNumber: next.number,
      listId: 1,
    });
    expect(nextSending.number).toBe(13);

    // Named again: resolved to the same rows, nothing new created.
    await recordEvents(h.store, 'acme', [
      { kind: 'click', email: 'alice@example.com', idNl: 161, idInvio: 12, url: 'https://x.example/' },
    ]);
    expect(await messagesOf('email')).toHaveLength(3);
    expect((await eventsOf(h, s.alice, 'click'))[0]).toMatchObject({
      message_id: email[1]!.id,
      sending_id: sending.id,
    });
  });

  it('an unknown idInvio without a message number is recorded without the sending; a known one lends its message', async () => {
    const r = await recordEvents(h.store, 'acme', [
      { kind: 'open', email: 'alice@example.com', idInvio: 99 },
      { kind: 'open', email: 'bob@example.com', idInvio: s.sending.number },
    ]);
    expect(r).toMatchObject({ recorded: 2, rejected: [] });
    expect((await eventsOf(h, s.alice, 'open'))[0]).toMatchObject({ message_id: null, sending_id: null });
    expect((await eventsOf(h, s.bob, 'open'))[0]).toMatchObject({
      message_id: s.sending.messageId,
      sending_id: s.sending.id,
      list_id: 1,
    });
    expect(
      await h.store.db.selectFrom('sendings').select('id').where('sending_number', '=', 99).execute(),
    ).toEqual([]);
  });

  it('resolves a chunk of hundreds of unknown numbers in a bounded number of statements', async () => {
    const events = Array.from({ length: 400 }, (_, i) => ({
      kind: 'sent',
      email: i % 2 ? 'alice@example.com' : 'bob@example.com',
      idNl: 1000 + (i % 200),
      idInvio: 2000 + (i % 200),
      idList: 1,
    }));
    const counter = new QueryCounter();
    const r = await recordEvents({ ...h.store, db: h.store.db.withPlugin(counter) }, 'acme', events);
    expect(r).toMatchObject({ recorded: 400, rejected: [] });
    // One query per event would be 800+; batched it is a few dozen whatever the size.
    expect(counter.count).toBeLessThan(40);
    expect(await messagesOf('email')).toHaveLength(201);
    const linked = await h.store.db
      .selectFrom('events as e')
      .innerJoin('sendings as sd', 'sd.id', 'e.sending_id')
      .innerJoin('messages as m', 'm.id', 'e.message_id')
      .select(['m.message_number', 'sd.sending_number'])
      .where('e.kind', '=', 'sent')
      .execute();
    expect(linked).toHaveLength(400);
    expect(linked.every((x) => x.sending_number - x.message_number === 1000)).toBe(true);
  });

  it('concurrent batches and API calls naming the same numbers agree on one row each and never collide', async () => {
    const batch = (who: string) =>
      Array.from({ length: 6 }, (_, i) => ({
        kind: 'open',
        email: who,
        idNl: 2 + i,
        idInvio: 2 + i,
      }));
    const creating = Array.from({ length: 6 }, () =>
      createMessage(h.store.db, { accountId: 'acme', channel: 'email', subject: 'own', text: 'x' }),
    );
    const [a, b, ...own] = await Promise.all([
      recordEvents(h.store, 'acme', batch('alice@example.com')),
      recordEvents(h.store, 'acme', batch('bob@example.com')),
      ...creating,
    ]);
    expect(a).toMatchObject({ recorded: 6, rejected: [] });
    expect(b).toMatchObject({ recorded: 6, rejected: [] });
    const numbers = (own as { number: number }[]).map((m) => m.number);
    expect(new Set(numbers).size).toBe(6);
    const rows = await messagesOf('email');
    // idNl 1 (seed), 2..7 (named by both batches, whoever created them), and datasync's own six.
    expect(new Set(rows.map((m) => m.message_number)).size).toBe(rows.length);
    expect(rows.map((m) => m.message_number)).toEqual(expect.arrayContaining([1, 2, 3, 4, 5, 6, 7]));
    const byNumber = new Map(rows.map((m) => [m.message_number, m.id]));
    const alice = await eventsOf(h, s.alice, 'open');
    const bob = await eventsOf(h, s.bob, 'open');
    expect(alice.map((e) => e.message_id)).toEqual([2, 3, 4, 5, 6, 7].map((n) => byNumber.get(n)));
    expect(bob.map((e) => e.message_id)).toEqual(alice.map((e) => e.message_id));
    expect(bob.map((e) => e.sending_id)).toEqual(alice.map((e) => e.sending_id));
    const next = await createMessage(h.store.db, { accountId: 'acme', channel: 'email', text: 'x' });
    expect(next.number).toBe(Math.max(...rows.map((m) => m.message_number)) + 1);
  });
});
