/** Admin API: jobs (filters, keyset pages, detail, downloads jailed to the data dir, retry, cancel) — both dialects. */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { insertJob, newJobId, updateJob, type JobStatus } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from '../web/admin-harness.js';

describe.each(DIALECTS)('admin API jobs (%s)', (dialect) => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdmin(dialect);
  });
  afterEach(() => h.close());

  async function job(accountId: string, status: JobStatus, at: number, extra: Record<string, unknown> = {}) {
    const j = await insertJob(
      h.store.db,
      {
        id: newJobId(new Date(Date.UTC(2026, 2, 1, 8, at))),
        accountId,
        kind: 'import',
        trigger: 'upload',
        inputName: `f${at}.csv`,
        ...extra,
      },
      new Date(Date.UTC(2026, 2, 1, 8, at)),
    );
    await updateJob(h.store.db, j.id, { status });
    return j.id;
  }

  it('lists jobs newest first with filters and keyset pages; account tokens see only their account', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await job('acme', i % 2 ? 'failed' : 'succeeded', i));
    const otherId = await job('other', 'queued', 9);
    const seen: string[] = [];
    let url = '/api/v1/jobs?accountId=acme&limit=2';
    for (;;) {
      const page = (await h.req('GET', url)).json() as { items: { id: string }[]; next: string | null };
      seen.push(...page.items.map((j) => j.id));
      if (!page.next) break;
      url = `/api/v1/jobs?accountId=acme&limit=2&before=${page.next}`;
    }
    expect(seen).toEqual([...ids].reverse());
    const failed = (await h.req('GET', '/api/v1/jobs?status=failed&kind=import')).json();
    expect(failed.items.map((j: { id: string }) => j.id)).toEqual([ids[3], ids[1]]);
    const mine = (await h.req('GET', '/api/v1/jobs', { token: h.acmeToken })).json();
    expect(mine.items).toHaveLength(5);
    expect((await h.req('GET', '/api/v1/jobs?accountId=other', { token: h.acmeToken })).statusCode).toBe(403);
    expect((await h.req('GET', `/api/v1/jobs/${otherId}`, { token: h.acmeToken })).statusCode).toBe(404);
    expect((await h.req('GET', '/api/v1/jobs?status=nope')).statusCode).toBe(400);
    expect((await h.req('GET', '/api/v1/jobs', { token: null })).statusCode).toBe(401);
    expect((await h.req('GET', '/api/v1/jobs/NOT..AN..ID')).statusCode).toBe(400);
  });

  it('shows a job with counters and rejected rows, and serves its files only from inside the data dir', async () => {
    const id = newJobId(new Date('2026-03-01T09:00:00Z'));
    const done = h.spaces.resolve('acme', '/import/done');
    fs.mkdirSync(done, { recursive: true });
    fs.writeFileSync(path.join(done, `${id}_list.csv`), 'email\na@example.com\nbad\n');
    fs.writeFileSync(
      path.join(done, `${id}_list.csv.rejected.csv`),
      'email,_line,_code,_reason\nbad,3,DS_EMAIL_INVALID,bad email\n',
    );
    await insertJob(h.store.db, {
      id,
      accountId: 'acme',
      kind: 'import',
      trigger: 'upload',
      inputName: 'list.csv',
      inputSize: 27,
    });
    const counters = { processed: 2, valid: 1, rejected: 1, malformed: 0 };
    await updateJob(h.store.db, id, {
      status: 'partial',
      input_path: `/import/done/${id}_list.csv`,
      counters_json: JSON.stringify(counters),
      result_json: JSON.stringify({
        rejected: [{ line: 3, code: 'DS_EMAIL_INVALID', reason: 'bad email' }],
        resultFiles: {
          input: `/import/done/${id}_list.csv`,
          result: `/import/done/${id}_list.csv.result.json`,
          rejected: `/import/done/${id}_list.csv.rejected.csv`,
        },
      }),
    });
    const detail = (await h.req('GET', `/api/v1/jobs/${id}`, { token: h.acmeToken })).json();
    expect(detail).toMatchObject({
      status: 'partial',
      counters,
      rejected: [{ line: 3, code: 'DS_EMAIL_INVALID', reason: 'bad email' }],
      files: { input: true, result: true, rejected: true },
    });
    const input = await h.req('GET', `/api/v1/jobs/${id}/files/input`, { token: h.acmeToken });
    expect(input.statusCode).toBe(200);
    expect(input.body).toBe('email\na@example.com\nbad\n');
    expect(input.headers['content-disposition']).toBe(`attachment; filename="${id}_list.csv"`);
    const rejected = await h.req('GET', `/api/v1/jobs/${id}/files/rejected`);
    expect(rejected.headers['content-type']).toMatch(/^text\/csv/);
    expect(rejected.body).toContain('DS_EMAIL_INVALID');
    const gone = await h.req('GET', `/api/v1/jobs/${id}/files/result`);
    expect(gone.statusCode).toBe(404);
    expect(gone.json().error.code).toBe('DS_DOWNLOAD_GONE');
    expect((await h.req('GET', `/api/v1/jobs/${id}/files/other`)).statusCode).toBe(400);

    // A CLI import of a file outside the data dir, a path with "..", and a symlink planted in the space.
    const outside = await job('acme', 'succeeded', 1, { inputPath: path.resolve('package.json') });
    expect((await h.req('GET', `/api/v1/jobs/${outside}/files/input`)).json().error.code).toBe(
      'DS_DOWNLOAD_REFUSED',
    );
    const dotdot = await job('acme', 'succeeded', 2, { inputPath: `${h.dataDir}/../../etc/hostname` });
    expect((await h.req('GET', `/api/v1/jobs/${dotdot}/files/input`)).statusCode).toBeGreaterThanOrEqual(403);
    fs.symlinkSync(path.resolve('package.json'), path.join(done, 'planted.csv'));
    const planted = await job('acme', 'succeeded', 3, { inputPath: '/import/done/planted.csv' });
    const refused = await h.req('GET', `/api/v1/jobs/${planted}/files/input`);
    expect(refused.statusCode).toBeGreaterThanOrEqual(403);
    expect(refused.body).not.toContain('"name": "datasync"');
    // A work-area file (disk path inside the data dir) is served.
    const work = path.join(h.dataDir, 'work', 'imports', 'acme', 'x', 'w.csv');
    fs.mkdirSync(path.dirname(work), { recursive: true });
    fs.writeFileSync(work, 'email\n');
    const running = await job('acme', 'running', 4, { inputPath: work });
    expect((await h.req('GET', `/api/v1/jobs/${running}/files/input`)).body).toBe('email\n');
  });

  it('retries failed jobs and cancels queued ones through the queue, and audits both', async () => {
    const failed = await job('acme', 'failed', 1, { instanceId: 'imp', inputPath: '/import/a.csv' });
    // A retried file import takes its input back from the space (here /import/a.csv) into the work area.
    fs.mkdirSync(h.spaces.resolve('acme', '/import'), { recursive: true });
    fs.writeFileSync(h.spaces.resolve('acme', '/import/a.csv'), 'email\na@example.com\n');
    const queued = await job('acme', 'queued', 2);
    expect((await h.req('POST', `/api/v1/jobs/${queued}/retry`)).json().error.code).toBe('DS_JOB_STATE');
    const retried = await h.req('POST', `/api/v1/jobs/${failed}/retry`, { token: h.acmeToken });
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toMatchObject({ status: 'queued', instanceId: 'imp', inputName: 'f1.csv' });
    expect(retried.json().id).not.toBe(failed);
    const copied = path.join(h.dataDir, 'work', 'imports', 'acme', retried.json().id, 'f1.csv');
    expect(fs.readFileSync(copied, 'utf8')).toBe('email\na@example.com\n');
    const cancelled = await h.req('POST', `/api/v1/jobs/${queued}/cancel`);
    expect(cancelled.json()).toMatchObject({ id: queued, status: 'cancelled' });
    expect((await h.req('POST', `/api/v1/jobs/${queued}/cancel`)).statusCode).toBe(409);
    expect((await h.req('POST', '/api/v1/jobs/zzzzzzzzzzzzzzz/cancel')).json().error.code).toBe(
      'DS_JOB_NOT_FOUND',
    );
    const audit = (await h.req('GET', '/api/v1/accounts/acme/audit')).json().items;
    expect(audit.map((e: { action: string }) => e.action)).toEqual(['job.cancel', 'job.retry']);
    expect(audit[1].details).toEqual({ newJobId: retried.json().id });
  });
});
