/**
 * `POST /api/v1/exports/{instanceId}/run`: one export run now, like `datasync export run ID [--from --to]`.
 * With `from` and/or `to` the run covers that one-off window and does not move the instance's watermark
 * (exports/export-window.ts); without them it is an ordinary run of the instance's own window.
 *
 * Why it runs in the request instead of queueing: queue messages carry ids only (CONVENTIONS #12), so a
 * queued job could not carry the window, and the caller wants the file name and row count as the CLI prints
 * them. Runs of one instance are serialised by `runExport` (DS_EXPORT_BUSY). The job record (trigger `api`)
 * is written as for any run, so the run shows in the jobs list and the dashboard.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { NotFoundError } from '../errors.js';
import { runExport } from '../exports/index.js';
import type { Logger } from '../logger.js';
import type { HostedSpaces } from '../spaces/index.js';
import { findInstance, type Store } from '../store/index.js';
import { audit } from './admin-common.js';
import { principalAccount } from './auth.js';
import type { ZodTypeProvider } from './openapi.js';

const instant = z.iso.datetime({ offset: true });
export const exportRunIn = z.strictObject({
  from: instant.optional().describe('window start, inclusive (ISO-8601 with a zone)'),
  to: instant.optional().describe('window end, exclusive (ISO-8601 with a zone; default: now)'),
});
export const exportRunOut = z.object({
  jobId: z.string(),
  status: z.enum(['succeeded', 'skipped']),
  file: z.string().nullable(),
  destination: z.string().nullable(),
  rows: z.number().int(),
  unmappableRows: z.number().int(),
  bytes: z.number().int(),
  window: z.object({ from: z.string().nullable(), to: z.string(), mode: z.string() }),
});

export interface AdminExportsRoutesOptions {
  store: Store;
  spaces: HostedSpaces;
  clock: Clock;
}

export async function adminExportsRoutes(
  fastify: FastifyInstance,
  opts: AdminExportsRoutesOptions,
): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = opts;

  app.post(
    '/api/v1/exports/:instanceId/run',
    {
      schema: {
        params: z.object({ instanceId: z.string().min(1).max(64) }),
        body: exportRunIn.optional(),
        response: { 200: exportRunOut },
      },
      config: {
        openapi: {
          summary:
            'Run an export instance now; with from/to, a one-off window that does not move the watermark (answers when the file is written)',
          tags: ['exports'],
        },
      },
    },
    async (req) => {
      const { instanceId } = req.params;
      const inst = await findInstance(store.db, instanceId);
      const own = principalAccount(req);
      // Another account's instance is "not found" for an account token: ids do not leak across accounts.
      if (!inst || inst.kind !== 'export' || (own !== undefined && inst.accountId !== own))
        throw new NotFoundError(`export instance "${instanceId}" does not exist`, {
          code: 'DS_EXPORT_NO_INSTANCE',
        });
      const w = req.body ?? {};
      const window = w.from !== undefined || w.to !== undefined ? { from: w.from, to: w.to } : undefined;
      const r = await runExport({
        store,
        spaces: opts.spaces,
        instanceId,
        trigger: 'api',
        window,
        clock,
        logger: req.log as unknown as Logger,
      });
      await audit(
        store.db,
        req,
        {
          accountId: inst.accountId,
          action: 'export.run',
          target: instanceId,
          details: { jobId: r.job.id, from: r.window.from, to: r.window.to, mode: r.window.mode },
        },
        clock.now(),
      );
      return {
        jobId: r.job.id,
        status: r.status,
        file: r.file ?? null,
        destination: r.destination ?? null,
        rows: r.rows,
        unmappableRows: r.unmappableRows,
        bytes: r.bytes,
        window: { from: r.window.from, to: r.window.to, mode: r.window.mode },
      };
    },
  );
}
