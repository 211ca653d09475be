/**
 * The known data set of the export tests, built through the store's services (accounts, lists, fields,
 * upsertRecipient, setSubscriptionStatus) and plain inserts for what has no service yet (messages, sendings,
 * engagement events: their producers are other issues). Every timestamp is fixed, so files are exact.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { ManualClock } from '../../src/clock.js';
import { HostedSpaces } from '../../src/spaces/index.js';
import {
  addGroup,
  addList,
  createAccount,
  setField,
  setSubscriptionStatus,
  upsertRecipient,
  type Db,
  type EventKind,
} from '../../src/store/index.js';
import {
  applyExportInstances,
  runExport,
  type ExportInstanceInput,
  type RunExportOptions,
} from '../../src/exports/index.js';
import { afterEach, beforeEach } from 'vitest';
import { freshStore, type DialectName, type TestStore } from '../helpers/store.js';

export const logger = pino({ level: process.env.DS_TEST_LOG ?? 'silent' });

/** Fixed instants (UTC). Rome is UTC+1 in March 2026 (DST starts on the 29th). */
export const T = {
  subscribed: '2026-03-01T08:00:00.000Z',
  sent: '2026-03-10T07:00:00.000Z',
  open: '2026-03-10T09:15:00.000Z',
  click: '2026-03-10T09:16:30.000Z',
  unsub: '2026-03-10T10:00:00.000Z',
  run: '2026-03-11T04:00:00.000Z',
};

export interface DataSet {
  ids: { anna: number; bob: number; zoe: number; carl: number };
  messageId: number;
  smsMessageId: number;
  sendingId: number;
  smsSendingId: number;
}

export async function insertEvent(
  db: Db,
  e: {
    kind: EventKind;
    channel?: 'email' | 'sms';
    recipientId: number;
    listId?: number;
    messageId?: number | null;
    sendingId?: number | null;
    url?: string | null;
    code?: string | null;
    detail?: string | null;
    ip?: string | null;
    userAgent?: string | null;
    at: string;
    recordedAt?: string;
  },
): Promise<void> {
  await db
    .insertInto('events')
    .values({
      account_id: 'acme',
      kind: e.kind,
      channel: e.channel ?? 'email',
      recipient_id: e.recipientId,
      list_id: e.listId ?? 1,
      message_id: e.messageId ?? null,
      sending_id: e.sendingId ?? null,
      url: e.url ?? null,
      code: e.code ?? null,
      detail: e.detail ?? null,
      provider_message_id: null,
      ip: e.ip ?? null,
      user_agent: e.userAgent ?? null,
      idempotency_key: null,
      occurred_at: e.at,
      recorded_at: e.recordedAt ?? e.at,
    })
    .execute();
}

/** Account `acme`: lists 1 and 2, fields 1 (First name) and 2 (City), four recipients, one email and one SMS sending. */
export async function buildDataSet(db: Db): Promise<DataSet> {
  const at = new Date(T.subscribed);
  await createAccount(db, { id: 'acme', name: 'Acme' }, at);
  await addList(db, { accountId: 'acme', listId: 1, name: 'News', mobilePrefix: '39' }, at);
  await addList(db, { accountId: 'acme', listId: 2, name: 'Promo', mobilePrefix: '39' }, at);
  await setField(db, 'acme', 1, 'First name');
  await setField(db, 'acme', 2, 'City');
  const vip = await addGroup(db, { accountId: 'acme', listId: 1, name: 'VIP' }, at);
  const shop = await addGroup(db, { accountId: 'acme', listId: 1, name: 'Shop' }, at);
  const up = async (email: string, mobile: string | null, f1: string, f2: string, groups: number[] = []) =>
    (
      await upsertRecipient(
        db,
        { accountId: 'acme', email, mobile, fields: { 1: f1, 2: f2 }, listId: 1, groupIds: groups },
        at,
      )
    ).recipient.id;
  const anna = await up('anna@example.com', '3331112222', 'Anna', 'Milano', [vip.id, shop.id]);
  const bob = await up('bob@example.com', null, 'Bob "the builder"', 'Roma; Lazio');
  const zoe = await up('zoe@example.com', null, 'Zoë', 'Łódź');
  const carl = await up('carl@example.com', '3334445555', 'Carl', 'Torino');
  await upsertRecipient(db, { accountId: 'acme', email: 'carl@example.com', listId: 2 }, at);

  const message = async (
    number: number,
    channel: 'email' | 'sms',
    subject: string | null,
    text: string | null,
  ) =>
    (
      await db
        .insertInto('messages')
        .values({
          account_id: 'acme',
          message_number: number,
          channel,
          list_id: 1,
          subject,
          html: null,
          text,
          sender_email: null,
          sender_name: null,
          reply_to: null,
          attachments_json: null,
          campaign_code: null,
          created_at: T.sent,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  const msg = { id: await message(161, 'email', 'Spring sale', null) };
  const sms = { id: await message(7, 'sms', null, 'Hi') };
  const sending = async (number: number, messageId: number) =>
    (
      await db
        .insertInto('sendings')
        .values({
          account_id: 'acme',
          sending_number: number,
          message_id: messageId,
          list_id: 1,
          group_id: null,
          status: 'done',
          scheduled_at: null,
          started_at: T.sent,
          ended_at: T.sent,
          counters_json: null,
          created_at: T.sent,
        })
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id;
  return {
    ids: { anna, bob, zoe, carl },
    messageId: msg.id,
    smsMessageId: sms.id,
    sendingId: await sending(1, msg.id),
    smsSendingId: await sending(2, sms.id),
  };
}

/** Sets one recipient's email subscription on a list (an admin action of the store). */
export async function setEmailStatus(
  db: Db,
  recipientId: number,
  s: {
    listId?: number;
    status: 'subscribed' | 'unsubscribed';
    optoutType?: string;
    optoutMessageId?: number;
  },
  at: string | number,
): Promise<void> {
  await setSubscriptionStatus(
    db,
    { accountId: 'acme', recipientId, listId: s.listId ?? 1, channel: 'email', ...s },
    new Date(at),
  );
}

/** The id of a recipient of the data set by email address. */
export async function recipientIdOf(db: Db, email: string): Promise<number> {
  return (await db.selectFrom('recipients').select('id').where('email', '=', email).executeTakeFirstOrThrow())
    .id;
}

/** Unsubscriptions: Anna by an admin (`01`), Bob by the message's link (`2`), Carl from list 2 (`4`). */
export async function addUnsubscriptions(db: Db, d: DataSet): Promise<void> {
  const at = Date.parse(T.unsub);
  await setEmailStatus(db, d.ids.anna, { status: 'unsubscribed', optoutType: '01' }, at);
  await setEmailStatus(
    db,
    d.ids.bob,
    { status: 'unsubscribed', optoutType: '2', optoutMessageId: d.messageId },
    at + 60_000,
  );
  await setEmailStatus(db, d.ids.carl, { listId: 2, status: 'unsubscribed', optoutType: '4' }, at + 120_000);
}

/** Engagement of §3.4.2's examples: Anna opens then clicks one link; Bob opens only; Zoë clicks three links. */
export async function addStatistics(db: Db, d: DataSet): Promise<void> {
  const m = { messageId: d.messageId, sendingId: d.sendingId };
  for (const id of Object.values(d.ids))
    await insertEvent(db, { kind: 'sent', recipientId: id, ...m, at: T.sent });
  await insertEvent(db, {
    kind: 'open',
    recipientId: d.ids.anna,
    ...m,
    at: T.open,
    ip: '192.0.2.1',
    userAgent: 'Mail/1.0',
  });
  await insertEvent(db, {
    kind: 'click',
    recipientId: d.ids.anna,
    ...m,
    url: 'https://shop.example/a',
    at: T.click,
  });
  await insertEvent(db, { kind: 'open', recipientId: d.ids.bob, ...m, at: T.open });
  await insertEvent(db, { kind: 'open', recipientId: d.ids.bob, ...m, at: '2026-03-10T09:20:00.000Z' });
  for (const [i, u] of [
    'https://shop.example/a',
    'https://shop.example/b?x=1,2',
    'https://shop.example/c',
  ].entries())
    await insertEvent(db, {
      kind: 'click',
      recipientId: d.ids.zoe,
      ...m,
      url: u,
      at: `2026-03-10T09:3${i}:00.000Z`,
    });
  // A repeated click on the same link: one row, the latest.
  await insertEvent(db, {
    kind: 'click',
    recipientId: d.ids.zoe,
    ...m,
    url: 'https://shop.example/a',
    at: '2026-03-10T09:40:00.000Z',
  });
  await insertEvent(db, {
    kind: 'bounce',
    recipientId: d.ids.carl,
    ...m,
    code: '5.1.1',
    detail: 'hard',
    at: '2026-03-10T07:01:00.000Z',
  });
}

/** SMS delivery reports for Anna and Carl. */
export async function addSmsStatuses(db: Db, d: DataSet): Promise<void> {
  const m = { channel: 'sms' as const, messageId: d.smsMessageId, sendingId: d.smsSendingId };
  await insertEvent(db, {
    kind: 'sms_status',
    recipientId: d.ids.anna,
    ...m,
    code: '0',
    detail: 'DELIVRD',
    at: '2026-03-10T07:00:05.000Z',
  });
  await insertEvent(db, {
    kind: 'sms_status',
    recipientId: d.ids.carl,
    ...m,
    code: 'FAILED_AT_004',
    detail: null,
    at: '2026-03-10T07:00:09.000Z',
  });
  // Bob has no mobile number: no SMS row can exist for him.
}

export interface Env {
  store: TestStore;
  spaces: HostedSpaces;
  clock: ManualClock;
  exportDir: string;
  run(id: string, extra?: Partial<RunExportOptions>): ReturnType<typeof runExport>;
  define(
    input: Partial<ExportInstanceInput> & { id: string; type: ExportInstanceInput['type'] },
  ): Promise<void>;
  /** The bytes of the one file in /export whose name starts with `prefix`. */
  read(name: string): Promise<Buffer>;
  files(): Promise<string[]>;
}

export function envFor(store: TestStore): Env {
  const spaces = new HostedSpaces(path.join(store.dir, 'spaces'));
  const clock = new ManualClock(T.run);
  const exportDir = path.join(store.dir, 'spaces', 'acme', 'export');
  return {
    store,
    spaces,
    clock,
    exportDir,
    run: (id, extra = {}) =>
      runExport({ store, spaces, instanceId: id, trigger: 'cli', clock, logger, ...extra }),
    async define(input) {
      await applyExportInstances(store, [{ accountId: 'acme', lists: [1], ...input }]);
    },
    read: (name) => fs.readFile(path.join(exportDir, name)),
    async files() {
      try {
        return (await fs.readdir(exportDir)).sort();
      } catch {
        return [];
      }
    },
  };
}

/**
 * The per-test set-up of the export suites: a fresh store of the dialect, the data set plus `seeds`, and the
 * environment; cleaned up after each test. The returned object is filled before each test.
 */
export function exportSuite(
  dialect: DialectName,
  ...seeds: ((db: Db, d: DataSet) => Promise<void>)[]
): { store: TestStore; env: Env; d: DataSet } {
  const t = {} as { store: TestStore; env: Env; d: DataSet };
  beforeEach(async () => {
    t.store = await freshStore(dialect);
    t.env = envFor(t.store);
    t.d = await buildDataSet(t.store.db);
    for (const seed of seeds) await seed(t.store.db, t.d);
  });
  afterEach(async () => {
    await t.store.cleanup();
  });
  return t;
}
