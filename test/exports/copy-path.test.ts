/**
 * The COPY path of PostgreSQL event exports (exports/export-copy.ts) writes the same bytes as the cursor path:
 * both run through `runExport` on one data set full of awkward values (separators, both qualifiers, line
 * breaks, empty strings, NULLs, `\.`, accents, erased recipients, two lists and sendings, every email event
 * kind, optout codes such as `01`, dates across Europe/Rome's DST changes and before 2000), over every
 * separator × qualifier × date format × zone, with header, line ending, appended fields and column orders
 * varied along. The runner's log line says which path wrote each file.
 */
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportInstanceInput } from '../../src/exports/index.js';
import { rowEndScanner } from '../../src/exports/export-copy.js';
import { csvWriter } from '../../src/exports/csv-encoder.js';
import { DATABASE_URL, freshStore, type TestStore } from '../helpers/store.js';
import {
  addSmsStatuses,
  addStatistics,
  addUnsubscriptions,
  buildDataSet,
  envFor,
  insertEvent,
  setEmailStatus,
  type DataSet,
  type Env,
} from './export-fixtures.js';

/** Every awkward value the cells can carry, on extra recipients, messages, sendings and events. */
async function addAwkward(store: TestStore, d: DataSet): Promise<void> {
  const db = store.db;
  const person = async (email: string) =>
    (
      await db
        .insertInto('recipients')
        .values({
          account_id: 'acme',
          email,
          mobile: null,
          created_at: '2026-03-01T08:00:00.000Z',
          updated_at: '2026-03-01T08:00:00.000Z',
        } as never)
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id as number;
  const sub = async (recipientId: number, listId: number, at: string) =>
    db
      .insertInto('subscriptions')
      .values({
        account_id: 'acme',
        recipient_id: recipientId,
        list_id: listId,
        channel: 'email',
        status: 'subscribed',
        subscribed_at: at,
        updated_at: at,
      } as never)
      .execute();
  const quotes = await person("o'hara@example.com");
  const breaks = await person('breaks@example.com');
  const erased = await person('erased@example.com');
  await sub(quotes, 1, '2026-03-29T00:59:59.999Z');
  await sub(breaks, 2, '1999-12-31T23:30:00.000Z');
  await sub(erased, 1, '2026-10-25T00:30:00.000Z');
  const fields = (id: number, f1: string | null, f2: string | null, f3: string | null) =>
    db
      .updateTable('recipients')
      .set({ f1, f2, f3 } as never)
      .where('id', '=', id)
      .execute();
  await fields(quotes, 'Line one\nline two', 'It\'s "quoted"; and, piped|', '');
  await fields(breaks, '\\.', 'CR\ronly', 'tab\there ünïcödé 😀');
  await fields(erased, 'Secret', 'Hidden', 'Gone');
  await fields(d.ids.anna, '', null, 'x');
  await db
    .updateTable('recipients')
    .set({ erased_at: '2026-03-12T00:00:00.000Z' } as never)
    .where('id', '=', erased)
    .execute();

  const message = async (number: number, subject: string | null) =>
    (
      await db
        .insertInto('messages')
        .values({
          account_id: 'acme',
          message_number: number,
          channel: 'email',
          list_id: 2,
          subject,
          created_at: '2026-03-20T00:00:00.000Z',
        } as never)
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id as number;
  const sending = async (number: number, messageId: number, startedAt: string | null, createdAt: string) =>
    (
      await db
        .insertInto('sendings')
        .values({
          account_id: 'acme',
          sending_number: number,
          message_id: messageId,
          list_id: 2,
          status: 'done',
          started_at: startedAt,
          created_at: createdAt,
        } as never)
        .returning('id')
        .executeTakeFirstOrThrow()
    ).id as number;
  const m1 = await message(200, 'Saldi: "50%"; fino a\nlunedì, l\'ultimo|giorno');
  const m2 = await message(201, '');
  const m3 = await message(202, null);
  const s1 = await sending(10, m1, null, '2026-03-29T00:30:00.000Z');
  const s2 = await sending(11, m2, '2026-03-29T01:00:00.000Z', '2026-03-28T00:00:00.000Z');
  const s3 = await sending(12, m3, '1999-06-30T12:00:00.123Z', '1999-06-30T12:00:00.000Z');

  let n = 0;
  const ev = async (
    kind: 'open' | 'click' | 'bounce' | 'sent',
    recipientId: number,
    listId: number,
    messageId: number,
    sendingId: number | null,
    at: string,
    extra: { url?: string | null; code?: string | null; ip?: string | null; userAgent?: string | null } = {},
  ) => {
    // Every fourth event shares its recorded_at with the previous one: the id breaks the tie.
    n++;
    await insertEvent(db, {
      kind,
      recipientId,
      listId,
      messageId,
      sendingId,
      at,
      recordedAt: `2026-11-01T00:00:0${Math.floor(n / 4) % 10}.000Z`,
      ...extra,
    });
  };
  for (const [r, l] of [
    [quotes, 1],
    [breaks, 2],
    [erased, 1],
  ] as const)
    await ev('sent', r, l, m1, s1, '2026-03-29T00:30:00.000Z');
  await ev('open', quotes, 1, m1, s1, '2026-03-29T00:59:59.999Z', {
    ip: '2001:db8::1',
    userAgent: 'Mozilla/5.0 (X11; Linux) "quoted", \'single\'',
  });
  await ev('open', breaks, 2, m2, s2, '2026-03-29T01:00:00.000Z', { ip: '', userAgent: 'UA\nwith break' });
  await ev('click', breaks, 2, m1, s1, '2026-03-29T01:00:00.001Z', {
    url: 'https://shop.example/p?a=1;b=2,c=3|d="4"&e=\'5\'',
  });
  await ev('click', breaks, 2, m1, s1, '2026-03-29T01:00:00.002Z', { url: 'https://shop.example/\\.' });
  await ev('click', quotes, 1, m3, s3, '2026-10-25T00:59:59.000Z', { url: '' });
  await ev('click', quotes, 1, m3, s3, '2026-10-25T01:00:00.000Z', { url: null });
  await ev('bounce', erased, 1, m2, s2, '2026-10-25T01:30:00.000Z', { code: '' });
  await ev('bounce', quotes, 1, m2, null, '1999-12-31T23:30:00.000Z', { code: '5.7.1;"blocked"' });
  await ev('bounce', breaks, 2, m3, s3, '2026-07-01T12:00:00.999Z', { code: null });
  await ev('open', erased, 1, m1, s1, '2026-11-01T00:00:00.000Z');
  const at = Date.parse('2026-11-01T00:00:00.000Z');
  await setEmailStatus(db, quotes, { status: 'unsubscribed', optoutType: '01' }, at + 1000);
  await setEmailStatus(db, breaks, { listId: 2, status: 'unsubscribed', optoutType: '0;1"' }, at + 2000);
  await setEmailStatus(
    db,
    erased,
    { status: 'unsubscribed', optoutType: '', optoutMessageId: 200 },
    at + 3000,
  );
}

/** Log lines of the runs (the runner says which path wrote each file). */
const logs: { read?: string; file?: string }[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) logs.push(JSON.parse(line) as { read?: string; file?: string });
      cb();
    },
  }),
);

const TYPES = ['statistics', 'unsubscribers', 'unsubscribers+statistics'] as const;
const LAYOUTS: Record<(typeof TYPES)[number], (string[] | undefined)[]> = {
  statistics: [
    undefined,
    [
      'sentDate',
      'details',
      'email',
      'statusChange',
      'ip',
      'userAgent',
      'statusType',
      'sendingId',
      'messageId',
    ],
  ],
  unsubscribers: [undefined, ['optoutType', 'optoutDate', 'subscriptionDate', 'optoutMessageId', 'listId']],
  'unsubscribers+statistics': [
    undefined,
    ['subscriptionDate', 'optoutType', 'mobile', 'statusType', 'details', 'sentDate', 'ip', 'userAgent'],
  ],
};
const DATE_FORMATS = ['yyyymmddThhmmss', 'DD/MM/YYYY hh:mm:ss.SSS', `YYYY"MM'DD|hh;mm,ss\\SSS DDDD`];
const ZONES = ['Europe/Rome', 'UTC'];

describe.skipIf(!DATABASE_URL)('COPY path of event exports (postgres)', () => {
  let store: TestStore;
  let env: Env;
  beforeAll(async () => {
    store = await freshStore('postgres');
    env = envFor(store);
    // After every event of the data set, so the mark pass (latest action) covers them all.
    env.clock.set('2026-12-02T00:00:00.000Z');
    const d = await buildDataSet(store.db);
    for (const seed of [addStatistics, addUnsubscriptions, addSmsStatuses]) await seed(store.db, d);
    await addAwkward(store, d);
  });
  afterAll(async () => {
    await store.cleanup();
  });

  /** Instances with a file name of their own per run (every run here has the same clock time). */
  const define = (input: Parameters<Env['define']>[0]) =>
    env.define({ fileName: '{instance}_{seq}.csv', ...input });
  const window = { from: '2026-01-01T00:00:00.000Z', to: '2026-12-01T00:00:00.000Z' };
  /** Runs the instance on each path; returns the bytes of both files. */
  async function bothPaths(
    input: Partial<ExportInstanceInput> & { id: string; type: ExportInstanceInput['type'] },
  ) {
    await define(input);
    const cursor = await env.run(input.id, { window, logger, source: { copy: false } });
    const copy = await env.run(input.id, { window, logger });
    const pathOf = (file: string) => logs.find((l) => l.file === file)?.read;
    return {
      cursor: await env.read(cursor.file!),
      copy: await env.read(copy.file!),
      paths: [pathOf(cursor.file!), pathOf(copy.file!)],
      rows: [cursor.rows, copy.rows],
    };
  }

  let i = 0;
  for (const type of TYPES)
    for (const separator of [';', ',', '|'] as const)
      for (const quote of ['"', "'"] as const)
        for (const dateFormat of DATE_FORMATS)
          for (const timeZone of ZONES) {
            const k = i++;
            const header = k % 2 === 0;
            const lineEnding = k % 3 === 0 ? 'lf' : 'crlf';
            const columns = LAYOUTS[type][k % 2];
            const fields = [[], [1, 2, 3], [3, 1]][k % 3]!;
            it(`${type}, "${separator}" ${quote} ${dateFormat} ${timeZone}, header ${header}, ${lineEnding}, columns ${columns ? 'chosen' : 'default'}, fields [${fields.join(',')}]`, async () => {
              const r = await bothPaths({
                id: `c${k}`,
                type,
                lists: [1, 2],
                includeSent: k % 4 < 2,
                columns,
                fields,
                file: { separator, quote, dateFormat, timeZone, header, lineEnding },
              });
              expect(r.paths).toEqual(['cursor', 'copy']);
              expect(r.copy.toString('utf8')).toBe(r.cursor.toString('utf8'));
              expect(r.copy.equals(r.cursor)).toBe(true);
              expect(r.rows[1]).toBe(r.rows[0]);
              expect(r.rows[0]).toBeGreaterThan(type === 'unsubscribers' ? 3 : 8);
            });
          }

  it('the data set reaches the awkward cases (quoted line breaks, both DST changes, erased fields, empty cells)', async () => {
    const r = await bothPaths({
      id: 'probe',
      type: 'unsubscribers+statistics',
      lists: [1, 2],
      includeSent: true,
      fields: [1, 2, 3],
      file: { dateFormat: 'YYYY-MM-DD hh:mm:ss.SSS' },
    });
    expect(r.paths).toEqual(['cursor', 'copy']);
    const text = r.copy.toString('utf8');
    expect(r.copy.equals(r.cursor)).toBe(true);
    expect(text).toContain('"Line one\nline two"');
    expect(text).toContain('"CR\ronly"');
    expect(text).toContain(';\\.;');
    expect(text).toContain('2026-03-29 01:59:59.999'); // last instant of CET
    expect(text).toContain('2026-03-29 03:00:00.000'); // first of CEST
    expect(text).toContain('2026-10-25 02:59:59.000'); // last of CEST
    expect(text).toContain('2026-10-25 02:00:00.000'); // first of CET again
    expect(text).toContain('2000-01-01 00:30:00.000'); // before the offset periods: PostgreSQL's zone data
    expect(text).toMatch(/^erased@example\.com;1;11;201;;NCO;;/m); // empty subject and bounce code
    expect(text).not.toContain('Secret');
    expect(text).toContain(';01;');
    expect(text).not.toMatch(/(^|;)""(;|\r\n)/m); // an empty value is never quoted
  });

  it('gzip and a BOM go through the same encoder', async () => {
    const r = await bothPaths({
      id: 'gz',
      type: 'statistics',
      lists: [1, 2],
      file: { compression: 'gzip', bom: true },
    });
    expect(r.paths).toEqual(['cursor', 'copy']);
    expect(gunzipSync(r.copy).equals(gunzipSync(r.cursor))).toBe(true);
    expect(gunzipSync(r.copy).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });

  it('an empty window: header only, or nothing with emptyFile skip', async () => {
    const empty = { from: '2030-01-01T00:00:00.000Z', to: '2030-01-02T00:00:00.000Z' };
    await define({ id: 'e1', type: 'statistics', lists: [1] });
    const a = await env.run('e1', { window: empty, logger });
    expect((await env.read(a.file!)).toString('utf8')).toBe(
      'idList;idInvio;idNl;email;subject;statusType;details;statusChange;sentDate\r\n',
    );
    expect(logs.find((l) => l.file === a.file)?.read).toBe('copy');
    await define({ id: 'e2', type: 'statistics', lists: [1], emptyFile: 'skip' });
    const b = await env.run('e2', { window: empty, logger });
    expect(b.status).toBe('skipped');
    expect(b.file).toBeUndefined();
  });

  it('onRow sees every row of a COPY export, in order', async () => {
    await define({ id: 'rows', type: 'statistics', lists: [1, 2], includeSent: true });
    const seen: number[] = [];
    const r = await env.run('rows', { window, logger, onRow: (n) => void seen.push(n) });
    expect(logs.find((l) => l.file === r.file)?.read).toBe('copy');
    expect(seen).toEqual(Array.from({ length: r.rows }, (_, j) => j + 1));
  });

  it('instances the COPY path cannot write byte for byte keep the cursor path (ANSI, SMS statistics, subscribers, one column)', async () => {
    const cases: Parameters<Env['define']>[0][] = [
      { id: 'ansi', type: 'statistics', file: { encoding: 'ansi' } },
      { id: 'sms', type: 'sms-statistics' },
      { id: 'subs', type: 'subscribers' },
      { id: 'one', type: 'unsubscribers', columns: ['email'] },
    ];
    for (const input of cases) {
      const id = input.id;
      await define({ lists: [1, 2], ...input });
      const r = await env.run(id, { window, logger });
      expect(r.status).toBe('succeeded');
      expect(logs.find((l) => l.file === r.file)?.read).toBe('cursor');
    }
  });
});

describe('rowEndScanner (CRLF after COPY)', () => {
  const rows = [
    ['a', 'b "c"', ''],
    ['line\nbreak', "it's", 'x;y'],
    ['', '', ''],
    ['"', '\n', "'\n'"],
    ['end', 'ünï', '😀'],
  ];
  for (const quote of ['"', "'"] as const)
    it(`turns row ends into CRLF and keeps line breaks inside ${quote} values, however the bytes are cut`, () => {
      const lf = Buffer.from(csvWriter({ separator: ';', quote, lineEnding: 'lf' } as never)(rows), 'utf8');
      const crlf = Buffer.from(
        csvWriter({ separator: ';', quote, lineEnding: 'crlf' } as never)(rows),
        'utf8',
      );
      for (let a = 0; a <= lf.length; a++)
        for (const b of [a, a + 1, a + 7, lf.length]) {
          const scan = rowEndScanner(quote, true);
          const parts = [lf.subarray(0, a), lf.subarray(a, Math.max(a, b)), lf.subarray(Math.max(a, b))];
          const outs = parts.map((p) => scan(p));
          expect(Buffer.concat(outs.map((o) => o.out)).equals(crlf)).toBe(true);
          expect(outs.reduce((s, o) => s + o.rows, 0)).toBe(rows.length);
        }
    });
});
