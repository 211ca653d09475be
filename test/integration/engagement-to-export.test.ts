/**
 * Engagement end to end: a message and a sending created through the admin API, the real tracking URLs of a
 * listening server (open pixel, click, unsubscribe form, RFC 8058 one-click), a hard bounce, a complaint and
 * an externally sent message ingested through the API, then the statistics and unsubscribers exports written
 * into a hosted space. Every writer stores internal ids; the files must show the customer's numbers.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { applyExportInstances, runExport } from '../../src/exports/index.js';
import {
  buildApp,
  createApiToken,
  createTrackingLinks,
  loadTrackingKey,
  type TrackingLinks,
} from '../../src/http/index.js';
import { createLogger } from '../../src/logger.js';
import { HostedSpaces } from '../../src/spaces/index.js';
import {
  addList,
  createAccount,
  createMessage,
  createSending,
  findSending,
  upsertRecipient,
} from '../../src/store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';

const logger = createLogger('silent');

/** Fixed instants (UTC); Rome is UTC+1 in March 2026, the exports' default time zone. */
const T = {
  subscribed: '2026-03-01T08:00:00.000Z',
  sent: '2026-03-10T08:00:00.000Z',
  open: '2026-03-10T09:15:00.000Z',
  click: '2026-03-10T09:16:30.000Z',
  bobOpen: '2026-03-10T09:20:00.000Z',
  unsubscribe: '2026-03-10T10:00:00.000Z',
  oneClick: '2026-03-10T10:05:00.000Z',
  bounce: '2026-03-10T10:10:00.000Z',
  complaint: '2026-03-10T10:15:00.000Z',
  external: '2026-03-10T10:20:00.000Z',
  run: '2026-03-11T04:00:00.000Z',
};

const PEOPLE = ['anna', 'bob', 'carl', 'dora', 'eve', 'frank', 'gina'] as const;
type Person = (typeof PEOPLE)[number];

describe.each(DIALECTS)('engagement to export (%s)', (dialect) => {
  let store: TestStore;
  let dataDir: string;
  let app: FastifyInstance;
  let base: string;
  let admin: string;
  let links: TrackingLinks;
  let clock: ManualClock;
  const ids = {} as Record<Person, number>;

  beforeEach(async () => {
    store = await freshStore(dialect);
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ds-e2e-'));
    clock = new ManualClock(T.subscribed);
    const key = loadTrackingKey(dataDir);
    admin = await createApiToken(store.db, { accountId: null, name: 'e2e' });
    app = await buildApp({
      logger,
      bodyLimitBytes: 1024 * 1024,
      registry: new Registry(),
      db: store.db,
      maxParameters: store.dialect.maxParameters,
      trackingKey: key,
      publicUrl: 'http://127.0.0.1:1',
      clock,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    links = createTrackingLinks(base, key);

    // Another account's message and sending first, so acme's internal ids (messages.id 3, sendings.id 2)
    // differ from its numbers (idNl 1, idInvio 1): a writer storing numbers would show the wrong ones.
    const at = new Date(T.subscribed);
    await createAccount(store.db, { id: 'other', name: 'Other' }, at);
    await addList(store.db, { accountId: 'other', listId: 1, name: 'L' }, at);
    for (const subject of ['o1', 'o2'])
      await createMessage(store.db, { accountId: 'other', channel: 'email', subject, text: 'x' }, at);
    await createSending(store.db, { accountId: 'other', channel: 'email', messageNumber: 1, listId: 1 }, at);

    await createAccount(store.db, { id: 'acme', name: 'Acme' }, at);
    await addList(store.db, { accountId: 'acme', listId: 1, name: 'News' }, at);
    await addList(store.db, { accountId: 'acme', listId: 2, name: 'Promo' }, at);
    for (const who of PEOPLE) {
      const email = `${who}@example.com`;
      ids[who] = (await upsertRecipient(store.db, { accountId: 'acme', email, listId: 1 }, at)).recipient.id;
      if (who === 'eve') await upsertRecipient(store.db, { accountId: 'acme', email, listId: 2 }, at);
    }
  });
  afterEach(async () => {
    await app.close();
    await store.cleanup();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  const api = async (method: string, url: string, body: unknown) => {
    const res = await fetch(base + url, {
      method,
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(json)).toBeLessThan(300);
    return json;
  };
  const at = (iso: string) => clock.set(new Date(iso));

  it('writes the customer numbers, the subject and the §3.4.1 types into the statistics and unsubscribers files', async () => {
    // The message and its sending through the admin API.
    const message = await api('POST', '/api/v1/accounts/acme/messages/email', {
      subject: 'Spring sale',
      html: '<p>Spring!</p>',
      senderEmail: 'news@acme.test',
      listId: 1,
    });
    expect(message.idNl).toBe(1);
    const sendingOut = await api('POST', '/api/v1/accounts/acme/sendings', { idNl: 1, listId: 1 });
    expect(sendingOut.idInvio).toBe(1);
    const sending = (await findSending(store.db, 'acme', 1))!;
    expect([sending.id, sending.messageId]).toEqual([2, 3]);
    // What the email engine does when it starts sending (sentDate of the export).
    await store.db
      .updateTable('sendings')
      .set({ status: 'sent', started_at: T.sent })
      .where('id', '=', sending.id)
      .execute();

    // Anna opens, then clicks: one CLK row. Bob only opens.
    at(T.open);
    expect((await fetch(links.openUrl(sending.id, ids.anna))).status).toBe(200);
    at(T.click);
    const click = await fetch(links.clickUrl(sending.id, ids.anna, 'https://shop.example/a'), {
      redirect: 'manual',
    });
    expect([click.status, click.headers.get('location')]).toEqual([302, 'https://shop.example/a']);
    at(T.bobOpen);
    expect((await fetch(links.openUrl(sending.id, ids.bob))).status).toBe(200);

    // Carl confirms on the unsubscribe page (type 2); Dora's webmail sends RFC 8058 one-click (type 32).
    at(T.unsubscribe);
    const form = await fetch(links.unsubscribeUrl(sending.id, ids.carl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'confirm=yes',
    });
    expect(form.status).toBe(200);
    at(T.oneClick);
    const oneClickUrl = /^<(.+)>$/.exec(
      links.listUnsubscribeHeaders(sending.id, ids.dora)['List-Unsubscribe'],
    )![1]!;
    const oneClick = await fetch(oneClickUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);

    // A hard bounce and a complaint reported by the MTA / feedback loop, through the ingestion API.
    at(T.bounce);
    const bounce = await api('POST', '/api/v1/accounts/acme/events', [
      { kind: 'bounce', bounceType: 'hard', code: '5.1.1', email: 'eve@example.com', idInvio: 1 },
    ]);
    expect(bounce).toMatchObject({ recorded: 1, unsubscribed: 2, rejected: [] });
    at(T.complaint);
    const complaint = await api('POST', '/api/v1/accounts/acme/events', [
      { kind: 'complaint', email: 'frank@example.com', idInvio: 1 },
    ]);
    expect(complaint).toMatchObject({ recorded: 1, unsubscribed: 1, rejected: [] });

    // An external platform sent idNl 500 as idInvio 77, which datasync never saw; Gina clicked in it.
    at(T.external);
    const external = await api('POST', '/api/v1/accounts/acme/events', [
      {
        kind: 'sent',
        email: 'gina@example.com',
        idNl: 500,
        idInvio: 77,
        idList: 1,
        occurredAt: '2026-03-10T06:30:00Z',
      },
      {
        kind: 'click',
        email: 'gina@example.com',
        idNl: 500,
        idInvio: 77,
        idList: 1,
        url: 'https://partner.example/x',
      },
    ]);
    expect(external).toMatchObject({ recorded: 2, rejected: [] });

    // Every subscription change names the message by its internal id.
    const optouts = await store.db
      .selectFrom('subscriptions')
      .select(['recipient_id', 'list_id', 'optout_type', 'optout_message_id'])
      .where('account_id', '=', 'acme')
      .where('status', '=', 'unsubscribed')
      .orderBy('recipient_id')
      .orderBy('list_id')
      .execute();
    expect(optouts).toEqual([
      { recipient_id: ids.carl, list_id: 1, optout_type: '2', optout_message_id: 3 },
      { recipient_id: ids.dora, list_id: 1, optout_type: '32', optout_message_id: 3 },
      { recipient_id: ids.eve, list_id: 1, optout_type: '83', optout_message_id: 3 },
      { recipient_id: ids.eve, list_id: 2, optout_type: '83', optout_message_id: 3 },
      { recipient_id: ids.frank, list_id: 1, optout_type: '16', optout_message_id: 3 },
    ]);

    // The exports, run the next night into the hosted space.
    at(T.run);
    await applyExportInstances(store, [
      { id: 'stats', accountId: 'acme', type: 'statistics', lists: [1] },
      { id: 'unsubs', accountId: 'acme', type: 'unsubscribers', lists: [1] },
    ]);
    const spaces = new HostedSpaces(path.join(dataDir, 'spaces'));
    const read = async (instanceId: string) => {
      const r = await runExport({ store, spaces, instanceId, trigger: 'cli', clock, logger });
      expect(r.status).toBe('succeeded');
      return (await fs.readFile(path.join(dataDir, 'spaces', 'acme', 'export', r.file!), 'utf8')).split(
        '\r\n',
      );
    };

    expect(await read('stats')).toEqual([
      'idList;idInvio;idNl;email;subject;statusType;details;statusChange;sentDate',
      '1;1;1;anna@example.com;Spring sale;CLK;https://shop.example/a;20260310T101630;20260310T090000',
      '1;1;1;bob@example.com;Spring sale;OPN;;20260310T102000;20260310T090000',
      '1;1;1;eve@example.com;Spring sale;NCO;5.1.1;20260310T111000;20260310T090000',
      // The message datasync never saw: named by its numbers, no subject; sent when the platform said.
      '1;77;500;gina@example.com;;CLK;https://partner.example/x;20260310T112000;20260310T073000',
      '',
    ]);
    expect(await read('unsubs')).toEqual([
      'email;mobile;idList;OptOut_Date;Subscription_Date;optout_nl;optout_type',
      'carl@example.com;;1;20260310T110000;20260301T090000;1;2',
      'dora@example.com;;1;20260310T110500;20260301T090000;1;32',
      'eve@example.com;;1;20260310T111000;20260301T090000;1;83',
      'frank@example.com;;1;20260310T111500;20260301T090000;1;16',
      '',
    ]);
  });
});
