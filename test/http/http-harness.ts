/**
 * A real HTTP server over a fresh store (SQLite file or PostgreSQL schema) with an admin token, a
 * tracking key in a temp data dir, and a small seeded account: lists 1 and 2, two recipients subscribed
 * to both by email, one email message and a sending to list 1.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import {
  buildApp,
  createApiToken,
  createTrackingLinks,
  loadTrackingKey,
  type TrackingLinks,
} from '../../src/http/index.js';
import { addGroup, addList, createAccount, upsertRecipient } from '../../src/store/index.js';
import {
  createMessage,
  createSending,
  type Sending,
} from '../../src/store/engagement-messages.repository.js';
import { freshStore, type DialectName, type TestStore } from '../helpers/store.js';

export interface Harness {
  store: TestStore;
  app: FastifyInstance;
  /** `http://127.0.0.1:<port>` */
  base: string;
  adminToken: string;
  key: Buffer;
  links: TrackingLinks;
  clock: ManualClock;
  dataDir: string;
  close(): Promise<void>;
}

export async function startHarness(
  dialect: DialectName,
  opts: { listen?: boolean; softBounceThreshold?: number } = {},
): Promise<Harness> {
  const store = await freshStore(dialect);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-http-'));
  const key = loadTrackingKey(dataDir);
  const clock = new ManualClock('2026-03-01T10:00:00.000Z');
  const adminToken = await createApiToken(store.db, { accountId: null, name: 'test-admin' });
  const app = await buildApp({
    logger: createLogger('silent'),
    bodyLimitBytes: 1024 * 1024,
    registry: new Registry(),
    db: store.db,
    maxParameters: store.dialect.maxParameters,
    trackingKey: key,
    dataDir,
    publicUrl: 'http://127.0.0.1:1',
    softBounceThreshold: opts.softBounceThreshold,
    clock,
  });
  let base = '';
  if (opts.listen !== false) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  } else await app.ready();
  return {
    store,
    app,
    base,
    adminToken,
    key,
    links: createTrackingLinks(base || 'http://127.0.0.1:1', key),
    clock,
    dataDir,
    async close() {
      await app.close();
      await store.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Seed {
  accountId: string;
  alice: number;
  bob: number;
  groupId: number;
  idNl: number;
  sending: Sending;
}

/**
 * Account `acme`: lists 1 and 2, alice and bob subscribed by email to both, message idNl 1, sending to list 1
 * (idInvio 1); internal ids differ from those numbers (see seedNoise).
 */
export async function seedAccount(h: Harness, accountId = 'acme'): Promise<Seed> {
  const db = h.store.db;
  await seedNoise(h);
  await createAccount(db, { id: accountId, name: accountId });
  await addList(db, { accountId, listId: 1, name: 'News' });
  await addList(db, { accountId, listId: 2, name: 'Offers' });
  const g = await addGroup(db, { accountId, listId: 1, name: 'VIP' });
  const ids: number[] = [];
  for (const email of ['alice@example.com', 'bob@example.com']) {
    const r = await upsertRecipient(db, { accountId, email, listId: 1 });
    await upsertRecipient(db, { accountId, email, listId: 2 });
    ids.push(r.recipient.id);
  }
  const m = await createMessage(db, {
    accountId,
    channel: 'email',
    listId: 1,
    subject: 'Spring sale',
    html: '<p>hi</p>',
    senderEmail: 'news@acme.test',
  });
  const sending = await createSending(db, {
    accountId,
    channel: 'email',
    messageNumber: m.number,
    listId: 1,
  });
  return { accountId, alice: ids[0]!, bob: ids[1]!, groupId: g.id, idNl: m.number, sending };
}

/**
 * Account `noise` with two messages and a sending, created first so that the seeded account's internal ids
 * (`messages.id` 3, `sendings.id` 2) differ from its customer numbers (idNl 1, idInvio 1) and from each
 * other: a test that confuses them fails instead of passing by coincidence.
 */
async function seedNoise(h: Harness): Promise<void> {
  const db = h.store.db;
  if (await db.selectFrom('accounts').select('id').where('id', '=', 'noise').executeTakeFirst()) return;
  await createAccount(db, { id: 'noise', name: 'noise' });
  await addList(db, { accountId: 'noise', listId: 1, name: 'Noise' });
  for (const subject of ['n1', 'n2'])
    await createMessage(db, {
      accountId: 'noise',
      channel: 'email',
      subject,
      text: 'x',
      senderEmail: 'n@x.test',
    });
  await createSending(db, { accountId: 'noise', channel: 'email', messageNumber: 1, listId: 1 });
}

/** Subscription rows of a recipient, `list/channel → status:type`. */
export async function subscriptionsOf(h: Harness, recipientId: number): Promise<Record<string, string>> {
  const rows = await h.store.db
    .selectFrom('subscriptions')
    .selectAll()
    .where('recipient_id', '=', recipientId)
    .orderBy('list_id')
    .orderBy('channel')
    .execute();
  return Object.fromEntries(
    rows.map((r) => [
      `${r.list_id}/${r.channel}`,
      r.status === 'unsubscribed' ? `unsubscribed:${r.optout_type}` : r.status,
    ]),
  );
}

export async function eventsOf(h: Harness, recipientId: number, kind?: string) {
  let q = h.store.db.selectFrom('events').selectAll().where('recipient_id', '=', recipientId);
  if (kind) q = q.where('kind', '=', kind as never);
  return q.orderBy('id').execute();
}
