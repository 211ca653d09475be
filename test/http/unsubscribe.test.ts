/** The unsubscribe page and RFC 8058 one-click, against a listening server. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import {
  eventsOf,
  seedAccount,
  startHarness,
  subscriptionsOf,
  type Harness,
  type Seed,
} from './http-harness.js';

describe.each(DIALECTS)('unsubscribe page and one-click (%s)', (dialect) => {
  let h: Harness;
  let s: Seed;
  beforeEach(async () => {
    h = await startHarness(dialect);
    s = await seedAccount(h);
  });
  afterEach(() => h.close());

  it('GET only shows a confirmation; POST from the page unsubscribes the sending list with type 2, once', async () => {
    const url = h.links.unsubscribeUrl(s.sending.id, s.alice);
    const page = await fetch(url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<form method="post"');
    expect(await subscriptionsOf(h, s.alice)).toEqual({ '1/email': 'subscribed', '2/email': 'subscribed' });

    const post = () =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Browser/1' },
        body: 'confirm=yes',
      });
    expect((await post()).status).toBe(200);
    // A replayed POST finds the recipient unsubscribed already: no second change, no second event.
    expect((await post()).status).toBe(200);
    expect(await subscriptionsOf(h, s.alice)).toEqual({
      '1/email': 'unsubscribed:2',
      '2/email': 'subscribed',
    });
    const ev = await eventsOf(h, s.alice, 'unsubscribe');
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({
      list_id: 1,
      code: '2',
      message_id: s.sending.messageId,
      sending_id: s.sending.id,
      user_agent: 'Browser/1',
      ip: '127.0.0.1',
    });
    const sub = await h.store.db
      .selectFrom('subscriptions')
      .selectAll()
      .where('recipient_id', '=', s.alice)
      .where('list_id', '=', 1)
      .executeTakeFirstOrThrow();
    expect(sub.optout_message_id).toBe(s.sending.messageId);
  });

  it('RFC 8058 one-click POST (urlencoded or multipart) unsubscribes with type 32', async () => {
    const headers = h.links.listUnsubscribeHeaders(s.sending.id, s.bob);
    expect(headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const url = /^<(.+)>$/.exec(headers['List-Unsubscribe'])![1]!;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(res.status).toBe(200);
    expect(await subscriptionsOf(h, s.bob)).toEqual({
      '1/email': 'unsubscribed:32',
      '2/email': 'subscribed',
    });

    const form = new FormData();
    form.set('List-Unsubscribe', 'One-Click');
    const alice = h.links.unsubscribeUrl(s.sending.id, s.alice);
    expect((await fetch(alice, { method: 'POST', body: form })).status).toBe(200);
    expect(await subscriptionsOf(h, s.alice)).toEqual({
      '1/email': 'unsubscribed:32',
      '2/email': 'subscribed',
    });
  });

  it('refuses a tampered unsubscribe token with 404 and changes nothing', async () => {
    const url = h.links.unsubscribeUrl(s.sending.id, s.alice);
    const bad = url.slice(0, -2) + (url.endsWith('AA') ? 'BB' : 'AA');
    expect((await fetch(bad)).status).toBe(404);
    expect(
      (
        await fetch(bad, {
          method: 'POST',
          body: 'List-Unsubscribe=One-Click',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        })
      ).status,
    ).toBe(404);
    expect(await subscriptionsOf(h, s.alice)).toEqual({ '1/email': 'subscribed', '2/email': 'subscribed' });
  });
});
