/**
 * Event ingestion for platforms that send elsewhere: `POST /api/v1/accounts/{accountId}/events` with a JSON
 * array or JSON lines. Events are validated one by one (a bad line is reported, not fatal); an
 * `Idempotency-Key` header (or per-event `idempotencyKey`) makes a retried batch count once.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { ingestEventSchema } from './engagement-event.js';
import { parseEventsText, recordEvents } from './events.service.js';
import type { ZodTypeProvider } from './openapi.js';
import type { Database } from '../store/index.js';

export const EVENT_BODY_TYPES = [
  'application/json',
  'application/x-ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'text/plain',
];

const resultSchema = z.object({
  received: z.number().int(),
  recorded: z.number().int(),
  duplicates: z.number().int(),
  unsubscribed: z.number().int(),
  rejected: z.array(z.object({ index: z.number().int(), code: z.string(), message: z.string() })),
});

export interface EventsRoutesOptions {
  db: Kysely<Database>;
  maxParameters?: number;
  softBounceThreshold?: number;
  clock?: Clock;
}

export async function eventsRoutes(app: FastifyInstance, opts: EventsRoutesOptions): Promise<void> {
  // One parser for all the accepted types: a JSON array, a single object, or JSON lines.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser(EVENT_BODY_TYPES, { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseEventsText(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });

  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/v1/accounts/:accountId/events',
    {
      schema: {
        params: z.object({ accountId: z.string() }),
        headers: z.object({ 'idempotency-key': z.string().min(1).max(200).optional() }).loose(),
        response: { 200: resultSchema },
      },
      config: {
        openapi: {
          summary: 'Ingest engagement events (JSON array or JSON lines)',
          tags: ['events'],
          body: z.array(ingestEventSchema),
          bodyContentTypes: EVENT_BODY_TYPES,
        },
      },
    },
    async (req) => {
      const events = Array.isArray(req.body) ? (req.body as unknown[]) : [];
      return recordEvents(
        { db: opts.db, dialect: { maxParameters: opts.maxParameters ?? 30_000 } },
        req.params.accountId,
        events,
        {
          batchKey: req.headers['idempotency-key'],
          softBounceThreshold: opts.softBounceThreshold,
          clock: opts.clock,
        },
      );
    },
  );
}
