/**
 * The dashboard's reading pages and their one-button actions: Import status, jobs and a job's detail (retry,
 * cancel, file downloads), instances (enable, disable, run now), the file browser, the events-file form,
 * charts and a message's events summary. Rendering is in pages.ts, files.page.ts, events.page.ts, charts.ts.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DatasyncError } from '../errors.js';
import { JOB_FILES, resolveJobFile, sendJobFile } from '../http/index.js';
import { findJob } from '../store/index.js';
import { chartsPage, messageSummaryPage } from './charts.js';
import { eventsPage } from './events.page.js';
import { filesPage } from './files.page.js';
import { qs } from './html.js';
import {
  accountOf,
  enc,
  page,
  query as q,
  refererPath,
  sendPage,
  session as s,
  type DashboardOptions,
} from './page-kit.js';
import { importStatusPage, instancesPage, jobDetailPage, jobsPage } from './pages.js';

export async function readingPagesRoutes(pages: FastifyInstance, opts: DashboardOptions): Promise<void> {
  pages.get('/imports', async (req, reply) => {
    const account = accountOf(req, q(req).account);
    const r = await importStatusPage(s(req).api, account, q(req).before);
    return sendPage(
      reply,
      page(req, 'Import status', r.body, { section: 'imports', account, autoRefresh: r.autoRefresh }),
    );
  });
  pages.get('/jobs', async (req, reply) => {
    const f = { ...q(req), account: accountOf(req, q(req).account) };
    const r = await jobsPage(s(req).api, f);
    return sendPage(reply, page(req, 'Jobs', r.body, { section: 'jobs', account: f.account }));
  });
  pages.get('/jobs/:jobId', async (req, reply) => {
    const r = await jobDetailPage(s(req).api, (req.params as { jobId: string }).jobId);
    return sendPage(
      reply,
      page(req, r.title, r.body, { section: 'imports', account: accountOf(req, r.account) }),
    );
  });
  pages.get('/jobs/:jobId/files/:file', async (req, reply) => {
    const p = z
      .object({ jobId: z.string().regex(/^[0-9a-z]{6,40}$/), file: z.enum(JOB_FILES) })
      .safeParse(req.params);
    if (!p.success) throw new DatasyncError('DS_VALIDATION', 'no such file');
    // The API answers only when the token may see the job; the record (with its paths) comes from the store.
    await s(req).api.get(`/api/v1/jobs/${p.data.jobId}`);
    const record = await findJob(opts.store.db, p.data.jobId);
    if (!record) throw new DatasyncError('DS_JOB_NOT_FOUND', 'the job does not exist');
    return sendJobFile(reply, await resolveJobFile(opts, record, p.data.file));
  });
  pages.get('/instances', async (req, reply) => {
    const account = accountOf(req, q(req).account);
    const r = await instancesPage(s(req).api, account, q(req).after);
    return sendPage(reply, page(req, 'Instances', r.body, { section: 'instances', account }));
  });
  pages.get('/files', async (req, reply) => {
    const account = accountOf(req, q(req).account);
    const r = await filesPage(s(req).api, opts.spaces, account, q(req).path || '/', q(req).check);
    return sendPage(reply, page(req, 'Files', r.body, { section: 'files', account }));
  });
  pages.get('/events', async (req, reply) => {
    const account = accountOf(req, q(req).account);
    const r = await eventsPage(s(req).api, account);
    return sendPage(reply, page(req, 'Ingest events', r.body, { section: 'charts', account }));
  });

  for (const action of ['retry', 'cancel'] as const)
    pages.post(`/jobs/:jobId/${action}`, async (req, reply) => {
      const id = enc((req.params as { jobId: string }).jobId);
      await s(req).api.send('POST', `/api/v1/jobs/${id}/${action}`);
      return reply.redirect(refererPath(req, `/jobs/${id}`), 303);
    });
  for (const action of ['enable', 'disable', 'run'] as const)
    pages.post(`/instances/:accountId/:instanceId/${action}`, async (req, reply) => {
      const { accountId, instanceId } = req.params as { accountId: string; instanceId: string };
      await s(req).api.send(
        'POST',
        `/api/v1/accounts/${enc(accountId)}/instances/${enc(instanceId)}/${action}`,
      );
      return reply.redirect(`/instances${qs({ account: accountId })}`, 303);
    });

  // Charts and the events summary of one message.
  pages.get('/charts', async (req, reply) => {
    const account = accountOf(req, q(req).account);
    const r = await chartsPage(s(req).api, account);
    return sendPage(reply, page(req, 'Charts', r.body, { section: 'charts', account }));
  });
  pages.get('/messages/:channel/:n', async (req, reply) => {
    const p = z
      .object({ channel: z.enum(['email', 'sms']), n: z.coerce.number().int().positive() })
      .safeParse(req.params);
    const account = accountOf(req, q(req).account);
    if (!p.success || !account) throw new DatasyncError('DS_VALIDATION', 'name an account and a message');
    const r = await messageSummaryPage(s(req).api, account, p.data.channel, p.data.n);
    return sendPage(reply, page(req, r.title, r.body, { section: 'charts', account }));
  });
}
