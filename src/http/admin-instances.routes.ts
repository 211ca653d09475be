/**
 * Admin API for instances (import, export, csv2sms, ftpzip): list with each one's next scheduled run and last
 * job, one, create-or-replace (PUT), validate without saving, enable/disable, and run now (queues a job).
 *
 * Validation belongs to each capability (`instance-validation.ts`, shared with `datasync instances validate`):
 * imports' `parseImportInstance`, exports' `parseExportInstance`. csv2sms and ftpzip instances have no schema
 * of their own yet, so only their `schedule` block is checked and the rest is stored as given.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { DatasyncError } from '../errors.js';
import { applyExportInstances } from '../exports/index.js';
import { applyInstances } from '../imports/index.js';
import { enqueueJob, nextRunsOf, scheduleSchema, type JobQueue } from '../jobs/index.js';
import { latestJobIds, pageInstances } from '../store/admin-pages.repository.js';
import {
  findInstance,
  findJob,
  getAccount,
  INSTANCE_KINDS,
  setInstanceEnabled,
  upsertInstance,
  type InstanceKind,
  type InstanceRecord,
  type JobRecord,
  type Store,
} from '../store/index.js';
import { accountParams, audit, limitSchema, pageOf, toPage } from './admin-common.js';
import { instanceDefinitionSchema, validateInstanceDefinition } from './instance-validation.js';
import type { ZodTypeProvider } from './openapi.js';

const lastJobOut = z.object({
  id: z.string(),
  status: z.string(),
  trigger: z.string(),
  inputName: z.string().nullable(),
  createdAt: z.string(),
  endedAt: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
const instanceOut = z.object({
  id: z.string(),
  accountId: z.string(),
  kind: z.enum(INSTANCE_KINDS),
  enabled: z.boolean(),
  definition: z.unknown(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Next scheduled run (ISO UTC), when the instance is enabled and has a valid schedule. */
  nextRunAt: z.string().nullable(),
  lastJob: lastJobOut.nullable(),
});
const instanceParams = accountParams.extend({ instanceId: z.string().min(1).max(64) });
/** The definition as in `instances apply` YAML; `id` and `accountId` come from the path. */
const definitionIn = instanceDefinitionSchema;
const tags = ['instances'];

function nextRunOf(inst: InstanceRecord, now: Date): string | null {
  const schedule = (inst.definition as { schedule?: unknown } | null)?.schedule;
  if (!inst.enabled || schedule === undefined) return null;
  const s = scheduleSchema.safeParse(schedule);
  return s.success ? (nextRunsOf(s.data, now, 1)[0] ?? null) : null;
}
const lastJobJson = (j: JobRecord | undefined): z.input<typeof lastJobOut> | null =>
  j
    ? {
        id: j.id,
        status: j.status,
        trigger: j.trigger,
        inputName: j.inputName,
        createdAt: j.createdAt,
        endedAt: j.endedAt,
        error: j.error,
      }
    : null;

export interface AdminInstancesRoutesOptions {
  store: Store;
  /** The job queue of this process; without it "run now" answers DS_QUEUE_UNAVAILABLE. */
  queue?: JobQueue;
  clock: Clock;
}

export async function adminInstancesRoutes(
  fastify: FastifyInstance,
  opts: AdminInstancesRoutesOptions,
): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = opts;
  const { db } = store;
  const base = '/api/v1/accounts/:accountId/instances';

  async function instanceOf(accountId: string, id: string): Promise<InstanceRecord> {
    const inst = await findInstance(db, id);
    // Another account's instance is "not found", not "forbidden": ids must not leak across accounts.
    if (!inst || inst.accountId !== accountId)
      throw new DatasyncError(
        'DS_INSTANCE_NOT_FOUND',
        `instance "${id}" does not exist in account ${accountId}`,
      );
    return inst;
  }
  async function withStatus(list: InstanceRecord[]) {
    const now = clock.now();
    const last = await latestJobIds(
      db,
      list.map((i) => i.id),
    );
    return Promise.all(
      list.map(async (i) => {
        const jobId = last.get(i.id);
        return {
          ...i,
          nextRunAt: nextRunOf(i, now),
          lastJob: lastJobJson(jobId ? await findJob(db, jobId) : undefined),
        };
      }),
    );
  }

  const validate = (accountId: string, id: string, body: z.output<typeof definitionIn>) =>
    validateInstanceDefinition(db, accountId, id, body);

  app.get(
    base,
    {
      schema: {
        params: accountParams,
        querystring: z.object({
          limit: limitSchema,
          kind: z.enum(INSTANCE_KINDS).optional(),
          after: z.string().optional().describe('cursor: instance id'),
        }),
        response: { 200: pageOf(instanceOut) },
      },
      config: {
        openapi: { summary: 'Instances of the account, with next scheduled run and last job', tags },
      },
    },
    async (req) => {
      await getAccount(db, req.params.accountId);
      const rows = await pageInstances(db, req.params.accountId, {
        kind: req.query.kind,
        afterId: req.query.after,
        limit: req.query.limit + 1,
      });
      const page = toPage(rows, req.query.limit, (i) => i.id);
      return { items: await withStatus(page.items), next: page.next };
    },
  );
  app.get(
    `${base}/:instanceId`,
    {
      schema: { params: instanceParams, response: { 200: instanceOut } },
      config: { openapi: { summary: 'One instance, with next scheduled run and last job', tags } },
    },
    async (req) => (await withStatus([await instanceOf(req.params.accountId, req.params.instanceId)]))[0]!,
  );
  app.post(
    `${base}/:instanceId/validate`,
    {
      schema: {
        params: instanceParams,
        body: definitionIn,
        response: { 200: z.object({ valid: z.literal(true), definition: z.unknown() }) },
      },
      config: {
        openapi: {
          summary: 'Validate a definition without saving it (400 with every problem when it is not valid)',
          tags,
        },
      },
    },
    async (req) => {
      const r = await validate(req.params.accountId, req.params.instanceId, req.body);
      return { valid: true as const, definition: r.definition };
    },
  );
  app.put(
    `${base}/:instanceId`,
    {
      schema: {
        params: instanceParams,
        body: definitionIn,
        response: { 200: instanceOut, 201: instanceOut },
      },
      config: { openapi: { summary: 'Create or replace an instance (validated for its kind)', tags } },
    },
    async (req, reply) => {
      const { accountId, instanceId } = req.params;
      await getAccount(db, accountId);
      const existing = await findInstance(db, instanceId);
      if (existing && existing.accountId !== accountId)
        throw new DatasyncError('DS_CONFLICT', `instance id "${instanceId}" is taken by another account`);
      const r = await validate(accountId, instanceId, req.body);
      // Imports and exports store through their own services, so the stored form is the one they read back.
      if (r.kind === 'import') await applyInstances(store, [r.definition as never]);
      else if (r.kind === 'export')
        await applyExportInstances(store, [{ ...req.body, id: instanceId, accountId }]);
      else
        await upsertInstance(
          db,
          {
            id: instanceId,
            accountId,
            kind: r.kind as InstanceKind,
            enabled: r.enabled,
            definition: r.definition,
          },
          clock.now(),
        );
      await audit(
        db,
        req,
        {
          accountId,
          action: existing ? 'instance.update' : 'instance.create',
          target: instanceId,
          details: { kind: r.kind, enabled: r.enabled },
        },
        clock.now(),
      );
      const [out] = await withStatus([await instanceOf(accountId, instanceId)]);
      return reply.status(existing ? 200 : 201).send(out!);
    },
  );
  for (const action of ['enable', 'disable'] as const)
    app.post(
      `${base}/:instanceId/${action}`,
      {
        schema: { params: instanceParams, response: { 200: instanceOut } },
        config: { openapi: { summary: `${action === 'enable' ? 'Enable' : 'Disable'} an instance`, tags } },
      },
      async (req) => {
        const { accountId, instanceId } = req.params;
        await instanceOf(accountId, instanceId);
        await setInstanceEnabled(db, instanceId, action === 'enable', clock.now());
        await audit(db, req, { accountId, action: `instance.${action}`, target: instanceId }, clock.now());
        return (await withStatus([await instanceOf(accountId, instanceId)]))[0]!;
      },
    );
  app.post(
    `${base}/:instanceId/run`,
    {
      schema: { params: instanceParams, response: { 202: lastJobOut } },
      config: {
        openapi: {
          summary:
            'Run an export, csv2sms or ftpzip instance now (queues a job; imports run on uploaded files)',
          tags,
        },
      },
    },
    async (req, reply) => {
      const { accountId, instanceId } = req.params;
      const inst = await instanceOf(accountId, instanceId);
      if (inst.kind === 'import')
        throw new DatasyncError('DS_CONFLICT', 'import instances run on uploaded files, not on demand');
      if (!opts.queue)
        throw new DatasyncError(
          'DS_QUEUE_UNAVAILABLE',
          'this server runs no job queue; use `datasync export run`',
        );
      const job = await enqueueJob(
        db,
        opts.queue,
        { accountId, instanceId, kind: inst.kind, trigger: 'api' },
        {},
        clock.now(),
      );
      await audit(
        db,
        req,
        { accountId, action: 'instance.run', target: instanceId, details: { jobId: job.id } },
        clock.now(),
      );
      return reply.status(202).send(lastJobJson(job)!);
    },
  );
}
