import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DatasyncError } from '../../src/errors.js';
import { normalizeMobile } from '../../src/store/index.js';
import { parseCsv2SmsFile, parseCsv2SmsMessages, zonedTimeToUtc } from '../../src/sms/index.js';

const HEADER = [
  '#name.surname@myprovider.com',
  '#2012-03-01 14:30',
  '#I',
  '#MailUp',
  '#5',
  '#Special offers',
  '#COD1234567',
];
const BODY = [
  'MOBILE NUMBER;TEXT;Field1;Field2;Field3;Field4;UNICODE',
  '393331234567;Hello [Field1], your code is [Field2];Peter;A12;;;0',
  '393339876543;Hello [Field1], your code is [Field2];Maria;B34;;;0',
  '#end of file',
];
const file = (header = HEADER, body = BODY, bom = true) =>
  Buffer.concat([
    bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0),
    Buffer.from([...header, ...body].join('\r\n') + '\r\n'),
  ]);

function headerError(rows: string[]): DatasyncError {
  try {
    parseCsv2SmsFile(file(rows));
  } catch (e) {
    return e as DatasyncError;
  }
  throw new Error('expected a header error');
}
const withRow = (n: number, v: string) => HEADER.map((r, i) => (i === n - 1 ? v : r));

describe('CSV2SMS header section', () => {
  it('reads the reference sample (BOM, CRLF, Excel ; padding stripped)', () => {
    const padded = HEADER.map((r) => r + ';;;;;;');
    const { header, bodyFirstLine } = parseCsv2SmsFile(file(padded));
    expect(header).toEqual({
      author: 'name.surname@myprovider.com',
      sendAtLocal: '2012-03-01 14:30',
      action: 'send',
      sender: 'MailUp',
      senderKind: 'alphanumeric',
      listId: 5,
      campaign: 'Special offers',
      code: 'COD1234567',
    });
    expect(bodyFirstLine).toBe(8);
  });

  it('accepts UTF-8 without BOM and empty optional rows', () => {
    const { header } = parseCsv2SmsFile(
      file(['#', '#', '#A', '#+39 333 1234567', '#', '#', '#'], BODY, false),
    );
    expect(header).toMatchObject({
      author: null,
      sendAtLocal: null,
      action: 'queue',
      sender: '393331234567',
      senderKind: 'numeric',
      listId: null,
      campaign: '',
      code: null,
    });
  });

  it.each([
    ['6 rows', HEADER.slice(0, 6), 'DS_SMS_HEADER_ROWS', 7],
    ['8 rows', [...HEADER, '#extra'], 'DS_SMS_HEADER_ROWS', 9],
    ['no header', [], 'DS_SMS_HEADER_ROWS', 1],
  ])('refuses %s', (_n, rows, code, line) => {
    const e = headerError(rows);
    expect(e.code).toBe(code);
    expect(e.details?.line).toBe(line);
    expect(e.message).toMatch(/exactly 7 header rows/);
  });

  it.each([
    [1, '#not an author', 'DS_SMS_HEADER_AUTHOR'],
    [1, '#12', 'DS_SMS_HEADER_AUTHOR'],
    [2, '#2012-03-01', 'DS_SMS_HEADER_SEND_TIME'],
    [2, '#01/03/2012 14:30', 'DS_SMS_HEADER_SEND_TIME'],
    [2, '#2012-02-30 14:30', 'DS_SMS_HEADER_SEND_TIME'],
    [2, '#2012-03-01 24:00', 'DS_SMS_HEADER_SEND_TIME'],
    [3, '#X', 'DS_SMS_HEADER_ACTION'],
    [3, '#', 'DS_SMS_HEADER_ACTION'],
    [4, '#', 'DS_SMS_HEADER_SENDER'],
    [4, '#TwelveCharsX', 'DS_SMS_HEADER_SENDER'],
    [4, '#Mail*Up', 'DS_SMS_HEADER_SENDER'],
    [4, '#12', 'DS_SMS_HEADER_SENDER'],
    [4, '#1234567890123456', 'DS_SMS_HEADER_SENDER'],
    [5, '#five', 'DS_SMS_HEADER_LIST'],
    [5, '#0', 'DS_SMS_HEADER_LIST'],
    [6, '#' + 'x'.repeat(101), 'DS_SMS_HEADER_CAMPAIGN'],
    [7, '#COD-20120312145300', 'DS_SMS_HEADER_CODE'],
  ])('row %i "%s" → %s naming the row', (row, value, code) => {
    const e = headerError(withRow(row, value));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(new RegExp(`^header row ${row}: `));
    expect(e.details?.line).toBe(row);
  });

  it('accepts the edge values', () => {
    expect(parseCsv2SmsFile(file(withRow(4, '#ElevenChars'.slice(0, 12)))).header.sender).toBe('ElevenChars');
    expect(parseCsv2SmsFile(file(withRow(4, '#Shop & Co.'))).header.sender).toBe('Shop & Co.');
    expect(parseCsv2SmsFile(file(withRow(4, '#12345'))).header).toMatchObject({
      sender: '12345',
      senderKind: 'numeric',
    });
    expect(parseCsv2SmsFile(file(withRow(7, '#ABCDEFGHIJ'))).header.code).toBe('ABCDEFGHIJ');
    expect(parseCsv2SmsFile(file(withRow(3, '#a'))).header.action).toBe('queue');
    expect(parseCsv2SmsFile(file(withRow(1, '#+39 333 1234567'))).header.author).toBe('393331234567');
  });

  it('refuses a file that is not UTF-8', () => {
    const latin1 = Buffer.concat([file(HEADER, BODY, false), Buffer.from([0xe8, 0x0a])]);
    expect(() => parseCsv2SmsFile(latin1)).toThrow(expect.objectContaining({ code: 'DS_SMS_FILE_ENCODING' }));
  });

  it('converts the send time in the account zone, DST included', () => {
    expect(zonedTimeToUtc('2026-01-15 14:30', 'Europe/Rome').toISOString()).toBe('2026-01-15T13:30:00.000Z');
    expect(zonedTimeToUtc('2026-07-15 14:30', 'Europe/Rome').toISOString()).toBe('2026-07-15T12:30:00.000Z');
    // 02:30 does not exist on 2026-03-29 in Rome: it moves forward to 03:30 CEST.
    expect(zonedTimeToUtc('2026-03-29 02:30', 'Europe/Rome').toISOString()).toBe('2026-03-29T01:30:00.000Z');
    expect(zonedTimeToUtc('2026-01-15 09:00', 'America/New_York').toISOString()).toBe(
      '2026-01-15T14:00:00.000Z',
    );
  });
});

describe('CSV2SMS messages section', () => {
  const opts = {
    maxSegments: 3,
    normalizeMobile: (raw: string) => normalizeMobile({ number: raw.startsWith('+') ? raw : '+' + raw }),
  };
  const parse = (rows: string[]) => parseCsv2SmsMessages(rows.join('\n'), 8, opts);

  it('reads the sample: placeholders replaced per row, trailer kept apart', () => {
    const p = parse(BODY);
    expect(p.rows).toBe(2);
    expect(p.trailer).toBe('end of file');
    expect(p.rejected).toEqual([]);
    expect(p.messages.map((m) => [m.line, m.mobile, m.text, m.encoding, m.parts])).toEqual([
      [9, '393331234567', 'Hello Peter, your code is A12', 'gsm7', 1],
      [10, '393339876543', 'Hello Maria, your code is B34', 'gsm7', 1],
    ]);
  });

  it.each([
    ['no column row', ['393331234567;Hi;x;0'], 'DS_SMS_COLUMNS_INVALID'],
    ['no TEXT', ['MOBILE NUMBER;Field1', '3933;x'], 'DS_SMS_COLUMNS_INVALID'],
    ['unknown column', ['MOBILE NUMBER;TEXT;Field1;Colour', '3933;x;y;z'], 'DS_SMS_COLUMNS_INVALID'],
    ['repeated column', ['MOBILE NUMBER;TEXT;Field1;Field1', '3933;x;y;z'], 'DS_SMS_COLUMNS_INVALID'],
    ['no placemark', ['MOBILE NUMBER;TEXT;UNICODE', '393331234567;Hi;0'], 'DS_SMS_NO_PLACEMARK'],
    ['no rows', ['MOBILE NUMBER;TEXT;Field1', '#end'], 'DS_SMS_NO_MESSAGES'],
    [
      'rows after #',
      ['MOBILE NUMBER;TEXT;Field1', '393331234567;Hi;x', '#end', '393339876543;Hi;y'],
      'DS_SMS_TRAILER_NOT_LAST',
    ],
  ])('file-level: %s → %s', (_n, rows, code) => {
    expect(() => parse(rows)).toThrow(expect.objectContaining({ code }));
  });

  it('rejects bad rows with a reason naming the line, and goes on', () => {
    const p = parse([
      'MOBILE NUMBER;TEXT;Field1;UNICODE',
      '393331234567;Hi [Field1];Ann;0',
      '393331234568;Hi [Field1];Bob',
      'not-a-number;Hi;x;0',
      '393331234569;Hi [Field2];x;0',
      '393331234570;;x;0',
      '393331234571;Hi;x;maybe',
      `393331234572;${'a'.repeat(460)};x;0`,
      '393331234567;Again;x;0',
      '',
      '"+39 333 1234573";"Semi;colon [Field1]";"Q";1',
    ]);
    expect(p.rejected.map((r) => [r.line, r.code])).toEqual([
      [10, 'DS_SMS_ROW_COLUMNS'],
      [11, 'DS_SMS_MOBILE_INVALID'],
      [12, 'DS_SMS_PLACEHOLDER_UNKNOWN'],
      [13, 'DS_SMS_TEXT_EMPTY'],
      [14, 'DS_SMS_UNICODE_INVALID'],
      [15, 'DS_SMS_TEXT_TOO_LONG'],
      [16, 'DS_SMS_DUPLICATE_NUMBER'],
    ]);
    for (const r of p.rejected) expect(r.reason).toMatch(new RegExp(`^line ${r.line}: `));
    expect(p.rejected[5]!.reason).toMatch(/needs 4 SMS parts \(460 GSM-7 characters\), at most 3/);
    expect(p.messages.map((m) => [m.line, m.text, m.encoding])).toEqual([
      [9, 'Hi Ann', 'gsm7'],
      [18, 'Semi;colon Q', 'ucs2'],
    ]);
    expect(p.rows).toBe(9);
  });

  it('honours a configured maximum of segments', () => {
    const rows = ['MOBILE NUMBER;TEXT;Field1', `393331234567;${'a'.repeat(161)};x`];
    expect(parseCsv2SmsMessages(rows.join('\n'), 8, { ...opts, maxSegments: 1 }).rejected[0]!.code).toBe(
      'DS_SMS_TEXT_TOO_LONG',
    );
    expect(parseCsv2SmsMessages(rows.join('\n'), 8, { ...opts, maxSegments: 2 }).messages[0]!.parts).toBe(2);
  });
});

describe('docs/sms.md sample file', () => {
  it('is accepted as documented', () => {
    const doc = readFileSync(new URL('../../docs/sms.md', import.meta.url), 'utf8');
    const sample = /## A complete sample file[\s\S]*?```\n([\s\S]*?)```/.exec(doc)![1]!;
    const split = parseCsv2SmsFile(Buffer.from(sample));
    expect(split.header).toMatchObject({ action: 'send', sender: 'MailUp', listId: 5, code: 'COD1234567' });
    const p = parseCsv2SmsMessages(split.body, split.bodyFirstLine, {
      maxSegments: 3,
      normalizeMobile: (raw) => normalizeMobile({ number: raw, defaultPrefix: '39' }),
    });
    expect(p.rejected).toEqual([]);
    expect(p.messages.map((m) => [m.mobile, m.encoding])).toEqual([
      ['393331234567', 'gsm7'],
      ['393339876543', 'gsm7'],
      ['393331112222', 'gsm7'],
      ['393334445555', 'ucs2'],
    ]);
    expect(p.messages[2]!.text).toBe('Ciao Anna; a text with a semicolon is quoted');
  });
});
