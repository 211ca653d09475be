/** Tracking endpoints against a listening server: opens, clicks, tampered tokens, no open redirect. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createTrackingLinks, sealToken } from '../../src/http/index.js';
import { DIALECTS } from '../helpers/store.js';
import { eventsOf, seedAccount, startHarness, type Harness, type Seed } from './http-harness.js';

const tokenOf = (url: string) =>
  url
    .split('/')
    .pop()!
    .replace(/\.gif$/, '');

describe.each(DIALECTS)('tracking (%s)', (dialect) => {
  let h: Harness;
  let s: Seed;
  beforeEach(async () => {
    h = await startHarness(dialect);
    s = await seedAccount(h);
  });
  afterEach(() => h.close());

  it('serves an uncacheable 1x1 GIF and records every fetch with ip and user agent', async () => {
    const url = h.links.openUrl(s.sending.id, s.alice);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(url, { headers: { 'user-agent': 'TestMail/1.0' } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/gif');
      expect(res.headers.get('cache-control')).toContain('no-store');
      expect(res.headers.get('expires')).toBe('0');
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.subarray(0, 6).toString()).toBe('GIF89a');
    }
    const opens = await eventsOf(h, s.alice, 'open');
    // A replayed open token counts again: each fetch is an open (the export keeps the latest action).
    expect(opens).toHaveLength(2);
    expect(opens[0]).toMatchObject({
      account_id: 'acme',
      channel: 'email',
      list_id: 1,
      // Internal ids (the seed makes them differ from idNl 1 / idInvio 1).
      message_id: s.sending.messageId,
      sending_id: s.sending.id,
      ip: '127.0.0.1',
      user_agent: 'TestMail/1.0',
      occurred_at: '2026-03-01T10:00:00.000Z',
    });
  });

  it('redirects a click only to the URL sealed in the token and records it', async () => {
    const target = `https://shop.example.com/spring?utm_source=news&x=%C3%A9&pad=${'p'.repeat(1500)}`;
    const url = h.links.clickUrl(s.sending.id, s.bob, target);
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(target);
    // Open-redirect attempts: a query parameter or an extra path segment cannot change the destination.
    const evil = await fetch(`${url}?url=https://evil.example&next=https://evil.example`, {
      redirect: 'manual',
    });
    expect(evil.status).toBe(302);
    expect(evil.headers.get('location')).toBe(target);
    const nested = await fetch(`${url}/https://evil.example`, { redirect: 'manual' });
    expect(nested.status).toBe(404);
    const clicks = await eventsOf(h, s.bob, 'click');
    expect(clicks.map((c) => c.url)).toEqual([target, target]);
    expect(clicks[0]).toMatchObject({
      sending_id: s.sending.id,
      message_id: s.sending.messageId,
      list_id: 1,
    });
  });

  it('answers 404 to forged, truncated, re-kinded and foreign-key tokens and records nothing', async () => {
    const click = tokenOf(h.links.clickUrl(s.sending.id, s.alice, 'https://ok.example/'));
    const open = tokenOf(h.links.openUrl(s.sending.id, s.alice));
    // Swap the sealed URL for another one, keeping the MAC: the MAC no longer matches.
    const raw = Buffer.from(click, 'base64url');
    const forgedUrl = Buffer.concat([
      raw.subarray(0, raw.length - 12 - 'https://ok.example/'.length),
      Buffer.from('https://ev.example/'),
      raw.subarray(raw.length - 12),
    ]).toString('base64url');
    const flipped = click.slice(0, 10) + (click[10] === 'A' ? 'B' : 'A') + click.slice(11);
    const otherKey = sealToken(randomBytes(32), {
      kind: 'click',
      sendingId: s.sending.id,
      recipientId: s.alice,
      url: 'https://ok.example/',
    });
    const cases = [
      `/t/c/${forgedUrl}`,
      `/t/c/${flipped}`,
      `/t/c/${click.slice(0, -3)}`,
      `/t/c/${click.slice(0, 20)}`,
      `/t/c/${otherKey}`,
      `/t/c/${open}`, // an open token on the click path
      `/t/u/${open}`, // an open token on the unsubscribe path
      `/t/o/${click}.gif`,
      `/t/o/not-a-token.gif`,
      `/t/c/${'A'.repeat(5000)}`,
    ];
    for (const path of cases) {
      const res = await fetch(h.base + path, { redirect: 'manual' });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('location'), path).toBeNull();
      expect((await res.json()) as unknown, path).toEqual({
        error: { code: 'DS_TRACKING_TOKEN_INVALID', message: 'unknown link' },
      });
    }
    expect(
      await h.store.db.selectFrom('events').select('id').where('kind', 'in', ['open', 'click']).execute(),
    ).toEqual([]);
  });

  it('refuses to seal non-http URLs', () => {
    for (const bad of [
      'javascript:alert(1)',
      'data:text/html,x',
      '//evil.example/',
      '/relative',
      'mailto:a@b.c',
    ])
      expect(() => h.links.clickUrl(s.sending.id, s.alice, bad), bad).toThrow(/tracked|absolute/);
  });

  it('keeps tokens compact and verifiable by any node sharing the key', async () => {
    const open = tokenOf(h.links.openUrl(s.sending.id, s.alice));
    expect(open.length).toBeLessThanOrEqual(32);
    const other = createTrackingLinks('https://t.example.com/', h.key);
    const res = await fetch(h.base + new URL(other.openUrl(s.sending.id, s.alice)).pathname);
    expect(res.status).toBe(200);
  });

  it('still serves the pixel and the redirect for a sending that no longer exists', async () => {
    const gone = createTrackingLinks(h.base, h.key);
    const res = await fetch(gone.clickUrl(999_999, s.alice, 'https://ok.example/'), { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect((await fetch(gone.openUrl(999_999, s.alice))).status).toBe(200);
    expect(await eventsOf(h, s.alice)).toEqual([]);
  });
});
