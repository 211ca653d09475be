/**
 * The malicious-archive corpus: each archive ends in a failed job with a clear DS_FTPZIP_* code and the
 * reference's message where one exists, the archive and its result.json in /import_zip/failed/, and nothing
 * else written anywhere (the temp folder around the spaces root is compared before and after).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findJob } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import {
  MARKUP,
  PNG,
  RECIPIENTS,
  buildZip,
  listTree,
  markEncrypted,
  renameEntry,
  settingsXml,
  startRig,
  type FtpZipRig,
} from './ftpzip-harness.js';

const ok = { 'Markup.htm': MARKUP, 'logo.png': PNG, 'Recipients.csv': RECIPIENTS };
const XXE = `<?xml version="1.0"?><!DOCTYPE FtpZip [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<FtpZip><Header><ActionType>full</ActionType></Header><Content><ListId>1</ListId><EmailSubject>&xxe;</EmailSubject></Content></FtpZip>`;
const LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<FtpZip><Header><ActionType>full</ActionType></Header><Content><ListId>1</ListId><EmailSubject>&lol3;</EmailSubject></Content></FtpZip>`;

type Case = { name: string; zip: () => Promise<Buffer>; code: string; message?: string | RegExp };

const CASES: Case[] = [
  {
    name: 'zip slip (../ entry)',
    zip: async () =>
      renameEntry(
        await buildZip({ 'Settings.xml': settingsXml(), ...ok, 'xx/evil.txt': 'x' }),
        'xx/evil.txt',
        '../evil.txt',
      ),
    code: 'DS_FTPZIP_UNSAFE_ENTRY',
    message: /leaves the archive/,
  },
  {
    name: 'absolute path entry',
    zip: async () =>
      renameEntry(
        await buildZip({ 'Settings.xml': settingsXml(), ...ok, 'tmp/evil.txt': 'x' }),
        'tmp/evil.txt',
        '/tmp/evil.tx'.padEnd(12, 't'),
      ),
    code: 'DS_FTPZIP_UNSAFE_ENTRY',
    message: /absolute path/,
  },
  {
    name: 'symlink entry',
    zip: () =>
      buildZip({ 'Settings.xml': settingsXml(), ...ok, link: '/etc/passwd' }, { link: { mode: 0o120777 } }),
    code: 'DS_FTPZIP_UNSAFE_ENTRY',
    message: /symbolic link/,
  },
  {
    name: 'encrypted entry',
    zip: async () => markEncrypted(await buildZip({ 'Settings.xml': settingsXml(), ...ok })),
    code: 'DS_FTPZIP_ENCRYPTED',
  },
  {
    name: 'zip bomb (ratio)',
    zip: () => buildZip({ 'Settings.xml': settingsXml(), ...ok, 'big.bin': Buffer.alloc(4 * 1024 * 1024) }),
    code: 'DS_FTPZIP_TOO_LARGE',
  },
  {
    name: 'too many entries',
    zip: () =>
      buildZip({
        'Settings.xml': settingsXml(),
        ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}.txt`, 'x'])),
      }),
    code: 'DS_FTPZIP_TOO_MANY_ENTRIES',
  },
  { name: 'XXE', zip: () => buildZip({ 'Settings.xml': XXE, ...ok }), code: 'DS_FTPZIP_XML_REFUSED' },
  {
    name: 'billion laughs',
    zip: () => buildZip({ 'Settings.xml': LAUGHS, ...ok }),
    code: 'DS_FTPZIP_XML_REFUSED',
  },
  {
    name: 'truncated archive',
    zip: async () => {
      const z = await buildZip({ 'Settings.xml': settingsXml(), ...ok });
      return z.subarray(0, Math.floor(z.length / 2));
    },
    code: 'DS_FTPZIP_UNREADABLE',
    message: 'Cannot read that as a ZipFile',
  },
  {
    name: 'not a zip',
    zip: () => Promise.resolve(Buffer.from('hello, this is not a zip file at all')),
    code: 'DS_FTPZIP_UNREADABLE',
    message: 'Cannot read that as a ZipFile',
  },
  {
    name: 'Settings.xml missing ListId',
    zip: () => buildZip({ 'Settings.xml': settingsXml({ listId: '' }), ...ok }),
    code: 'DS_FTPZIP_XML_MISSING_NODE',
    message: 'Missing Node in Xml File. (FtpZip/Content/ListId)',
  },
  {
    name: 'Settings.xml wrong ActionType',
    zip: () => buildZip({ 'Settings.xml': settingsXml({ action: 'explode' }), ...ok }),
    code: 'DS_FTPZIP_XML_INVALID',
    message: /^XML file does not match its schema\. Validation failed: FtpZip\/Header\/ActionType/,
  },
  {
    name: 'Settings.xml not well-formed',
    zip: () => buildZip({ 'Settings.xml': '<FtpZip><Header></FtpZip>', ...ok }),
    code: 'DS_FTPZIP_XML_INVALID',
  },
  {
    name: 'unknown list',
    zip: () => buildZip({ 'Settings.xml': settingsXml({ listId: '<ListId>77</ListId>' }), ...ok }),
    code: 'DS_FTPZIP_LIST_UNKNOWN',
    message: 'List 77, defined in XML file, does not exist',
  },
  {
    name: 'FULL without Markup.htm',
    zip: () => buildZip({ 'Settings.xml': settingsXml(), 'Recipients.csv': RECIPIENTS }),
    code: 'DS_FTPZIP_MISSING_FILE',
  },
  {
    name: 'Attachments=true without the folder',
    zip: () =>
      buildZip({
        'Settings.xml': settingsXml().replace(
          '<Attachments>false</Attachments>',
          '<Attachments>true</Attachments>',
        ),
        ...ok,
      }),
    code: 'DS_FTPZIP_ATTACHMENTS_MISSING',
    message: 'There was no "Attachments" folder in the submitted Zip Archive.',
  },
  { name: 'no Settings.xml', zip: () => buildZip(ok), code: 'DS_FTPZIP_MISSING_FILE' },
];

describe.each(DIALECTS)('malicious archives (%s)', (dialect) => {
  let r: FtpZipRig;
  beforeAll(async () => {
    r = await startRig(dialect);
  });
  afterAll(() => r.close());

  it.each(CASES)('$name → failed job with $code, nothing written outside the job area', async (c) => {
    const before = listTree(r.top);
    const name = `${c.name.replace(/[^a-z0-9]+/gi, '-')}.zip`;
    const s = await r.run(await c.zip(), name, {
      limits: { maxEntries: 20, maxTotalBytes: 8 * 1024 * 1024, maxRatio: 100 },
    });
    expect(s.status).toBe('failed');
    expect(s.error?.code).toBe(c.code);
    if (typeof c.message === 'string') expect(s.error?.message).toBe(c.message);
    else if (c.message) expect(s.error?.message).toMatch(c.message);
    const job = await findJob(r.h.store.db, s.jobId);
    expect(job).toMatchObject({ status: 'failed', error: { code: c.code } });

    const failed = `spaces/${r.seed.accountId}/import_zip/failed/${s.jobId}_${name}`;
    expect(listTree(r.top).filter((f) => !before.includes(f))).toEqual([failed, `${failed}.result.json`]);
    const result = JSON.parse(fs.readFileSync(path.join(r.top, `${failed}.result.json`), 'utf8'));
    expect(result).toMatchObject({ status: 'failed', error: { code: c.code } });
    expect(r.sink.messages).toHaveLength(0);
  });
});
