/**
 * The fixture corpus (issue 4): files that real customers' systems produce or break. Each ends in a clear
 * outcome — job status, DS_* code, and the code of each rejected row — and the process never crashes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFile, type ImportInstanceInput } from '../../src/imports/index.js';
import type { JobStatus } from '../../src/store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { FIXTURES, seedAccount } from './helpers.js';
import { applyInstances } from '../../src/imports/index.js';

interface Case {
  file: string;
  instance?: Partial<ImportInstanceInput>;
  status: JobStatus;
  code?: string;
  /** [line, code] of every rejected row. */
  rejected?: [number, string][];
  counters?: Record<string, number>;
  /** Expected recipients: email or mobile → field values. */
  rows?: Record<string, Record<string, string | null>>;
}

const pipe = { file: { separator: '|' as const } };
const CASES: Case[] = [
  {
    file: 'ref-2.14-email-pipe.csv',
    instance: pipe,
    status: 'succeeded',
    counters: { created: 2 },
    rows: { 'psmith02@example.com': { f1: 'Peter', f10: '1978-03-16', f6: 'London' } },
  },
  {
    file: 'ref-2.14-sms-prefix-number.csv',
    instance: { ...pipe, channels: ['sms'] },
    status: 'partial',
    rejected: [[2, 'DS_MOBILE_INVALID']],
  },
  {
    file: 'ref-2.14-sms-full-number.csv',
    instance: { ...pipe, channels: ['sms'] },
    status: 'succeeded',
    rows: { '39123000000': { f1: 'Peter' } },
  },
  {
    file: 'ref-2.14-skipped-column.csv',
    status: 'succeeded',
    counters: { created: 2 },
    rows: {
      'mario.rossi@provider.com': { f3: 'Mario', f4: '1975-07-3', f7: '12345678' },
      'pierino.prati@provider.com': { f7: null },
    },
  },
  {
    file: 'ref-2.7-free-structure.csv',
    instance: {
      destination: {},
      subscription: { mode: 'perRow', column: 'subscription_status' },
      mapping: {
        style: 'explicit',
        columns: [
          { column: 'email', target: 'email' },
          { column: 'name', target: 1 },
          { column: 'second name', target: 2 },
          { column: 'Job Title', target: { field: 3 } },
          { column: 'idlist', target: 'listId' },
        ],
      },
    },
    status: 'succeeded',
    counters: { created: 3, subscribed: 2, unsubscribed: 1 },
    rows: { 'name2.surname2@myprovider.com': { f1: 'Martha', f3: 'Manager' } },
  },
  {
    file: 'utf8-bom.csv',
    status: 'succeeded',
    counters: { created: 2 },
    rows: { 'ana@example.com': { f1: 'Ana' } },
  },
  {
    file: 'utf8-accents.csv',
    status: 'succeeded',
    rows: { 'jose@example.com': { f1: 'José', f2: 'Muñoz' }, 'zoe@example.com': { f2: 'Ærø' } },
  },
  {
    file: 'windows-1252-accents.csv',
    status: 'succeeded',
    rows: { 'rene@example.com': { f1: 'René', f2: 'Dupré €' } },
  },
  {
    file: 'windows-1252-declared-utf8.csv',
    instance: { file: { encoding: 'utf-8' } },
    status: 'failed',
    code: 'DS_IMPORT_ENCODING',
  },
  {
    file: 'windows-1252-declared-utf8.csv',
    instance: { file: { encoding: 'windows-1252' } },
    status: 'succeeded',
    rows: { 'jose@example.com': { f1: 'José' } },
  },
  {
    file: 'crlf.csv',
    status: 'succeeded',
    counters: { created: 3 },
    rows: { 'a3@example.com': { f2: 'Three' } },
  },
  {
    file: 'lone-cr.csv',
    status: 'succeeded',
    counters: { created: 3 },
    rows: { 'a3@example.com': { f2: 'Three' } },
  },
  {
    file: 'no-final-newline.csv',
    status: 'succeeded',
    counters: { created: 2 },
    rows: { 'a2@example.com': { f1: 'B' } },
  },
  {
    file: 'quoted-separators.csv',
    status: 'succeeded',
    rows: { 'q1@example.com': { f1: 'Smith; Jr' }, 'q2@example.com': { f1: 'He said "hi"' } },
  },
  {
    file: 'quoted-newline.csv',
    status: 'succeeded',
    rows: { 'n1@example.com': { f1: 'Line one\nLine two' }, 'n2@example.com': { f1: 'plain' } },
  },
  {
    file: 'stray-quote.csv',
    status: 'succeeded',
    rows: { 's1@example.com': { f1: 'Pe"ter', f2: '12" screen' } },
  },
  {
    file: 'unclosed-quote.csv',
    status: 'partial',
    rejected: [[4, 'DS_IMPORT_CSV_MALFORMED']],
    rows: { 'u1@example.com': { f1: 'Ann' } },
  },
  {
    file: 'wrong-column-count.csv',
    status: 'partial',
    rejected: [
      [3, 'DS_IMPORT_ROW_COLUMNS'],
      [4, 'DS_IMPORT_ROW_COLUMNS'],
    ],
    counters: { malformed: 2, created: 2 },
  },
  { file: 'empty.csv', status: 'failed', code: 'DS_IMPORT_FILE_EMPTY' },
  { file: 'blank-lines-only.csv', status: 'failed', code: 'DS_IMPORT_FILE_EMPTY' },
  { file: 'header-only.csv', status: 'succeeded', counters: { processed: 0 } },
  { file: 'duplicate-header.csv', status: 'failed', code: 'DS_IMPORT_HEADER_INVALID' },
  { file: 'unknown-field-id.csv', status: 'failed', code: 'DS_IMPORT_HEADER_INVALID' },
  { file: 'text-header-field-style.csv', status: 'failed', code: 'DS_IMPORT_HEADER_INVALID' },
  {
    file: 'nul-bytes.csv',
    status: 'partial',
    rejected: [[3, 'DS_IMPORT_VALUE_INVALID']],
    counters: { created: 2 },
  },
  { file: 'binary-junk.bin', status: 'failed', code: 'DS_IMPORT_ENCODING' },
  {
    file: 'invalid-emails.csv',
    status: 'partial',
    rejected: [
      [3, 'DS_EMAIL_INVALID'],
      [4, 'DS_EMAIL_INVALID'],
      [5, 'DS_EMAIL_INVALID'],
      [6, 'DS_EMAIL_INVALID'],
    ],
    counters: { created: 1 },
  },
  {
    file: 'idn-and-case.csv',
    status: 'succeeded',
    rows: { 'user@xn--bcher-kva.de': { f1: 'A' }, 'Mixed.Case@example.com': { f1: 'B' } },
  },
  {
    file: 'mobile-formats.csv',
    instance: { channels: ['sms'] },
    status: 'partial',
    rejected: [[5, 'DS_MOBILE_INVALID']],
    rows: {
      '393471234567': { f1: 'A' },
      '393471234568': { f1: 'B' },
      '393471234569': { f1: 'C' },
      '393471234570': { f1: 'E' },
    },
  },
  {
    file: 'mobile-prefix-columns.csv',
    instance: { channels: ['sms'] },
    status: 'partial',
    rejected: [[5, 'DS_MOBILE_INVALID']],
    rows: { '393471234571': { f1: 'A' }, '393471234572': { f1: 'B' }, '393471234573': { f1: 'C' } },
  },
  {
    file: 'duplicate-keys.csv',
    status: 'succeeded',
    counters: { duplicated: 1, created: 2, updated: 1 },
    rows: { 'dup@example.com': { f1: 'Second' } },
  },
  {
    file: 'value-too-long.csv',
    status: 'partial',
    rejected: [
      [2, 'DS_FIELD_TOO_LONG'],
      [4, 'DS_FIELD_TOO_LONG'],
    ],
    counters: { created: 1 },
  },
  {
    file: 'per-row-destinations.csv',
    instance: { destination: { listId: 1 } },
    status: 'partial',
    rejected: [
      [3, 'DS_LIST_UNKNOWN'],
      [4, 'DS_GROUP_UNKNOWN'],
      [6, 'DS_GROUP_UNKNOWN'],
    ],
    counters: { created: 3, groupsAdded: 1 },
  },
  {
    file: 'tab-separated.csv',
    instance: { file: { separator: 'tab' } },
    status: 'succeeded',
    rows: { 't2@example.com': { f2: 'Two' } },
  },
  {
    file: 'comma-single-quote.csv',
    instance: { file: { separator: ',', quote: "'" } },
    status: 'succeeded',
    rows: { 'c1@example.com': { f1: 'Smith, John' }, 'c2@example.com': { f1: "O'Brien" } },
  },
  { file: 'no-key-column.csv', status: 'failed', code: 'DS_IMPORT_NO_KEY_COLUMN' },
  {
    file: 'utf16le-bom.csv',
    instance: { file: { separator: '\t' } },
    status: 'succeeded',
    rows: { 'u16@example.com': { f1: 'José' } },
  },
  {
    file: 'dates-dd-mm-yyyy.csv',
    instance: { file: { dateFormat: 'DD/MM/YYYY', dateFields: [10] } },
    status: 'partial',
    rejected: [
      [3, 'DS_IMPORT_VALUE_INVALID'],
      [4, 'DS_IMPORT_VALUE_INVALID'],
    ],
    rows: { 'd1@example.com': { f10: '1978-03-16' }, 'd4@example.com': { f10: null } },
  },
  { file: 'blank-lines-between.csv', status: 'succeeded', counters: { created: 2, processed: 2 } },
  { file: 'whitespace-values.csv', status: 'succeeded', rows: { 'w1@example.com': { f1: 'Ann', f2: null } } },
  {
    file: 'subscription-column.csv',
    instance: { subscription: { mode: 'perRow' } },
    status: 'partial',
    rejected: [[4, 'DS_IMPORT_VALUE_INVALID']],
    counters: { subscribed: 2, unsubscribed: 1 },
  },
];

describe.each(DIALECTS)('fixture corpus (%s)', (dialect) => {
  let store: TestStore;
  let out: string;
  beforeAll(async () => {
    store = await freshStore(dialect);
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-corpus-'));
  });
  afterAll(async () => {
    await store.cleanup();
    fs.rmSync(out, { recursive: true, force: true });
  });

  it.each(CASES.map((c, i) => [i, c.file, c] as const))('#%i %s', async (i, file, c) => {
    const accountId = `c${i}`;
    await seedAccount(store, accountId);
    await applyInstances(store, [
      { id: `inst-${i}`, accountId, destination: { listId: 1 }, ...c.instance } as ImportInstanceInput,
    ]);
    const rejectedCsvPath = path.join(out, `${i}.rejected.csv`);
    const s = await importFile(store, {
      file: path.join(FIXTURES, file),
      instanceId: `inst-${i}`,
      rejectedCsvPath,
    });
    expect({ status: s.status, code: s.error?.code }).toEqual({ status: c.status, code: c.code });
    if (c.rejected) expect(s.rejected.map((r) => [r.line, r.code])).toEqual(c.rejected);
    else if (c.status !== 'failed') expect(s.rejected).toEqual([]);
    for (const [k, v] of Object.entries(c.counters ?? {})) expect(s.counters[k as 'created'], k).toBe(v);
    expect(s.counters.processed).toBe(s.counters.valid + s.counters.rejected);
    if (c.rejected) expect(fs.existsSync(rejectedCsvPath)).toBe(true);
    for (const [key, fields] of Object.entries(c.rows ?? {})) {
      const r = await store.db
        .selectFrom('recipients')
        .selectAll()
        .where('account_id', '=', accountId)
        .where(/^[0-9]+$/.test(key) ? 'mobile' : 'email', '=', key)
        .executeTakeFirst();
      expect(r, key).toBeDefined();
      for (const [f, v] of Object.entries(fields)) expect(r![f as 'f1'], `${key} ${f}`).toBe(v);
    }
    const job = s.jobId
      ? await store.db.selectFrom('jobs').selectAll().where('id', '=', s.jobId).executeTakeFirstOrThrow()
      : null;
    expect(job?.status).toBe(c.status);
  });
});
