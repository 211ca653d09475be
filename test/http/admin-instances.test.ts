/** Admin API: instances (validate, put, enable/disable, next run, last job, run now) — both dialects. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertJob, updateJob } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from '../web/admin-harness.js';

const exportDef = {
  kind: 'export',
  type: 'unsubscribers',
  lists: [1],
  schedule: { cron: '0 4 * * *', timeZone: 'Europe/Rome' },
};

describe.each(DIALECTS)('admin API instances (%s)', (dialect) => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdmin(dialect);
  });
  afterEach(() => h.close());
  const base = '/api/v1/accounts/acme/instances';

  it('validates definitions per kind without saving them', async () => {
    const ok = await h.req('POST', `${base}/unsubs/validate`, { body: exportDef });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({
      valid: true,
      definition: { id: 'unsubs', accountId: 'acme', lists: [1] },
    });
    const badExport = await h.req('POST', `${base}/unsubs/validate`, { body: { ...exportDef, lists: [] } });
    expect(badExport.statusCode).toBe(400);
    expect(badExport.json().error.code).toBe('DS_EXPORT_INSTANCE_INVALID');
    const unknownList = await h.req('POST', `${base}/unsubs/validate`, {
      body: { ...exportDef, lists: [7] },
    });
    expect(unknownList.json().error.code).toBe('DS_LIST_UNKNOWN');
    const badImport = await h.req('POST', `${base}/imp/validate`, {
      body: { kind: 'import', mapping: { style: 'nope' } },
    });
    expect(badImport.statusCode).toBe(400);
    expect(badImport.json().error.code).toBe('DS_IMPORT_INSTANCE_INVALID');
    const badSchedule = await h.req('POST', `${base}/sms/validate`, {
      body: { kind: 'csv2sms', schedule: { cron: 'never' } },
    });
    expect(badSchedule.json().error.code).toBe('DS_INSTANCE_INVALID');
    expect((await h.req('POST', `${base}/x/validate`, { body: { kind: 'other' } })).statusCode).toBe(400);
    expect((await h.req('GET', base)).json().items).toEqual([]);
  });

  it('creates and replaces instances, shows the next scheduled run and the last job, enables and disables', async () => {
    const created = await h.req('PUT', `${base}/unsubs`, { token: h.acmeToken, body: exportDef });
    expect(created.statusCode).toBe(201);
    // 2026-03-01 10:00 UTC = 11:00 in Rome: the next 04:00 Rome is 2026-03-02 03:00 UTC.
    expect(created.json()).toMatchObject({
      id: 'unsubs',
      kind: 'export',
      enabled: true,
      nextRunAt: '2026-03-02T03:00:00.000Z',
      lastJob: null,
    });
    const imp = await h.req('PUT', `${base}/imp`, { body: { kind: 'import', destination: { listId: 1 } } });
    expect(imp.statusCode).toBe(201);
    expect(imp.json()).toMatchObject({ kind: 'import', nextRunAt: null, definition: { folder: '/import' } });
    const replaced = await h.req('PUT', `${base}/unsubs`, { body: { ...exportDef, type: 'statistics' } });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json().definition.type).toBe('statistics');
    const stolen = await h.req('PUT', '/api/v1/accounts/other/instances/unsubs', {
      body: { kind: 'csv2sms' },
    });
    expect(stolen.statusCode).toBe(409);

    const job = await insertJob(h.store.db, {
      accountId: 'acme',
      instanceId: 'unsubs',
      kind: 'export',
      trigger: 'schedule',
    });
    await updateJob(h.store.db, job.id, { status: 'succeeded', ended_at: '2026-03-01T09:00:00.000Z' });
    const disabled = await h.req('POST', `${base}/unsubs/disable`);
    expect(disabled.json()).toMatchObject({
      enabled: false,
      nextRunAt: null,
      lastJob: { id: job.id, status: 'succeeded' },
    });
    expect((await h.req('POST', `${base}/unsubs/enable`)).json().enabled).toBe(true);

    const page1 = (await h.req('GET', `${base}?limit=1`)).json();
    expect(page1.items.map((i: { id: string }) => i.id)).toEqual(['imp']);
    const page2 = (await h.req('GET', `${base}?limit=1&after=${page1.next}`)).json();
    expect(page2).toMatchObject({ items: [{ id: 'unsubs' }], next: null });
    expect((await h.req('GET', `${base}?kind=import`)).json().items).toHaveLength(1);
    expect((await h.req('GET', `${base}/nope`)).json().error.code).toBe('DS_INSTANCE_NOT_FOUND');
    expect((await h.req('GET', '/api/v1/accounts/other/instances/unsubs')).statusCode).toBe(404);
    expect((await h.req('GET', '/api/v1/accounts/other/instances', { token: h.acmeToken })).statusCode).toBe(
      403,
    );
    const actions = (await h.req('GET', '/api/v1/accounts/acme/audit'))
      .json()
      .items.map((e: { action: string }) => e.action);
    expect(actions).toEqual([
      'instance.enable',
      'instance.disable',
      'instance.update',
      'instance.create',
      'instance.create',
    ]);
  });

  it('runs an export instance now by queueing a job; refuses imports and servers without a queue', async () => {
    await h.req('PUT', `${base}/unsubs`, { body: exportDef });
    await h.req('PUT', `${base}/imp`, { body: { kind: 'import' } });
    const run = await h.req('POST', `${base}/unsubs/run`);
    expect(run.statusCode).toBe(202);
    expect(run.json()).toMatchObject({ status: 'queued', trigger: 'api' });
    const queued = await h.queue.fetch('datasync.export', 'test-worker');
    expect(queued?.data).toMatchObject({ jobId: run.json().id, instanceId: 'unsubs' });
    expect((await h.req('POST', `${base}/imp/run`)).statusCode).toBe(409);
    await h.close();
    h = await startAdmin(dialect, { queue: false });
    await h.req('PUT', `${base}/unsubs`, { body: exportDef });
    const none = await h.req('POST', `${base}/unsubs/run`);
    expect(none.statusCode).toBe(503);
    expect(none.json().error.code).toBe('DS_QUEUE_UNAVAILABLE');
  });
});
