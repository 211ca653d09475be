/**
 * Unsubscribers export (reference §3.4.1): the exact file, byte for byte, in every separator and both
 * encodings, with appended recipient fields that need the text qualifier and one the ANSI code page cannot hold.
 */
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../helpers/store.js';
import { addUnsubscriptions, exportSuite, recipientIdOf, setEmailStatus } from './export-fixtures.js';

describe.each(DIALECTS)('unsubscribers export (%s)', (dialect) => {
  const t = exportSuite(dialect, addUnsubscriptions);
  const zoeUnsubscribes = async (optoutType: string) =>
    setEmailStatus(
      t.store.db,
      await recipientIdOf(t.store.db, 'zoe@example.com'),
      { status: 'unsubscribed', optoutType },
      '2026-03-10T10:05:00.000Z',
    );

  it('writes the reference layout with its defaults (";", CRLF, yyyymmddThhmmss in Europe/Rome, codes as text)', async () => {
    await t.env.define({ id: 'unsubs', type: 'unsubscribers', lists: [1, 2] });
    const r = await t.env.run('unsubs');
    expect(r.status).toBe('succeeded');
    expect(r.rows).toBe(3);
    expect(r.file).toBe('unsubscribers_1-2_20260311050000.csv');
    expect((await t.env.read(r.file!)).toString('utf8')).toBe(
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
        await zoeUnsubscribes('1024');
        await t.env.define({
          id: 'u',
          type: 'unsubscribers',
          columns: ['optoutType'],
          fields: [1, 2],
          file: { separator, encoding },
        });
        const r = await t.env.run('u');
        const expected = bodies[separator]! + '\r\n';
        const bytes = await t.env.read(r.file!);
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
    await zoeUnsubscribes('2');
    await t.env.define({
      id: 'u',
      type: 'unsubscribers',
      columns: [],
      fields: [2],
      file: { encoding: 'ansi', unmappable: 'skipRow', quote: "'", header: false, lineEnding: 'lf' },
    });
    const r = await t.env.run('u');
    expect(r.rows).toBe(2);
    expect(r.unmappableRows).toBe(1);
    expect((await t.env.read(r.file!)).toString('latin1')).toBe(
      "anna@example.com;Milano\nbob@example.com;'Roma; Lazio'\n",
    );
  });
});
