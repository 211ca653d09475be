/** Messages (idNl, idSMS) and sendings (idInvio) through the admin API: per-account numbering, targets. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAccount, addList } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { seedAccount, startHarness, type Harness, type Seed } from './http-harness.js';

describe.each(DIALECTS)('messages and sendings API (%s)', (dialect) => {
  let h: Harness;
  let s: Seed;
  const call = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
    h.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${h.adminToken}` },
      payload: payload as object,
    });
  beforeEach(async () => {
    h = await startHarness(dialect, { listen: false });
    s = await seedAccount(h);
    await createAccount(h.store.db, { id: 'other', name: 'Other' });
    await addList(h.store.db, { accountId: 'other', listId: 1, name: 'L' });
  });
  afterEach(() => h.close());

  it('numbers email and SMS messages per account and channel', async () => {
    const email = {
      subject: 'Hello',
      html: '<b>hi</b>',
      senderEmail: 'news@acme.test',
      replyTo: 'help@acme.test',
      attachments: [
        { filename: 'a.txt', contentType: 'text/plain', content: Buffer.from('hello').toString('base64') },
      ],
    };
    const a2 = await call('POST', '/api/v1/accounts/acme/messages/email', email);
    expect(a2.statusCode).toBe(201);
    // The app's clock, not the system's, dates what the API creates.
    expect(a2.json().createdAt).toBe('2026-03-01T10:00:00.000Z');
    expect(a2.json()).toMatchObject({
      idNl: 2,
      subject: 'Hello',
      attachments: [{ filename: 'a.txt', size: 5 }],
    });
    const o1 = await call('POST', '/api/v1/accounts/other/messages/email', email);
    expect(o1.json().idNl).toBe(1);
    const sms = await call('POST', '/api/v1/accounts/acme/messages/sms', {
      text: 'Sale!',
      sender: 'ACME',
      listId: 1,
    });
    expect(sms.statusCode).toBe(201);
    expect(sms.json()).toMatchObject({ idSMS: 1, sender: 'ACME', listId: 1 });
    const list = await call('GET', '/api/v1/accounts/acme/messages/email?limit=10');
    expect(list.json().map((m: { idNl: number }) => m.idNl)).toEqual([2, 1]);
    expect((await call('GET', '/api/v1/accounts/acme/messages/email/2')).json().replyTo).toBe(
      'help@acme.test',
    );
    const missing = await call('GET', '/api/v1/accounts/acme/messages/email/99');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('DS_MESSAGE_UNKNOWN');
    const noBody = await call('POST', '/api/v1/accounts/acme/messages/email', {
      subject: 'x',
      senderEmail: 'a@b.co',
    });
    expect(noBody.statusCode).toBe(400);
  });

  it('creates sendings to a list, a group and explicit recipients, numbered idInvio per account', async () => {
    const toGroup = await call('POST', '/api/v1/accounts/acme/sendings', {
      idNl: s.idNl,
      groupId: s.groupId,
    });
    expect(toGroup.statusCode).toBe(201);
    expect(toGroup.json()).toMatchObject({
      idInvio: 2,
      channel: 'email',
      idNl: s.idNl,
      listId: 1,
      groupId: s.groupId,
      status: 'queued',
      createdAt: '2026-03-01T10:00:00.000Z',
    });
    const toPeople = await call('POST', '/api/v1/accounts/acme/sendings', {
      idNl: s.idNl,
      emails: ['bob@example.com'],
      recipientIds: [s.alice],
      scheduledAt: '2026-03-02T09:00:00+01:00',
    });
    expect(toPeople.statusCode).toBe(201);
    expect(toPeople.json()).toMatchObject({
      idInvio: 3,
      recipientIds: [s.alice, s.bob].sort((a, b) => a - b),
      scheduledAt: '2026-03-02T08:00:00.000Z',
    });
    expect((await call('GET', '/api/v1/accounts/acme/sendings/3')).json().recipientIds).toHaveLength(2);
    expect(
      (await call('GET', '/api/v1/accounts/acme/sendings')).json().map((x: { idInvio: number }) => x.idInvio),
    ).toEqual([3, 2, 1]);

    const unknown = await call('POST', '/api/v1/accounts/acme/sendings', {
      idNl: s.idNl,
      emails: ['ghost@example.com'],
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('DS_RECIPIENT_UNKNOWN');
    const two = await call('POST', '/api/v1/accounts/acme/sendings', {
      idNl: s.idNl,
      listId: 1,
      groupId: s.groupId,
    });
    expect(two.statusCode).toBe(400);
    const noMsg = await call('POST', '/api/v1/accounts/acme/sendings', { idNl: 77, listId: 1 });
    expect(noMsg.json().error.code).toBe('DS_MESSAGE_UNKNOWN');
    const other = await call('POST', '/api/v1/accounts/other/messages/email', {
      subject: 'x',
      text: 't',
      senderEmail: 'a@b.co',
    });
    const otherSending = await call('POST', '/api/v1/accounts/other/sendings', {
      idNl: other.json().idNl,
      listId: 1,
    });
    expect(otherSending.json().idInvio).toBe(1);
  });

  it('hands out tracked links for a recipient of a sending', async () => {
    const res = await call('POST', `/api/v1/accounts/acme/sendings/${s.sending.number}/links`, {
      recipientId: s.alice,
      urls: ['https://acme.test/offer'],
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.open).toMatch(/\/t\/o\/[A-Za-z0-9_-]+\.gif$/);
    expect(body.clicks['https://acme.test/offer']).toMatch(/\/t\/c\//);
    expect(body.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const refused = await call('POST', `/api/v1/accounts/acme/sendings/${s.sending.number}/links`, {
      recipientId: s.alice,
      urls: ['javascript:alert(1)'],
    });
    expect(refused.json().error.code).toBe('DS_TRACKING_URL_REFUSED');
  });
});
