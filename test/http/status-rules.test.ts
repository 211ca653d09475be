/** Automatic status changes of reference §1.5 with the type codes of §3.4.1, through recordEvents(). */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hardBounceType, recordEvents } from '../../src/http/index.js';
import { setSubscriptionStatus, upsertRecipient } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import {
  eventsOf,
  seedAccount,
  startHarness,
  subscriptionsOf,
  type Harness,
  type Seed,
} from './http-harness.js';

describe.each(DIALECTS)('status rules (%s)', (dialect) => {
  let h: Harness;
  let s: Seed;
  const record = (events: unknown[], threshold?: number) =>
    recordEvents(h.store, 'acme', events, { clock: h.clock, softBounceThreshold: threshold });
  beforeEach(async () => {
    h = await startHarness(dialect, { listen: false });
    s = await seedAccount(h);
  });
  afterEach(() => h.close());

  it('hard bounce: unsubscribed from the email channel of every list (8x), SMS untouched, opt-in locked', async () => {
    await upsertRecipient(h.store.db, {
      accountId: 'acme',
      email: 'alice@example.com',
      mobile: '+393471234567',
      listId: 1,
      channels: ['sms'],
    });
    const r = await record([
      {
        kind: 'bounce',
        bounceType: 'hard',
        code: '550 5.1.1 user unknown',
        email: 'alice@example.com',
        idInvio: s.sending.number,
        occurredAt: '2026-02-28T08:00:00+01:00',
      },
    ]);
    expect(r).toMatchObject({ received: 1, recorded: 1, duplicates: 0, rejected: [], unsubscribed: 2 });
    expect(await subscriptionsOf(h, s.alice)).toEqual({
      '1/email': 'unsubscribed:83',
      '1/sms': 'subscribed',
      '2/email': 'unsubscribed:83',
    });
    const bounce = (await eventsOf(h, s.alice, 'bounce'))[0]!;
    expect(bounce).toMatchObject({
      detail: 'hard',
      code: '550 5.1.1 user unknown',
      sending_id: s.sending.id,
      message_id: s.sending.messageId,
      list_id: 1,
      occurred_at: '2026-02-28T07:00:00.000Z',
    });
    const unsubs = await eventsOf(h, s.alice, 'unsubscribe');
    expect(unsubs.map((e) => [e.list_id, e.code, e.occurred_at])).toEqual([
      [1, '83', '2026-02-28T07:00:00.000Z'],
      [2, '83', '2026-02-28T07:00:00.000Z'],
    ]);
    await expect(
      setSubscriptionStatus(h.store.db, {
        accountId: 'acme',
        recipientId: s.alice,
        listId: 2,
        channel: 'email',
        status: 'subscribed',
      }),
    ).rejects.toMatchObject({ code: 'DS_SUBSCRIPTION_LOCKED' });
  });

  it('maps bounce codes to the 8x family', () => {
    expect(hardBounceType(undefined)).toBe('80');
    expect(hardBounceType('5.1.3')).toBe('81');
    expect(hardBounceType('550 5.1.2 host unknown')).toBe('82');
    expect(hardBounceType('5.4.4')).toBe('82');
    expect(hardBounceType('5.1.1')).toBe('83');
    expect(hardBounceType('554 rejected')).toBe('80');
    expect(hardBounceType('82')).toBe('82');
  });

  it('complaint: only the affected list, type 16; an unknown list means every list', async () => {
    await record([{ kind: 'complaint', email: 'alice@example.com', idList: 2 }]);
    expect(await subscriptionsOf(h, s.alice)).toEqual({
      '1/email': 'subscribed',
      '2/email': 'unsubscribed:16',
    });
    await record([{ kind: 'complaint', email: 'bob@example.com' }]);
    expect(await subscriptionsOf(h, s.bob)).toEqual({
      '1/email': 'unsubscribed:16',
      '2/email': 'unsubscribed:16',
    });
    expect(await eventsOf(h, s.bob, 'complaint')).toHaveLength(1);
  });

  it('ingested unsubscribe: the sending list, type from the event (default 2), first type kept', async () => {
    await record([{ kind: 'unsubscribe', email: 'alice@example.com', idInvio: s.sending.number }]);
    await record([{ kind: 'unsubscribe', email: 'bob@example.com', idList: 2, optoutType: '32' }]);
    expect(await subscriptionsOf(h, s.alice)).toEqual({
      '1/email': 'unsubscribed:2',
      '2/email': 'subscribed',
    });
    expect(await subscriptionsOf(h, s.bob)).toEqual({
      '1/email': 'subscribed',
      '2/email': 'unsubscribed:32',
    });
    // A later hard bounce unsubscribes the remaining list but keeps the voluntary type where it was first.
    await record([{ kind: 'bounce', bounceType: 'hard', email: 'alice@example.com' }]);
    expect(await subscriptionsOf(h, s.alice)).toEqual({
      '1/email': 'unsubscribed:2',
      '2/email': 'unsubscribed:80',
    });
    const unsubs = await eventsOf(h, s.alice, 'unsubscribe');
    expect(unsubs.map((e) => [e.list_id, e.code, e.message_id])).toEqual([
      [1, '2', s.sending.messageId],
      [2, '80', null],
    ]);
  });

  it('soft bounces: opt-out 512 when the consecutive count reaches the threshold; an open resets it', async () => {
    const soft = (email: string, at: string) => ({
      kind: 'bounce',
      bounceType: 'soft',
      code: '452 4.2.2 mailbox full',
      email,
      occurredAt: at,
    });
    await record(
      [soft('alice@example.com', '2026-02-01T00:00:00Z'), soft('alice@example.com', '2026-02-02T00:00:00Z')],
      3,
    );
    expect(await subscriptionsOf(h, s.alice)).toEqual({ '1/email': 'subscribed', '2/email': 'subscribed' });
    await record([{ kind: 'open', email: 'alice@example.com', occurredAt: '2026-02-03T00:00:00Z' }], 3);
    await record(
      [soft('alice@example.com', '2026-02-04T00:00:00Z'), soft('alice@example.com', '2026-02-05T00:00:00Z')],
      3,
    );
    expect(await subscriptionsOf(h, s.alice)).toEqual({ '1/email': 'subscribed', '2/email': 'subscribed' });
    const r = await record([soft('alice@example.com', '2026-02-06T00:00:00Z')], 3);
    expect(r.unsubscribed).toBe(2);
    expect(await subscriptionsOf(h, s.alice)).toEqual({
      '1/email': 'unsubscribed:512',
      '2/email': 'unsubscribed:512',
    });
    expect((await eventsOf(h, s.alice, 'bounce')).every((e) => e.detail === 'soft')).toBe(true);
  });

  it('records sent, delivered, open, click and SMS status without changing subscriptions', async () => {
    const r = await record([
      { kind: 'sent', email: 'bob@example.com', idNl: 7, idInvio: 70, idList: 1 },
      { kind: 'delivered', email: 'bob@example.com', idNl: 7, idInvio: 70, idList: 1 },
      {
        kind: 'click',
        email: 'bob@example.com',
        idNl: 7,
        url: 'https://x.example/a',
        ip: '10.0.0.1',
        userAgent: 'UA',
      },
      { kind: 'sms_status', recipientId: s.bob, idSMS: 3, status: 'DELIVRD', code: 'DELIVRD:000' },
    ]);
    expect(r).toMatchObject({ recorded: 4, unsubscribed: 0 });
    // Rows hold internal ids; read the customer numbers back through messages and sendings.
    const ev = await h.store.db
      .selectFrom('events as e')
      .leftJoin('messages as m', 'm.id', 'e.message_id')
      .leftJoin('sendings as sd', 'sd.id', 'e.sending_id')
      .select(['e.kind', 'e.channel', 'm.message_number', 'sd.sending_number', 'e.url', 'e.detail', 'e.code'])
      .where('e.recipient_id', '=', s.bob)
      .orderBy('e.id')
      .execute();
    expect(ev.map((e) => Object.values(e))).toEqual([
      ['sent', 'email', 7, 70, null, null, null],
      ['delivered', 'email', 7, 70, null, null, null],
      ['click', 'email', 7, null, 'https://x.example/a', null, null],
      ['sms_status', 'sms', 3, null, null, 'DELIVERED', 'DELIVRD:000'],
    ]);
    expect(await subscriptionsOf(h, s.bob)).toEqual({ '1/email': 'subscribed', '2/email': 'subscribed' });
  });
});
