/**
 * Admin API: upload a file into an account's hosted space, `PUT /api/v1/accounts/{id}/files/{folder}/{name}`
 * with the file as the raw request body (any content type). The HTTP equivalent of an SFTP upload — and so of
 * `datasync import FILE --instance ID`, except that the job runs in the server like any upload — through
 * `uploadToSpace()` (temporary name, quotas, FileReady). No multipart parser: the raw body streams straight
 * to disk, and `bodyLimit` does not apply (the SFTP quotas do).
 */
import type { FastifyInstance } from 'fastify';
import type { Readable } from 'node:stream';
import { z } from 'zod';
import { DatasyncError } from '../errors.js';
import type { FileReadyBus, HostedSpaces } from '../spaces/index.js';
import { getAccount, type Store } from '../store/index.js';
import { accountParams, audit } from './admin-common.js';
import type { ZodTypeProvider } from './openapi.js';
import { UPLOAD_FOLDERS, uploadToSpace, type UploadLimits } from './space-upload.js';

export interface AdminFilesRoutesOptions {
  store: Store;
  spaces: HostedSpaces;
  /**
   * The bus the job side listens to (`datasync serve` routes it to the queue in every process with the http
   * role); without it, or without listeners, uploads answer DS_QUEUE_UNAVAILABLE.
   */
  bus?: FileReadyBus;
  limits: UploadLimits;
}

const uploadOut = z.object({
  path: z.string().describe('space path, e.g. /import/customers.csv'),
  size: z.number().int(),
  sha256: z.string(),
});

/** Content-Length as a number, when the client sent a plain one. */
export function declaredLength(header: string | string[] | undefined): number | undefined {
  return typeof header === 'string' && /^\d{1,16}$/.test(header) ? Number(header) : undefined;
}

/** Refuse uploads in a process whose job side does not listen to FileReady (nothing would ever run them). */
export function assertUploadsProcessed(bus: FileReadyBus | undefined): FileReadyBus {
  if (!bus || bus.listenerCount === 0)
    throw new DatasyncError(
      'DS_QUEUE_UNAVAILABLE',
      'this server does not process uploads (nothing routes them to the job queue here; upload over SFTP)',
    );
  return bus;
}

export async function adminFilesRoutes(
  fastify: FastifyInstance,
  opts: AdminFilesRoutesOptions,
): Promise<void> {
  // This scope only: every body is left unread for the handler to stream (JSON included: a .json file is a file).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  fastify.withTypeProvider<ZodTypeProvider>().put(
    '/api/v1/accounts/:accountId/files/:folder/:name',
    {
      schema: {
        params: accountParams.extend({ folder: z.string(), name: z.string() }),
        response: { 201: uploadOut },
      },
      config: {
        openapi: {
          summary: `Upload a file into the account's space (${UPLOAD_FOLDERS.map((f) => `/${f}`).join(', ')}): the raw body is the file; the job starts as for an SFTP upload`,
          tags: ['files'],
          bodyContentTypes: ['application/octet-stream'],
        },
      },
    },
    async (req, reply) => {
      const { accountId, folder, name } = req.params;
      const bus = assertUploadsProcessed(opts.bus);
      await getAccount(opts.store.db, accountId);
      const body = (req.body as Readable | undefined) ?? (req.raw as Readable);
      const r = await uploadToSpace(
        { spaces: opts.spaces, bus, limits: opts.limits, log: req.log },
        { accountId, folder, name, body, declaredBytes: declaredLength(req.headers['content-length']) },
      );
      await audit(opts.store.db, req, {
        accountId,
        action: 'file.upload',
        target: r.path,
        details: { size: r.size, sha256: r.sha256 },
      });
      return reply.status(201).send(r);
    },
  );
}
