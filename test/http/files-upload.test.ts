/**
 * `PUT /api/v1/accounts/{id}/files/{folder}/{name}` against a real in-process `datasync serve` (all roles,
 * first start with the demo account and its `/import/*.csv` instance): the upload goes the SFTP way (temporary
 * name, then FileReady), so the import job appears and finishes like any SFTP upload; an oversized body is
 * DS_SFTP_QUOTA with nothing left behind; traversal and hidden/temporary names are refused; an account token
 * reaches only its own space.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../src/cli/roles.js';
import { startServer, type RunningServer } from '../../src/cli/server.js';
import { loadConfig } from '../../src/config/index.js';
import { createApiToken } from '../../src/http/index.js';
import { createLogger } from '../../src/logger.js';
import { createAccount, findJob } from '../../src/store/index.js';

const MAX_FILE = 64 * 1024;

describe('file upload API over datasync serve (sqlite)', () => {
  let dir: string;
  let dataDir: string;
  let server: RunningServer;
  let base: string;
  const put = (
    url: string,
    body: string | Uint8Array | ReadableStream,
    token = server.secrets.adminToken!,
    headers = {},
  ) =>
    fetch(`${base}${url}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, ...headers },
      body,
      duplex: 'half',
    } as RequestInit);
  const get = async (url: string) =>
    (
      await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${server.secrets.adminToken}` } })
    ).json();
  /** A PUT with the path exactly as written (fetch would resolve `..` segments before sending). */
  const rawPut = (rawPath: string, body: string) =>
    new Promise<{ status: number; json: { error: { code: string } } }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.httpPort,
          path: rawPath,
          method: 'PUT',
          headers: { authorization: `Bearer ${server.secrets.adminToken}` },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const importDir = () => path.join(dataDir, 'spaces', 'demo', 'import');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-upload-'));
    dataDir = path.join(dir, 'data');
    const config = loadConfig({
      env: {
        DATASYNC_DATA_DIR: dataDir,
        DATASYNC_HTTP__HOST: '127.0.0.1',
        DATASYNC_HTTP__PORT: '0',
        DATASYNC_SFTP__HOST: '127.0.0.1',
        DATASYNC_SFTP__PORT: '0',
        DATASYNC_SFTP__MAX_FILE_BYTES: String(MAX_FILE),
      },
    });
    server = await startServer(config, new Set(ROLES), createLogger('silent'));
    base = `http://127.0.0.1:${server.httpPort}`;
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an uploaded CSV starts an import job that finishes, as an SFTP upload would', async () => {
    const csv =
      '1;2;111\nMario;Rossi;mario@example.com\nAnna;Bianchi;not-an-email\nZed;Zeta;ZED@Example.com\n';
    const res = await put('/api/v1/accounts/demo/files/import/march.csv', csv, undefined, {
      'content-type': 'text/csv',
    });
    expect(res.status).toBe(201);
    const body = (await res.json()) as { path: string; size: number; sha256: string };
    expect(body).toMatchObject({ path: '/import/march.csv', size: Buffer.byteLength(csv) });

    let job: { id: string; status: string; inputName: string } | undefined;
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      const page = (await get('/api/v1/jobs?accountId=demo&kind=import')) as { items: (typeof job)[] };
      job = page.items.find((j) => j?.inputName === 'march.csv');
      if (job && ['succeeded', 'partial', 'failed'].includes(job.status)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(job?.status).toBe('partial');
    const record = await findJob(server.store.db, job!.id);
    expect(record?.inputSha256).toBe(body.sha256);
    expect(record?.trigger).toBe('upload');
    // The file left the customer's folder for done/ (the hosted flow), and no temporary file stayed behind.
    expect(fs.readdirSync(importDir()).filter((n) => !['done', 'failed'].includes(n))).toEqual([]);
    const rec = (await get('/api/v1/accounts/demo/recipients?q=mario@example.com')) as { items: unknown[] };
    expect(rec.items).toHaveLength(1);
    const audit = (await get('/api/v1/accounts/demo/audit')) as {
      items: { action: string; target: string }[];
    };
    expect(audit.items).toContainEqual(
      expect.objectContaining({ action: 'file.upload', target: '/import/march.csv' }),
    );
  }, 60_000);

  it('refuses a file over sftp.maxFileBytes with DS_SFTP_QUOTA and leaves nothing behind', async () => {
    // Declared length over the limit: refused before a byte is written.
    const big = Buffer.alloc(MAX_FILE + 1, 0x61);
    const r1 = await put('/api/v1/accounts/demo/files/import/big.csv', big);
    expect(r1.status).toBe(413);
    expect(((await r1.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'DS_SFTP_QUOTA',
      message: expect.stringContaining('sftp.maxFileBytes'),
    });
    // Chunked (no Content-Length): counted while streaming, the temporary file removed.
    const chunks = async function* () {
      for (let i = 0; i < 5; i++) yield new Uint8Array(MAX_FILE / 4);
    };
    const r2 = await put(
      '/api/v1/accounts/demo/files/import/big2.csv',
      ReadableStream.from(chunks()) as ReadableStream,
    );
    expect(r2.status).toBe(413);
    expect(((await r2.json()) as { error: { code: string } }).error.code).toBe('DS_SFTP_QUOTA');
    expect(fs.readdirSync(importDir()).filter((n) => !['done', 'failed'].includes(n))).toEqual([]);
  });

  it('refuses traversal, hidden and temporary names, other folders, and other accounts', async () => {
    const cases: [string, number, string][] = [
      ['/api/v1/accounts/demo/files/import/..', 403, 'DS_SFTP_PATH_OUTSIDE'],
      ['/api/v1/accounts/demo/files/import/%2E%2E', 403, 'DS_SFTP_PATH_OUTSIDE'],
      ['/api/v1/accounts/demo/files/import/..%2F..%2Fescape.csv', 403, 'DS_SFTP_PATH_OUTSIDE'],
      ['/api/v1/accounts/demo/files/import/a%2Fb.csv', 403, 'DS_SFTP_PATH_OUTSIDE'],
      ['/api/v1/accounts/demo/files/import/bad%0Aname.csv', 403, 'DS_SFTP_PATH_OUTSIDE'],
      ['/api/v1/accounts/demo/files/import/.hidden.csv', 400, 'DS_VALIDATION'],
      ['/api/v1/accounts/demo/files/import/x.csv.part', 400, 'DS_VALIDATION'],
      ['/api/v1/accounts/demo/files/export/x.csv', 400, 'DS_VALIDATION'],
      ['/api/v1/accounts/demo/files/..%2Fimport/x.csv', 400, 'DS_VALIDATION'],
      ['/api/v1/accounts/nobody/files/import/x.csv', 404, 'DS_NOT_FOUND'],
    ];
    for (const [url, status, code] of cases) {
      const r = await rawPut(url, 'a;b\n');
      expect([url, r.status]).toEqual([url, status]);
      expect(r.json.error.code).toBe(code);
    }
    expect(fs.existsSync(path.join(dataDir, 'spaces', 'escape.csv'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'escape.csv'))).toBe(false);

    await createAccount(server.store.db, { id: 'other', name: 'Other' });
    const otherToken = await createApiToken(server.store.db, { accountId: 'other', name: 't' });
    const forbidden = await put('/api/v1/accounts/demo/files/import/x.csv', 'a\n', otherToken);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as { error: { code: string } }).error.code).toBe('DS_FORBIDDEN');
    const anon = await fetch(`${base}/api/v1/accounts/demo/files/import/x.csv`, { method: 'PUT', body: 'a' });
    expect(anon.status).toBe(401);
    // Its own space: allowed (no instance of `other` matches, so no job; the file stays in /import).
    const own = await put('/api/v1/accounts/other/files/import/mine.csv', 'a;b\n', otherToken);
    expect(own.status).toBe(201);
  });
});
