/**
 * Upload and events-file routes over app.inject, both dialects: the API route emits exactly one FileReady
 * event with the file's hash (any content type is a file, JSON included), refuses when nothing processes
 * uploads, applies the account quota; the dashboard's routes go through it with the session's token (an
 * account token reaches only its own space), refuse cross-origin requests, and ingest an events file once.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { FileReady } from '../../src/spaces/index.js';
import { createMessage, upsertRecipient } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from './admin-harness.js';

describe.each(DIALECTS)('upload and events-file routes (%s)', (dialect) => {
  let h: AdminHarness;
  afterEach(() => h?.close());
  const put = (url: string, payload: string, headers: Record<string, string> = {}) =>
    h.app.inject({ method: 'PUT', url, payload, headers });
  const signIn = (token: string) => h.signIn(token);

  it('the API route streams the file into place and emits one FileReady event', async () => {
    h = await startAdmin(dialect, { uploadLimits: { maxFileBytes: 1024, maxAccountBytes: 1500 } });
    const auth = { authorization: `Bearer ${h.acmeToken}` };
    const body = '[{"a":1}]';
    const idle = await put('/api/v1/accounts/acme/files/import/data.json', body, auth);
    expect(idle.statusCode).toBe(503);
    expect(idle.json().error.code).toBe('DS_QUEUE_UNAVAILABLE');

    const events: FileReady[] = [];
    h.bus.on((e) => void events.push(e));
    const res = await put('/api/v1/accounts/acme/files/import/data.json', body, {
      ...auth,
      'content-type': 'application/json',
    });
    expect(res.statusCode).toBe(201);
    const sha256 = createHash('sha256').update(body).digest('hex');
    expect(res.json()).toEqual({ path: '/import/data.json', size: body.length, sha256 });
    expect(events).toEqual([
      expect.objectContaining({ accountId: 'acme', path: '/import/data.json', size: body.length, sha256 }),
    ]);
    const folder = path.join(h.dataDir, 'spaces', 'acme', 'import');
    expect(fs.readdirSync(folder)).toEqual(['data.json']);
    expect(fs.readFileSync(path.join(folder, 'data.json'), 'utf8')).toBe(body);
    const audit = (await h.req('GET', '/api/v1/accounts/acme/audit')).json();
    expect(audit.items[0]).toMatchObject({
      action: 'file.upload',
      target: '/import/data.json',
      actor: 'account:acme',
    });

    // The account quota counts what the space already holds.
    await put('/api/v1/accounts/acme/files/sms/a.csv', 'x'.repeat(1000), auth);
    const full = await put('/api/v1/accounts/acme/files/sms/b.csv', 'x'.repeat(1000), auth);
    expect(full.statusCode).toBe(413);
    expect(full.json().error).toMatchObject({
      code: 'DS_SFTP_QUOTA',
      message: expect.stringContaining('sftp.maxAccountBytes'),
    });
    expect(fs.readdirSync(path.join(h.dataDir, 'spaces', 'acme', 'sms'))).toEqual(['a.csv']);
    expect(events).toHaveLength(2);
  });

  it('the dashboard uploads with the session token and ingests an events file once', async () => {
    h = await startAdmin(dialect, { dashboard: true });
    const events: FileReady[] = [];
    h.bus.on((e) => void events.push(e));
    const cookie = await signIn(h.acmeToken);

    const up = await put('/files/acme/sms/send.csv', 'hello', { cookie });
    expect(up.statusCode).toBe(201);
    expect(up.json()).toMatchObject({ path: '/sms/send.csv', size: 5 });
    expect(events.map((e) => e.path)).toEqual(['/sms/send.csv']);
    const other = await put('/files/other/sms/send.csv', 'hello', { cookie });
    expect(other.statusCode).toBe(403);
    expect(other.json().error.code).toBe('DS_FORBIDDEN');
    const bad = await put('/files/acme/import/..%2Fx.csv', 'hello', { cookie });
    expect(bad.json().error.code).toBe('DS_SFTP_PATH_OUTSIDE');
    const cross = await put('/files/acme/sms/x.csv', 'hello', { cookie, origin: 'http://evil.example' });
    expect(cross.statusCode).toBe(403);
    const anon = await put('/files/acme/sms/x.csv', 'hello');
    expect(anon.statusCode).toBe(302);
    expect(events).toHaveLength(1);

    const page = await h.app.inject({ method: 'GET', url: '/files?path=/sms', headers: { cookie } });
    expect(page.body).toContain('id="upload"');
    expect(page.body).toContain('<option value="sms"  selected>');

    await upsertRecipient(h.store.db, { accountId: 'acme', email: 'anna@example.com', listId: 1 });
    const msg = await createMessage(h.store.db, {
      accountId: 'acme',
      channel: 'email',
      subject: 's',
      text: 't',
      senderEmail: 'n@acme.test',
    });
    const jsonl = `${JSON.stringify({ kind: 'open', email: 'anna@example.com', idNl: msg.number })}\n{"kind":"open"}\n`;
    const post = () =>
      h.app.inject({
        method: 'POST',
        url: '/events/acme',
        payload: jsonl,
        headers: { cookie, 'content-type': 'application/x-ndjson' },
      });
    const first = await post();
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ received: 2, recorded: 1, duplicates: 0 });
    expect(first.json().rejected).toHaveLength(1);
    expect((await post()).json()).toMatchObject({ recorded: 0, duplicates: 1 });
    const notJson = await h.app.inject({
      method: 'POST',
      url: '/events/acme',
      payload: 'not json\n',
      headers: { cookie, 'content-type': 'text/plain' },
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().error.code).toBe('DS_VALIDATION');
    const eventsPage = await h.app.inject({ method: 'GET', url: '/events', headers: { cookie } });
    expect(eventsPage.body).toContain('id="events-form"');
  });
});
