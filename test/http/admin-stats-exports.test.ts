/**
 * Admin API: export runs for a window (`POST /api/v1/exports/{id}/run`), the per-message events summary and the
 * chart aggregates — real events through the ingestion route, real import jobs, both dialects.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyExportInstances } from '../../src/exports/index.js';
import { insertJob, updateJob, upsertRecipient } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from '../web/admin-harness.js';

describe.each(DIALECTS)('admin API exports, summaries and statistics (%s)', (dialect) => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdmin(dialect);
    for (const [email, mobile] of [
      ['alice@example.com', '+393471111111'],
      ['bob@example.com', '+393472222222'],
      ['carol@example.com', '+393473333333'],
    ])
      await upsertRecipient(h.store.db, { accountId: 'acme', email, mobile, listId: 1 });
  });
  afterEach(() => h.close());

  const ingest = async (events: object[], token = h.adminToken) => {
    const r = await h.req('POST', '/api/v1/accounts/acme/events', { token, body: events });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json().rejected).toEqual([]);
  };
  const newEmail = async (subject: string) =>
    (
      await h.req('POST', '/api/v1/accounts/acme/messages/email', {
        body: { subject, text: 'hi', senderEmail: 'news@acme.test' },
      })
    ).json().idNl as number;

  it('runs an export for a one-off window without moving the watermark, audited; checks auth and input', async () => {
    await applyExportInstances(h.store, [
      { id: 'unsubs', accountId: 'acme', kind: 'export', type: 'unsubscribers', lists: [1] },
    ]);
    await ingest([{ kind: 'unsubscribe', email: 'alice@example.com', idList: 1 }]); // recorded 10:00:00
    h.clock.set('2026-03-01T12:00:00.000Z');

    const url = '/api/v1/exports/unsubs/run';
    const body = { from: '2026-03-01T09:00:00Z', to: '2026-03-01T11:00:00+00:00' };
    expect((await h.req('POST', url, { token: null, body })).statusCode).toBe(401);
    const bad = await h.req('POST', url, { body: { from: 'yesterday' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('DS_VALIDATION');
    const unknownField = await h.req('POST', url, { body: { since: '2026-03-01T09:00:00Z' } });
    expect(unknownField.statusCode).toBe(400);
    const reversed = await h.req('POST', url, {
      body: { from: '2026-03-01T11:00:00Z', to: '2026-03-01T09:00:00Z' },
    });
    expect(reversed.statusCode).toBe(400);
    expect(reversed.json().error.code).toBe('DS_EXPORT_WINDOW_INVALID');
    expect((await h.req('POST', '/api/v1/exports/nope/run', { body })).json().error.code).toBe(
      'DS_EXPORT_NO_INSTANCE',
    );

    const run = await h.req('POST', url, { token: h.acmeToken, body });
    expect(run.statusCode, run.body).toBe(200);
    const r = run.json();
    expect(r).toMatchObject({
      status: 'succeeded',
      rows: 1,
      destination: 'hosted:/export',
      window: { from: '2026-03-01T09:00:00.000Z', to: '2026-03-01T11:00:00.000Z', mode: 'manual' },
    });
    expect(fs.readFileSync(h.spaces.resolve('acme', `/export/${r.file}`), 'utf8')).toContain(
      'alice@example.com',
    );
    // A one-off window leaves the watermark alone: the next ordinary run still starts from the beginning.
    const wm = await h.store.db.selectFrom('export_watermarks').selectAll().execute();
    expect(wm).toEqual([]);
    const job = (await h.req('GET', `/api/v1/jobs/${r.jobId}`)).json();
    expect(job).toMatchObject({ kind: 'export', trigger: 'api', status: 'succeeded', instanceId: 'unsubs' });

    const empty = await h.req('POST', url, {
      body: { from: '2026-02-01T00:00:00Z', to: '2026-02-02T00:00:00Z' },
    });
    // Default instances write a file even for an empty window (header only).
    expect(empty.json()).toMatchObject({ rows: 0, window: { mode: 'manual' } });

    const audit = (await h.req('GET', '/api/v1/accounts/acme/audit?limit=5')).json();
    const entry = audit.items.find((e: { details?: { jobId?: string } }) => e.details?.jobId === r.jobId);
    expect(entry).toMatchObject({
      actor: 'account:acme',
      action: 'export.run',
      target: 'unsubs',
      details: { jobId: r.jobId, from: '2026-03-01T09:00:00.000Z', mode: 'manual' },
    });

    // Another account's token cannot run (or learn of) acme's instance.
    const otherToken = (await h.req('POST', '/api/v1/accounts/other/tokens', { body: { name: 'o' } })).json()
      .token as string;
    const foreign = await h.req('POST', url, { token: otherToken, body });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().error.code).toBe('DS_EXPORT_NO_INSTANCE');
  });

  it('summarises the events of one message: kinds, unique opens and clicks, links, bounces, unsubscribes', async () => {
    const idNl = await newEmail('Spring sale');
    const other = await newEmail('Other');
    const e = (kind: string, email: string, extra: object = {}) => ({ kind, email, idNl, ...extra });
    await ingest([
      e('sent', 'alice@example.com'),
      e('sent', 'bob@example.com'),
      e('sent', 'carol@example.com'),
      e('open', 'alice@example.com'),
      e('open', 'alice@example.com'),
      e('open', 'bob@example.com'),
      e('click', 'alice@example.com', { url: 'https://shop.example.com/a' }),
      e('click', 'alice@example.com', { url: 'https://shop.example.com/a' }),
      e('click', 'bob@example.com', { url: 'https://shop.example.com/a' }),
      e('click', 'bob@example.com', { url: 'https://shop.example.com/b' }),
      e('bounce', 'carol@example.com', { bounceType: 'soft', code: '450 4.2.2' }),
      e('unsubscribe', 'bob@example.com', { idList: 1 }),
      { kind: 'open', email: 'carol@example.com', idNl: other },
    ]);
    const base = '/api/v1/accounts/acme/messages/email';
    expect((await h.req('GET', `${base}/${idNl}/summary`, { token: null })).statusCode).toBe(401);
    expect((await h.req('GET', `${base}/abc/summary`)).statusCode).toBe(400);
    expect((await h.req('GET', `${base}/999/summary`)).json().error.code).toBe('DS_MESSAGE_UNKNOWN');
    const s = await h.req('GET', `${base}/${idNl}/summary`, { token: h.acmeToken });
    expect(s.statusCode, s.body).toBe(200);
    expect(s.json()).toMatchObject({
      channel: 'email',
      number: idNl,
      subject: 'Spring sale',
      events: { sent: 3, open: 3, click: 4, bounce: 1, unsubscribe: 1, complaint: 0 },
      uniqueOpens: 2,
      uniqueClicks: 2,
      links: [
        { url: 'https://shop.example.com/a', clicks: 3, recipients: 2 },
        { url: 'https://shop.example.com/b', clicks: 1, recipients: 1 },
      ],
      bounces: { hard: 0, soft: 1 },
      unsubscribes: 1,
    });

    const stats = (await h.req('GET', '/api/v1/accounts/acme/stats/messages?limit=5')).json();
    expect(stats.items).toEqual([
      expect.objectContaining({ idNl: other, opens: 1, uniqueOpens: 1, clicks: 0 }),
      expect.objectContaining({ idNl, opens: 3, uniqueOpens: 2, clicks: 4, uniqueClicks: 2 }),
    ]);
    expect((await h.req('GET', '/api/v1/accounts/acme/stats/messages?limit=0')).statusCode).toBe(400);
  });

  it('counts SMS delivery reports by status, and rows imported per day', async () => {
    const idSMS = (
      await h.req('POST', '/api/v1/accounts/acme/messages/sms', { body: { text: 'Sale today' } })
    ).json().idSMS as number;
    await ingest([
      { kind: 'sms_status', mobile: '+393471111111', idSMS, status: 'DELIVRD', channel: 'sms' },
      { kind: 'sms_status', mobile: '+393472222222', idSMS, status: 'DELIVRD', channel: 'sms' },
      { kind: 'sms_status', mobile: '+393473333333', idSMS, status: 'UNDELIV', channel: 'sms' },
    ]);
    const sms = (await h.req('GET', `/api/v1/accounts/acme/messages/sms/${idSMS}/summary`)).json();
    expect(sms.sms).toEqual([
      { status: 'DELIVERED', reports: 2 },
      { status: 'UNDELIV', reports: 1 },
    ]);
    const out = (await h.req('GET', '/api/v1/accounts/acme/stats/sms?days=7', { token: h.acmeToken })).json();
    expect(out).toMatchObject({ from: '2026-02-23T00:00:00.000Z', to: '2026-03-02T00:00:00.000Z' });
    expect(out.statuses).toEqual([
      { status: 'DELIVERED', reports: 2 },
      { status: 'UNDELIV', reports: 1 },
    ]);

    // Import jobs: two finished on Feb 28, one on Mar 1, one still running, one of another account, one too old.
    const job = async (account: string, at: string, status: string, valid: number, rejected: number) => {
      const j = await insertJob(
        h.store.db,
        { accountId: account, kind: 'import', trigger: 'upload', inputName: 'x.csv' },
        new Date(at),
      );
      await updateJob(h.store.db, j.id, {
        status: status as never,
        counters_json: JSON.stringify({ processed: valid + rejected, valid, rejected }),
      });
    };
    await job('acme', '2026-02-28T08:00:00.000Z', 'succeeded', 100, 0);
    await job('acme', '2026-02-28T23:59:59.000Z', 'partial', 40, 2);
    await job('acme', '2026-03-01T09:00:00.000Z', 'partial', 7, 3);
    await job('acme', '2026-03-01T09:30:00.000Z', 'running', 50, 0);
    await job('other', '2026-03-01T09:00:00.000Z', 'succeeded', 999, 0);
    await job('acme', '2026-02-01T09:00:00.000Z', 'succeeded', 5, 0);
    const imports = (await h.req('GET', '/api/v1/accounts/acme/stats/imports?days=3')).json();
    expect(imports.days).toEqual([
      { day: '2026-02-27', jobs: 0, imported: 0, rejected: 0 },
      { day: '2026-02-28', jobs: 2, imported: 140, rejected: 2 },
      { day: '2026-03-01', jobs: 1, imported: 7, rejected: 3 },
    ]);
    expect((await h.req('GET', '/api/v1/accounts/acme/stats/imports?days=0')).statusCode).toBe(400);
    expect(
      (await h.req('GET', '/api/v1/accounts/other/stats/imports', { token: h.acmeToken })).statusCode,
    ).toBe(403);
    const doc = (await h.req('GET', '/api/openapi.json', { token: null })).json();
    for (const p of [
      '/api/v1/exports/{instanceId}/run',
      '/api/v1/accounts/{accountId}/messages/email/{idNl}/summary',
      '/api/v1/accounts/{accountId}/stats/imports',
    ])
      expect(Object.keys(doc.paths)).toContain(p);
  });
});
