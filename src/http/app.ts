/**
 * The fastify app. `buildApp()` is separate from `listen()` so tests use `app.inject()` without a port.
 * One error handler maps DatasyncError to `{ error: { code, message } }`; anything else is logged in full
 * and answered as DS_INTERNAL without its text (CONVENTIONS #7).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { DatasyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import { sql, type Kysely } from 'kysely';

export interface HttpAppOptions {
  logger: Logger;
  /** Largest request body, bytes. */
  bodyLimitBytes: number;
  /** Metrics registry shared with the other roles (SFTP counters, job counters). */
  registry: Registry;
  /** Readiness: the database answers. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  db: Kysely<any>;
}

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'datasync_' });
  return registry;
}

export async function buildApp(opts: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger.child({ role: 'http' }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
  });

  app.setErrorHandler((err, req, reply) => {
    if (err instanceof DatasyncError) {
      void reply.status(err.status).send({ error: err.toJSON() });
      return;
    }
    const e = err as { validation?: unknown; statusCode?: number; message?: string; code?: string };
    if (e.validation) {
      void reply
        .status(400)
        .send({ error: { code: 'DS_VALIDATION', message: e.message ?? 'invalid request' } });
      return;
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      // fastify's own client errors (body too large, bad JSON): safe, short messages.
      const code =
        e.statusCode === 413 ? 'DS_VALIDATION' : e.statusCode === 404 ? 'DS_NOT_FOUND' : 'DS_VALIDATION';
      void reply.status(e.statusCode).send({ error: { code, message: e.message ?? 'bad request' } });
      return;
    }
    req.log.error({ err }, 'unhandled error');
    void reply.status(500).send({ error: { code: 'DS_INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send({ error: { code: 'DS_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await sql`select 1`.execute(opts.db);
      return { status: 'ready' };
    } catch {
      return reply
        .status(503)
        .send({
          status: 'unavailable',
          error: { code: 'DS_DB_UNAVAILABLE', message: 'the database cannot be reached' },
        });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', opts.registry.contentType);
    return opts.registry.metrics();
  });
  return app;
}
