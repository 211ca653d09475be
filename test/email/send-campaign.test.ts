/**
 * The sending engine against a real SMTP server on loopback and a real listening tracking server:
 * personalisation, tracked links that redirect to the right URL and record a click, the open pixel,
 * List-Unsubscribe headers, only subscribed recipients, `sent` events, 5xx → bounce, 4xx retried.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmailTransport, sendCampaign, type EmailTransport } from '../../src/email/index.js';
import { setField, setSubscriptionStatus, upsertRecipient } from '../../src/store/index.js';
import { createMessage, createSending } from '../../src/store/engagement-messages.repository.js';
import { DIALECTS } from '../helpers/store.js';
import { eventsOf, seedAccount, startHarness, type Harness, type Seed } from '../http/http-harness.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';

const HTML = `<html><body>
<p>Hello [FirstName] [2], your code is [3].</p>
<p><a href="https://shop.example.com/spring?x=1&amp;y=2#top">Shop</a>
<a href="mailto:help@acme.test">Mail us</a> <a href="/relative">rel</a></p>
<p>[[literal] and [unknown_field] and [ spaced ]</p>
<p><a href="[unsubscribe]">Leave</a></p>
</body></html>`;

describe.each(DIALECTS)('sendCampaign (%s)', (dialect) => {
  let h: Harness;
  let s: Seed;
  let sink: SmtpSink;
  let transport: EmailTransport;
  const tempFailures = new Map<string, number>();

  beforeEach(async () => {
    h = await startHarness(dialect);
    s = await seedAccount(h);
    const db = h.store.db;
    await setField(db, s.accountId, 1, 'FirstName');
    await setField(db, s.accountId, 2, 'LastName');
    await upsertRecipient(db, {
      accountId: s.accountId,
      email: 'alice@example.com',
      fields: { 1: 'Alice', 2: 'Smith <&>' },
    });
    tempFailures.clear();
    sink = await startSmtpSink({
      rcptReply: (a) => {
        if (a === 'gone@example.com') return { code: 550, message: '5.1.1 No such user' };
        const left = tempFailures.get(a) ?? 0;
        if (left > 0) {
          tempFailures.set(a, left - 1);
          return { code: 451, message: 'Try again later' };
        }
        return undefined;
      },
    });
    transport = createEmailTransport({
      host: '127.0.0.1',
      port: sink.port,
      secure: false,
      maxConnections: 2,
    });
  });
  afterEach(async () => {
    transport.close();
    await sink.close();
    await h.close();
  });

  async function newSending(html = HTML) {
    const m = await createMessage(h.store.db, {
      accountId: s.accountId,
      channel: 'email',
      listId: 1,
      subject: 'Hi [FirstName]!',
      html,
      senderEmail: 'news@acme.test',
      senderName: 'Acme News',
    });
    return createSending(h.store.db, {
      accountId: s.accountId,
      channel: 'email',
      messageNumber: m.number,
      listId: 1,
    });
  }

  it('personalises, tracks links through the real tracking server, adds pixel and headers', async () => {
    const sending = await newSending();
    const r = await sendCampaign({
      store: h.store,
      sendingId: sending.id,
      transport,
      links: h.links,
      render: {
        tracking: { enabled: true, http: true, https: true, queryParams: 'utm_source=news&utm_medium=email' },
      },
    });
    expect(r).toMatchObject({ targeted: 2, sent: 2, bounced: 0 });
    const mails = await sink.waitFor(2);
    const alice = mails.find((m) => m.to && JSON.stringify(m.to).includes('alice@example.com'))!;
    expect(alice.subject).toBe('Hi Alice!');
    expect(alice.from?.value[0]).toMatchObject({ name: 'Acme News', address: 'news@acme.test' });
    const html = String(alice.html);
    expect(html).toContain('Hello Alice Smith &lt;&amp;&gt;, your code is .');
    expect(html).toContain('[literal] and  and [ spaced ]');
    expect(html).toContain('href="mailto:help@acme.test"');
    expect(html).toContain('href="/relative"');
    expect(html).not.toContain('shop.example.com');

    // The tracked link resolves through the listening tracking server to the original URL + extra params.
    const click = /href="([^"]*\/t\/c\/[^"]+)"/.exec(html)![1]!;
    const res = await fetch(click, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(
      'https://shop.example.com/spring?x=1&y=2&utm_source=news&utm_medium=email#top',
    );
    const clicks = await eventsOf(h, s.alice, 'click');
    expect(clicks).toHaveLength(1);
    expect(clicks[0]).toMatchObject({ sending_id: sending.id, message_id: sending.messageId });

    // Open pixel.
    const pixel = /<img src="([^"]*\/t\/o\/[^"]+\.gif)"/.exec(html)![1]!;
    expect((await fetch(pixel)).headers.get('content-type')).toBe('image/gif');
    expect(await eventsOf(h, s.alice, 'open')).toHaveLength(1);

    // The template's [unsubscribe] link and the RFC 8058 headers point to the recipient's unsubscribe URL.
    const unsub = h.links.unsubscribeUrl(sending.id, s.alice);
    expect(html).toContain(`href="${unsub}"`);
    const header = (k: string) => alice.headerLines.find((l) => l.key === k)?.line.replace(/\r?\n\s+/g, '');
    expect(header('list-unsubscribe-post')).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(header('list-unsubscribe')).toBe(`List-Unsubscribe: <${unsub}>`);

    const sent = await eventsOf(h, s.alice, 'sent');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      channel: 'email',
      list_id: 1,
      sending_id: sending.id,
      message_id: sending.messageId,
    });
    const row = await h.store.db
      .selectFrom('sendings')
      .selectAll()
      .where('id', '=', sending.id)
      .executeTakeFirst();
    expect(row?.status).toBe('sent');
  });

  it('sends only to subscribed recipients; 5xx is a bounce with its code; 4xx is retried', async () => {
    const db = h.store.db;
    await setSubscriptionStatus(db, {
      accountId: s.accountId,
      recipientId: s.bob,
      listId: 1,
      channel: 'email',
      status: 'unsubscribed',
      optoutType: '2',
    });
    const gone = await upsertRecipient(db, { accountId: s.accountId, email: 'gone@example.com', listId: 1 });
    await upsertRecipient(db, { accountId: s.accountId, email: 'gone@example.com', listId: 2 });
    const slow = await upsertRecipient(db, { accountId: s.accountId, email: 'slow@example.com', listId: 1 });
    await upsertRecipient(db, { accountId: s.accountId, email: 'other@example.com', listId: 2 });
    tempFailures.set('slow@example.com', 1);
    const sending = await newSending('<p>Hi [email]</p>');
    const r = await sendCampaign({
      store: h.store,
      sendingId: sending.id,
      transport,
      links: h.links,
      rate: { retryDelayMs: 0 },
    });
    expect(r).toMatchObject({ targeted: 3, sent: 2, bounced: 1 });
    const to = sink.messages.map((m) => JSON.stringify(m.to)).join(' ');
    expect(to).toContain('alice@example.com');
    expect(to).toContain('slow@example.com');
    expect(to).not.toContain('bob@example.com');
    expect(to).not.toContain('other@example.com');
    const bounces = await eventsOf(h, gone.recipient.id, 'bounce');
    expect(bounces).toHaveLength(1);
    expect(bounces[0]).toMatchObject({ code: '550', detail: 'hard', sending_id: sending.id });
    // The hard bounce went through the status rules of bounces received over HTTP: unsubscribed from every
    // list of the account on the email channel, type 83 (5.1.1 = mailbox gone), with its unsubscribe events.
    const subs = await db
      .selectFrom('subscriptions')
      .select(['list_id', 'status', 'optout_type', 'optout_message_id'])
      .where('recipient_id', '=', gone.recipient.id)
      .where('channel', '=', 'email')
      .orderBy('list_id')
      .execute();
    expect(subs).toEqual([
      { list_id: 1, status: 'unsubscribed', optout_type: '83', optout_message_id: sending.messageId },
      { list_id: 2, status: 'unsubscribed', optout_type: '83', optout_message_id: sending.messageId },
    ]);
    const unsubs = await eventsOf(h, gone.recipient.id, 'unsubscribe');
    expect(unsubs.map((e) => [e.list_id, e.code, e.sending_id])).toEqual([
      [1, '83', sending.id],
      [2, '83', sending.id],
    ]);
    // The others stay subscribed.
    const slowSub = await db
      .selectFrom('subscriptions')
      .select('status')
      .where('recipient_id', '=', slow.recipient.id)
      .executeTakeFirstOrThrow();
    expect(slowSub.status).toBe('subscribed');
    expect(await eventsOf(h, slow.recipient.id, 'sent')).toHaveLength(1);

    // A second run of the same sending is refused: it is sent.
    await expect(
      sendCampaign({ store: h.store, sendingId: sending.id, transport, links: h.links }),
    ).rejects.toMatchObject({ code: 'DS_EMAIL_SENDING_STATE' });
  });
});
