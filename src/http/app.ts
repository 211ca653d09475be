/**
 * The fastify app. `buildApp()` is separate from `listen()` so tests use `app.inject()` without a port.
 * One error handler maps DatasyncError to `{ error: { code, message } }`; anything else is logged in full
 * and answered as DS_INTERNAL without its text (CONVENTIONS #7).
 *
 * Map of http/:
 * - `openapi.ts`       zod as validator + type provider, `/api/openapi.json` generated from route schemas
 * - `auth.ts`          bearer tokens (admin vs account scope), the hook every `/api/v1` scope adds
 * - `messages.routes`  messages (idNl, idSMS), sendings (idInvio), tracked links
 * - `tokens.routes`    API tokens: account tokens create (admin), list, revoke; admin tokens create, list, revoke
 * - `events.routes`    event ingestion → `events.service.ts` `recordEvents()` → `status-rules.ts`
 * - `tracking.routes`  `/t/o|c|u/<token>` over `tracking-token.ts`; group-committed by `event-batcher.ts`
 * - `media.routes`     `/m/<account>/<sha256>.<ext>` hosted campaign images (FTPZIP `EmbeddedImages=false`)
 * - `sms-hooks.routes` SMS delivery reports
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { DatasyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import { bearerAuth } from './auth.js';
import { eventsRoutes } from './events.routes.js';
import { mediaRoutes } from './media.routes.js';
import { messagesRoutes } from './messages.routes.js';
import { tokensRoutes } from './tokens.routes.js';
import { registerOpenApi, useZod, type ZodTypeProvider } from './openapi.js';
import { smsHooksRoutes } from './sms-hooks.routes.js';
import type { Database } from '../store/index.js';
import { createTrackingLinks } from './tracking-links.js';
import { trackingRoutes } from './tracking.routes.js';

export interface HttpAppOptions {
  logger: Logger;
  /** Largest request body, bytes. */
  bodyLimitBytes: number;
  /** Metrics registry shared with the other roles (SFTP counters, job counters). */
  registry: Registry;
  /** The store's query builder (readiness, API, tracking). */
  db: Kysely<Database>;
  /** The dialect's largest number of bound parameters per statement (`store.dialect.maxParameters`). Default 30000. */
  maxParameters?: number;
  /** Tracking secret (`loadTrackingKey(dataDir)`). Without it `/t/…` is not served. */
  trackingKey?: Buffer;
  /** Data directory (`config.dataDir`): hosted campaign images are served from `<dataDir>/media` at `/m/…`. Without it `/m/…` is not served. */
  dataDir?: string;
  /** Base URL of tracking links (`http.publicUrl`). Default `http://localhost:8080`. */
  publicUrl?: string;
  /** Consecutive soft bounces that opt a recipient out (type 512). Default 5. */
  softBounceThreshold?: number;
  /** Trust `X-Forwarded-For` for the client address recorded with tracking events (behind a proxy). Default false. */
  trustProxy?: boolean;
  /** Time source for recorded events. Default: the system clock. */
  clock?: Clock;
}

export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'datasync_' });
  return registry;
}

/** An incoming `X-Request-Id` is kept when it is short and plain (it ends up in logs); else a new one. */
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/;

export async function buildApp(opts: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger.child({ role: 'http' }) as FastifyBaseLogger,
    bodyLimit: opts.bodyLimitBytes,
    requestIdHeader: false,
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID_RE.test(h) ? h : randomUUID();
    },
    trustProxy: opts.trustProxy ?? false,
    // Click tokens carry their URL, so a path parameter can be long (fastify's default is 100 characters).
    routerOptions: { maxParamLength: 5000 },
  });
  app.addHook('onRequest', async (req, reply) => {
    void reply.header('x-request-id', req.id);
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

  useZod(app);
  registerOpenApi(app, { title: 'datasync admin API', version: '1.0.0' });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await sql`select 1`.execute(opts.db);
      return { status: 'ready' };
    } catch {
      return reply.status(503).send({
        status: 'unavailable',
        error: { code: 'DS_DB_UNAVAILABLE', message: 'the database cannot be reached' },
      });
    }
  });
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', opts.registry.contentType);
    return opts.registry.metrics();
  });

  const links = opts.trackingKey
    ? createTrackingLinks(opts.publicUrl ?? 'http://localhost:8080', opts.trackingKey)
    : undefined;
  if (opts.trackingKey)
    await app.register(trackingRoutes, {
      db: opts.db,
      key: opts.trackingKey,
      log: opts.logger,
      registry: opts.registry,
      clock: opts.clock,
      maxParameters: opts.maxParameters,
    });

  if (opts.dataDir) await app.register(mediaRoutes, { dataDir: opts.dataDir });

  // Every /api/v1 route needs a bearer token; routes naming an :accountId are checked against its scope.
  await app.register(async (api) => {
    api.addHook('onRequest', bearerAuth(opts.db));
    api.withTypeProvider<ZodTypeProvider>().get(
      '/api/v1/me',
      {
        schema: {
          response: {
            200: z.object({ kind: z.enum(['admin', 'account']), accountId: z.string().optional() }),
          },
        },
        config: { openapi: { summary: 'Who the token belongs to', tags: ['auth'] } },
      },
      async (req) => req.principal!,
    );
    await api.register(messagesRoutes, { db: opts.db, links, clock: opts.clock });
    await api.register(tokensRoutes, { db: opts.db, clock: opts.clock });
    await api.register(eventsRoutes, {
      db: opts.db,
      maxParameters: opts.maxParameters,
      softBounceThreshold: opts.softBounceThreshold,
      clock: opts.clock,
    });
  });
  await app.register(smsHooksRoutes, { db: opts.db, clock: opts.clock });
  return app;
}
