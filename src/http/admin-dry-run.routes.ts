/**
 * Admin API: check a CSV file against an import instance without importing it,
 * `POST /api/v1/accounts/{id}/instances/{instanceId}/dry-run` with the file as the raw request body — the
 * HTTP equivalent of `datasync import FILE --instance ID --dry-run`, through the same `importFile(…, { dryRun })`
 * path: every row is validated against the store, nothing is written (no recipient, no job record).
 *
 * The body streams to a temporary file under `<dataDir>/work/dry-runs/` with the upload route's helpers
 * (`streamBody`, the `sftp.maxFileBytes` limit), because the engine reads the file twice (encoding scan, then
 * rows); that folder is removed whatever happens. The answer is the summary: counters and the first rejected
 * rows (line, code, reason). A file the engine cannot read at all (bad header, encoding) is still a 200 with
 * `status: "failed"` and its `error`, as the CLI prints it; a bad request is an error status.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { DatasyncError } from '../errors.js';
import { importFile, type ImportSummary, type RowRejection } from '../imports/index.js';
import { findInstance, type Store } from '../store/index.js';
import { accountParams } from './admin-common.js';
import { declaredLength } from './admin-files.routes.js';
import type { ZodTypeProvider } from './openapi.js';
import { assertDeclaredSize, fileTooBig, streamBody, type UploadLimits } from './space-upload.js';

export interface AdminDryRunRoutesOptions {
  store: Store;
  /** Temporary files go under `<dataDir>/work/dry-runs` (default: the system's temporary folder). */
  dataDir?: string;
  limits: UploadLimits;
}

/** Rejected rows listed in the answer (all of them are counted in `counters.rejected`). */
export const DRY_RUN_REJECTED_ROWS = 100;

const channelCounters = z.object({
  valid: z.number().int(),
  invalidSyntax: z.number().int(),
  invalidMapping: z.number().int(),
});
const countersOut = z.object({
  processed: z.number().int().describe('data rows read'),
  valid: z.number().int(),
  rejected: z.number().int(),
  malformed: z.number().int().describe('rejected rows that do not match the header'),
  duplicated: z.number().int(),
  email: channelCounters,
  sms: channelCounters,
  created: z.number().int().describe('recipients that would be created'),
  updated: z.number().int(),
  unchanged: z.number().int(),
  subscribed: z.number().int(),
  unsubscribed: z.number().int(),
  pending: z.number().int(),
  confirmationsRequested: z.number().int(),
  groupsAdded: z.number().int(),
  groupsRemoved: z.number().int(),
  missingHandled: z.number().int(),
});
const dryRunOut = z.object({
  accountId: z.string(),
  instanceId: z.string(),
  file: z.string().describe('the name given in ?name='),
  status: z.enum(['succeeded', 'partial', 'failed']).describe('partial: some rows would be rejected'),
  size: z.number().int().nullable(),
  sha256: z.string().nullable(),
  encoding: z.string().nullable(),
  counters: countersOut,
  rejected: z
    .array(z.object({ line: z.number().int(), code: z.string(), reason: z.string() }))
    .describe(`the first ${DRY_RUN_REJECTED_ROWS} rejected rows, in file order`),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  durationMs: z.number().int(),
});

const nameQuery = z.object({
  name: z
    .string()
    .max(255)
    .optional()
    .describe('the file name to show in the summary (default upload.csv); only shown, never a path'),
});

export async function adminDryRunRoutes(
  fastify: FastifyInstance,
  opts: AdminDryRunRoutesOptions,
): Promise<void> {
  // This scope only: the body is the file, left unread for the handler to stream.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  const workRoot = opts.dataDir ? path.join(opts.dataDir, 'work', 'dry-runs') : os.tmpdir();

  fastify.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/accounts/:accountId/instances/:instanceId/dry-run',
    {
      schema: {
        params: accountParams.extend({ instanceId: z.string().min(1).max(64) }),
        querystring: nameQuery,
        response: { 200: dryRunOut },
      },
      config: {
        openapi: {
          summary:
            'Check a CSV file with an import instance without importing it (`datasync import FILE --dry-run`): the raw body is the file; answers the counters and the first rejected rows; nothing is written',
          tags: ['instances'],
          body: z.string().describe('the CSV file, as the raw body (up to sftp.maxFileBytes)'),
          bodyContentTypes: ['text/csv', 'application/octet-stream'],
        },
      },
    },
    async (req) => {
      const { accountId, instanceId } = req.params;
      const { maxFileBytes } = opts.limits;
      assertDeclaredSize(declaredLength(req.headers['content-length']), maxFileBytes);
      const inst = await findInstance(opts.store.db, instanceId);
      // Another account's instance is "not found", as on the other instance routes: ids must not leak.
      if (!inst || inst.accountId !== accountId)
        throw new DatasyncError(
          'DS_INSTANCE_NOT_FOUND',
          `instance "${instanceId}" does not exist in account ${accountId}`,
        );
      if (inst.kind !== 'import')
        throw new DatasyncError(
          'DS_VALIDATION',
          `instance "${instanceId}" is a ${inst.kind} instance: only import instances check files`,
        );

      await fs.promises.mkdir(workRoot, { recursive: true });
      const dir = await fs.promises.mkdtemp(path.join(workRoot, 'dry-run-'));
      try {
        const file = path.join(dir, 'input.csv');
        const fh = await fs.promises.open(file, 'wx');
        try {
          await streamBody(
            (req.body as Readable | undefined) ?? (req.raw as Readable),
            (chunk, offset) => fh.write(chunk, 0, chunk.length, offset),
            (size) => {
              if (maxFileBytes > 0 && size > maxFileBytes) throw fileTooBig(maxFileBytes);
            },
          );
        } finally {
          await fh.close();
        }
        // The engine keeps only a sample; collect the first rows here in file order (flat memory).
        const rejected: RowRejection[] = [];
        const s: ImportSummary = await importFile(opts.store, {
          file,
          instanceId,
          dryRun: true,
          workDir: dir,
          onRejected: (r) => {
            if (rejected.length < DRY_RUN_REJECTED_ROWS) rejected.push(r);
          },
        });
        return {
          accountId,
          instanceId,
          file: displayName(req.query.name),
          status: s.status as 'succeeded' | 'partial' | 'failed',
          size: s.size,
          sha256: s.sha256,
          encoding: s.encoding,
          counters: s.counters,
          rejected: rejected.length ? rejected : s.rejected.slice(0, DRY_RUN_REJECTED_ROWS),
          error: s.error,
          durationMs: s.durationMs,
        };
      } finally {
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    },
  );
}

/** The last path segment of a client-given name, without control characters: shown only, never opened. */
function displayName(name: string | undefined): string {
  const last = (name ?? '').split(/[\\/]/).pop()!;
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  const base = last.replace(/[\u0000-\u001f\u007f]/g, '');
  return base || 'upload.csv';
}
