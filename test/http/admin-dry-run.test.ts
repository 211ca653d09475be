/**
 * `POST /api/v1/accounts/{id}/instances/{instanceId}/dry-run` (the API's `datasync import FILE --dry-run`) on
 * both dialects: the raw body is checked through the CLI's dry-run path — counters and the first rejected
 * rows come back, nothing is written (no recipient, no job), and the temporary file is gone in every case
 * (success, engine failure, over the size limit). Account tokens reach their own account only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/http/index.js';
import { upsertRecipient } from '../../src/store/index.js';
import { countRows } from '../helpers/count-rows.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from '../web/admin-harness.js';

const MAX_FILE = 4096;
const url = (account = 'acme', instance = 'imp') =>
  `/api/v1/accounts/${account}/instances/${instance}/dry-run`;
const CSV =
  '1;2;111\nMario;Rossi;mario@example.com\nAnna;Bianchi;not-an-email\nZed;Zeta;ZED@Example.com\n' +
  'Bad;Row\n';

describe.each(DIALECTS)('admin API import dry run (%s)', (dialect) => {
  let h: AdminHarness;
  let otherToken: string;
  beforeEach(async () => {
    h = await startAdmin(dialect, {
      listen: true,
      uploadLimits: { maxFileBytes: MAX_FILE, maxAccountBytes: 0 },
    });
    otherToken = await createApiToken(h.store.db, { accountId: 'other', name: 'other-ci' });
    const imp = await h.req('PUT', '/api/v1/accounts/acme/instances/imp', {
      body: { kind: 'import', destination: { listId: 1 } },
    });
    expect(imp.statusCode).toBe(201);
    const exp = await h.req('PUT', '/api/v1/accounts/acme/instances/unsubs', {
      body: { kind: 'export', type: 'unsubscribers', lists: [1], schedule: { cron: '0 4 * * *' } },
    });
    expect(exp.statusCode).toBe(201);
  });
  afterEach(() => h.close());

  const dryRun = (body: string | Buffer, o: { token?: string; to?: string; query?: string } = {}) =>
    h.app.inject({
      method: 'POST',
      url: `${o.to ?? url()}${o.query ?? ''}`,
      headers: { authorization: `Bearer ${o.token ?? h.adminToken}`, 'content-type': 'text/csv' },
      payload: body,
    });
  const workLeft = () => {
    const d = path.join(h.dataDir, 'work', 'dry-runs');
    return fs.existsSync(d) ? fs.readdirSync(d) : [];
  };

  it('answers the counters and the rejected rows, and writes nothing', async () => {
    const res = await dryRun(CSV, { token: h.acmeToken, query: '?name=march.csv' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({
      accountId: 'acme',
      instanceId: 'imp',
      file: 'march.csv',
      status: 'partial',
      size: Buffer.byteLength(CSV),
      error: null,
      counters: { processed: 4, valid: 2, rejected: 2, malformed: 1, created: 2, updated: 0 },
    });
    expect(body.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(body.rejected).toEqual([
      expect.objectContaining({ line: 3, code: 'DS_EMAIL_INVALID' }),
      expect.objectContaining({ line: 5 }),
    ]);
    expect(body.rejected[0].reason).toEqual(expect.any(String));
    // A dry run: no recipient, no subscription, no job record, no temporary file.
    expect(await countRows(h.store.db, 'recipients')).toBe(0);
    expect(await countRows(h.store.db, 'subscriptions')).toBe(0);
    expect(await countRows(h.store.db, 'jobs')).toBe(0);
    expect(workLeft()).toEqual([]);
    // Checked against the real store: with Mario already there, only Zed would be created.
    await upsertRecipient(h.store.db, { accountId: 'acme', email: 'mario@example.com', listId: 1 });
    const again = (await dryRun(CSV)).json();
    expect(again.counters.created).toBe(1);
    expect(again.counters.updated + again.counters.unchanged).toBe(1);
    expect(await countRows(h.store.db, 'recipients')).toBe(1);
  });

  it('reports a file the engine cannot read as failed, with its error, and removes the temporary file', async () => {
    const res = await dryRun('999;nope\nx;y\n', { query: '?name=../../etc/passwd' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('failed');
    expect(body.error.code).toMatch(/^DS_/);
    expect(body.file).toBe('passwd');
    expect(workLeft()).toEqual([]);
  });

  it('refuses other accounts, unknown and non-import instances, and files over the limit', async () => {
    // An account token on another account's path: forbidden before anything is read.
    const forbidden = await dryRun(CSV, { token: otherToken });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().error.code).toBe('DS_FORBIDDEN');
    // An admin naming acme's instance under another account: not found (ids do not leak across accounts).
    const elsewhere = await dryRun(CSV, { to: url('other', 'imp') });
    expect(elsewhere.statusCode).toBe(404);
    expect(elsewhere.json().error.code).toBe('DS_INSTANCE_NOT_FOUND');
    // The other account's own token on its own path finds nothing either.
    expect((await dryRun(CSV, { token: otherToken, to: url('other', 'imp') })).statusCode).toBe(404);
    expect((await dryRun(CSV, { to: url('acme', 'nope') })).json().error.code).toBe('DS_INSTANCE_NOT_FOUND');
    const wrongKind = await dryRun(CSV, { to: url('acme', 'unsubs') });
    expect(wrongKind.statusCode).toBe(400);
    expect(wrongKind.json().error.code).toBe('DS_VALIDATION');
    expect((await dryRun(CSV, { token: 'ds_acc_nope' })).statusCode).toBe(401);
    // Over sftp.maxFileBytes: declared (Content-Length) and streamed without a length.
    const big = Buffer.alloc(MAX_FILE + 1, 0x61);
    const tooBig = await dryRun(big);
    expect(tooBig.statusCode).toBe(413);
    expect(tooBig.json().error.code).toBe('DS_SFTP_QUOTA');
    // Chunked over real HTTP (no Content-Length): counted while streaming, the temporary file removed.
    const chunks = async function* () {
      for (let i = 0; i < 8; i++) yield new Uint8Array(1024).fill(0x61);
    };
    const res = await fetch(`${h.base}${url()}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/octet-stream' },
      body: ReadableStream.from(chunks()) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    const streamed = {
      statusCode: res.status,
      json: () => res.json() as Promise<{ error: { code: string } }>,
    };
    expect(streamed.statusCode).toBe(413);
    expect((await streamed.json()).error.code).toBe('DS_SFTP_QUOTA');
    expect(workLeft()).toEqual([]);
    expect(await countRows(h.store.db, 'jobs')).toBe(0);
  });

  it('is documented in the OpenAPI document', async () => {
    const doc = (await h.req('GET', '/api/openapi.json')).json();
    const op = doc.paths['/api/v1/accounts/{accountId}/instances/{instanceId}/dry-run'].post;
    expect(op.summary).toContain('--dry-run');
    expect(Object.keys(op.requestBody.content)).toContain('text/csv');
    expect(op.responses['200'].content['application/json'].schema.properties.rejected).toBeDefined();
  });
});
