/**
 * Unsubscribers export (reference §3.4.1): the exact file, byte for byte, in every separator and both
 * encodings, with appended recipient fields that need the text qualifier and one the ANSI code page cannot hold.
 */
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { addUnsubscriptions, buildDataSet, envFor, type Env } from './export-fixtures.js';

describe.each(DIALECTS)('unsubscribers export (%s)', (dialect) => {
  let store: TestStore;
  let env: Env;
  beforeEach(async () => {
    store = await freshStore(dialect);
    env = envFor(store);
    const d = await buildDataSet(store.db);
    await addUnsubscriptions(store.db, d);
  });
  afterEach(async () => {
    await store.cleanup();
  });

  it('writes the reference layout with its defaults (";", CRLF, yyyymmddThhmmss in Europe/Rome, codes as text)', async () => {
    await env.define({ id: 'unsubs', type: 'unsubscribers', lists: [1, 2] });
    const r = await env.run('unsubs');
    expect(r.status).toBe('succeeded');
    expect(r.rows).toBe(3);
    expect(r.file).toBe('unsubscribers_1-2_20260311050000.csv');
    expect((await env.read(r.file!)).toString('utf8')).toBe(
      'email;mobile;idList;OptOut_Date;Subscription_Date;optout_nl;optout_type\r\n' +
        'anna@example.com;393331112222;1;20260310T110000;20260301T090000;;01\r\n' +
        'bob@example.com;;1;20260310T110100;20260301T090000;161;2\r\n' +
        'carl@example.com;393334445555;2;20260310T110200;20260301T090000;;4\r\n',
    );
    expect(r.job.status).toBe('succeeded');
    expect(r.job.kind).toBe('export');
    expect(r.job.counters).toMatchObject({ rows: 3 });
  });

  const bodies: Record<string, string> = {
    ';': [
      'email;optout_type;First name;City',
      'anna@example.com;01;Anna;Milano',
      'bob@example.com;2;"Bob ""the builder""";"Roma; Lazio"',
      'zoe@example.com;1024;Zoë;Łódź',
    ].join('\r\n'),
    ',': [
      'email,optout_type,First name,City',
      'anna@example.com,01,Anna,Milano',
      'bob@example.com,2,"Bob ""the builder""",Roma; Lazio',
      'zoe@example.com,1024,Zoë,Łódź',
    ].join('\r\n'),
    '|': [
      'email|optout_type|First name|City',
      'anna@example.com|01|Anna|Milano',
      'bob@example.com|2|"Bob ""the builder"""|Roma; Lazio',
      'zoe@example.com|1024|Zoë|Łódź',
    ].join('\r\n'),
  };

  for (const separator of [';', ',', '|'] as const) {
    for (const encoding of ['utf-8', 'windows-1252'] as const) {
      it(`separator "${separator}", ${encoding}: chosen columns, appended fields, qualifier only when needed`, async () => {
        // Zoë unsubscribed by erasure request is not erased yet: her fields are still exported.
        const { setSubscriptionStatus } = await import('../../src/store/index.js');
        const zoe = await store.db
          .selectFrom('recipients')
          .select('id')
          .where('email', '=', 'zoe@example.com')
          .executeTakeFirstOrThrow();
        await setSubscriptionStatus(
          store.db,
          {
            accountId: 'acme',
            recipientId: zoe.id,
            listId: 1,
            channel: 'email',
            status: 'unsubscribed',
            optoutType: '1024',
          },
          new Date('2026-03-10T10:05:00.000Z'),
        );
        await env.define({
          id: 'u',
          type: 'unsubscribers',
          columns: ['optoutType'],
          fields: [1, 2],
          file: { separator, encoding },
        });
        const r = await env.run('u');
        const expected = bodies[separator]! + '\r\n';
        const bytes = await env.read(r.file!);
        if (encoding === 'utf-8') {
          expect(bytes.toString('utf8')).toBe(expected);
          expect(r.unmappableRows).toBe(0);
        } else {
          // Ł is not in windows-1252: replaced by "?" (the default policy), ë and ó are.
          expect(bytes.equals(iconv.encode(expected.replace('Łódź', '?ódź'), 'windows-1252'))).toBe(true);
          expect(bytes.includes(Buffer.from([0xeb]))).toBe(true); // ë as one byte
          expect(r.unmappableRows).toBe(1);
          expect(r.job.counters).toMatchObject({ unmappableRows: 1 });
        }
      });
    }
  }

  it('windows-1252 with unmappable: skipRow leaves the row out and counts it', async () => {
    const { setSubscriptionStatus } = await import('../../src/store/index.js');
    const zoe = await store.db
      .selectFrom('recipients')
      .select('id')
      .where('email', '=', 'zoe@example.com')
      .executeTakeFirstOrThrow();
    await setSubscriptionStatus(
      store.db,
      {
        accountId: 'acme',
        recipientId: zoe.id,
        listId: 1,
        channel: 'email',
        status: 'unsubscribed',
        optoutType: '2',
      },
      new Date('2026-03-10T10:05:00.000Z'),
    );
    await env.define({
      id: 'u',
      type: 'unsubscribers',
      columns: [],
      fields: [2],
      file: { encoding: 'ansi', unmappable: 'skipRow', quote: "'", header: false, lineEnding: 'lf' },
    });
    const r = await env.run('u');
    expect(r.rows).toBe(2);
    expect(r.unmappableRows).toBe(1);
    expect((await env.read(r.file!)).toString('latin1')).toBe(
      "anna@example.com;Milano\nbob@example.com;'Roma; Lazio'\n",
    );
  });
});
