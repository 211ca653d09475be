/**
 * The dashboard's two file inputs, posted by dashboard.js with `fetch` (the session cookie is HttpOnly, so the
 * page cannot call the API itself; these routes call it in-process with the signed-in token, like every page):
 *
 * - `PUT /files/:accountId/:folder/:name` — a file into the hosted space (`datasync import FILE` / an SFTP
 *   upload): the request stream is handed as is to the API route `PUT /api/v1/accounts/{id}/files/…`, so the
 *   file streams to disk under the same checks, quotas, FileReady event and audit entry as an API upload;
 * - `POST /dry-run/:accountId/:instanceId?name=` — a CSV checked with an import instance, nothing imported
 *   (`datasync import FILE --instance ID --dry-run`): streamed as is to the API route
 *   `POST /api/v1/accounts/{id}/instances/{instanceId}/dry-run`, which answers the counters and rejected rows;
 * - `POST /events/:accountId` — a JSON lines file of engagement events (`datasync events add ACCOUNT FILE`),
 *   through `POST /api/v1/accounts/{id}/events`, with the CLI's default idempotency key `file:<sha256>`, so
 *   a file added twice (from here or from the CLI) is recorded once.
 *
 * All answer JSON (the page shows it), errors included: `{ error: { code, message } }`.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { DatasyncError } from '../errors.js';
import { declaredLength } from '../http/index.js';

export interface UploadRoutesOptions {
  /** The session token of the request (set by the dashboard's session hook). */
  tokenOf(req: FastifyRequest): string;
}

const enc = encodeURIComponent;

/** Read a request body whole, refusing more than `limit` bytes (the API's own body limit). */
async function readLimited(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > limit)
      throw new DatasyncError(
        'DS_VALIDATION',
        `the file is larger than ${limit} bytes (http.bodyLimitBytes); add it with \`datasync events add\``,
      );
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function uploadRoutes(app: FastifyInstance, opts: UploadRoutesOptions): Promise<void> {
  // Bodies are files: left unread for the handlers (this scope only).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.setErrorHandler((err, req, reply) => {
    const e = err instanceof DatasyncError ? err : undefined;
    if (!e) req.log.error({ err }, 'dashboard upload error');
    return reply
      .status(e?.status ?? 500)
      .send({ error: e ? e.toJSON() : { code: 'DS_INTERNAL', message: 'internal error' } });
  });
  const bodyOf = (req: FastifyRequest) => (req.body as Readable | undefined) ?? (req.raw as Readable);
  // The admin API's answer, passed through (status and JSON body).
  const relay = (res: { statusCode: number; body: string }) => JSON.parse(res.body || '{}') as unknown;

  /** Stream the request body to an API route as the session's token, and answer what the API answered. */
  async function relayBody(req: FastifyRequest, reply: FastifyReply, method: 'PUT' | 'POST', url: string) {
    const length = declaredLength(req.headers['content-length']);
    const res = await app.inject({
      method,
      url,
      headers: {
        authorization: `Bearer ${opts.tokenOf(req)}`,
        'content-type': 'application/octet-stream',
        ...(length !== undefined ? { 'content-length': String(length) } : {}),
      },
      payload: bodyOf(req),
    });
    return reply.status(res.statusCode).send(relay(res));
  }

  app.put('/files/:accountId/:folder/:name', async (req, reply) => {
    const { accountId, folder, name } = req.params as { accountId: string; folder: string; name: string };
    return relayBody(
      req,
      reply,
      'PUT',
      `/api/v1/accounts/${enc(accountId)}/files/${enc(folder)}/${enc(name)}`,
    );
  });

  app.post('/dry-run/:accountId/:instanceId', async (req, reply) => {
    const { accountId, instanceId } = req.params as { accountId: string; instanceId: string };
    const name = (req.query as { name?: string }).name;
    return relayBody(
      req,
      reply,
      'POST',
      `/api/v1/accounts/${enc(accountId)}/instances/${enc(instanceId)}/dry-run${name ? `?name=${enc(name)}` : ''}`,
    );
  });

  app.post('/events/:accountId', async (req, reply) => {
    const { accountId } = req.params as { accountId: string };
    const text = await readLimited(bodyOf(req), app.initialConfig.bodyLimit ?? 1024 * 1024);
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/accounts/${enc(accountId)}/events`,
      headers: {
        authorization: `Bearer ${opts.tokenOf(req)}`,
        'content-type': 'application/x-ndjson',
        'idempotency-key': `file:${createHash('sha256').update(text).digest('hex')}`,
      },
      payload: text,
    });
    return reply.status(res.statusCode).send(relay(res));
  });
}
