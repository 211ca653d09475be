/**
 * `/t/…`: what recipients' mail clients and browsers hit.
 *
 * - `GET /t/o/<token>.gif` open pixel: a 1×1 GIF with headers that forbid every cache, so each fetch counts;
 * - `GET /t/c/<token>` click: 302 to the URL sealed in the token (never a URL from the query: no open redirect);
 * - `GET /t/u/<token>` unsubscribe page (a confirmation: link scanners that prefetch GETs change nothing);
 *   `POST /t/u/<token>` unsubscribes: the page's form (type `2`) or RFC 8058 one-click (type `32`).
 *
 * A forged, truncated or wrong-kind token is a 404. Tokens are verified without the database; recording
 * needs the sending's account, list and message, cached by sending id. Events carry internal ids
 * (`message_id` = `messages.id`, `sending_id` = `sendings.id`). Requests log at `warn` only: at
 * tracking volumes per-request info lines would cost more than the work (the metrics count them).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { EventBatcher } from './event-batcher.js';
import { OPTOUT } from './status-rules.js';
import { findSendingById, unsubscribeFromLists, type Database, type Sending } from '../store/index.js';
import { openToken, type TrackingClaims } from './tracking-token.js';

/** The smallest transparent 1×1 GIF (43 bytes). */
export const PIXEL_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

const NO_CACHE = {
  'cache-control': 'no-store, no-cache, must-revalidate, max-age=0, private',
  pragma: 'no-cache',
  expires: '0',
};

export interface TrackingRoutesOptions {
  db: Kysely<Database>;
  key: Buffer;
  log: Logger;
  registry: Registry;
  clock?: Clock;
  maxParameters?: number;
}

/** Sendings by internal id; small and bounded (a campaign's links all name the same sending). */
class SendingCache {
  private readonly map = new Map<number, Promise<Sending | undefined>>();
  constructor(
    private readonly db: Kysely<Database>,
    private readonly max = 10_000,
  ) {}
  get(id: number): Promise<Sending | undefined> {
    let p = this.map.get(id);
    if (!p) {
      if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
      p = findSendingById(this.db, id);
      // A failed lookup is not cached: the next request tries again.
      p.catch(() => this.map.delete(id));
      this.map.set(id, p);
    }
    return p;
  }
}

function counter(registry: Registry): Counter<'kind' | 'result'> {
  const name = 'datasync_tracking_requests_total';
  return (
    (registry.getSingleMetric(name) as Counter<'kind' | 'result'> | undefined) ??
    new Counter({
      name,
      help: 'Tracking requests by kind (open, click, unsubscribe) and result (recorded, invalid, unknown_sending, error)',
      labelNames: ['kind', 'result'],
      registers: [registry],
    })
  );
}

export async function trackingRoutes(app: FastifyInstance, opts: TrackingRoutesOptions): Promise<void> {
  const clock = opts.clock ?? systemClock;
  const batcher = new EventBatcher(opts.db, opts.log, 1000, opts.maxParameters);
  const sendings = new SendingCache(opts.db);
  const requests = counter(opts.registry);
  app.addHook('onClose', () => batcher.flush());

  const verify = (req: FastifyRequest, kind: TrackingClaims['kind']): TrackingClaims => {
    let token = (req.params as { token: string }).token;
    if (kind === 'open' && token.endsWith('.gif')) token = token.slice(0, -4);
    try {
      return openToken(opts.key, token, kind);
    } catch (e) {
      requests.inc({ kind, result: 'invalid' });
      throw e;
    }
  };

  /** Record an open or click; never fails the response (the pixel and the redirect matter more). */
  const record = async (req: FastifyRequest, claims: TrackingClaims): Promise<void> => {
    try {
      const s = await sendings.get(claims.sendingId);
      if (!s) {
        requests.inc({ kind: claims.kind, result: 'unknown_sending' });
        return;
      }
      const now = clock.now().toISOString();
      await batcher.add({
        account_id: s.accountId,
        kind: claims.kind === 'open' ? 'open' : 'click',
        channel: s.channel,
        recipient_id: claims.recipientId,
        list_id: s.listId,
        // Internal ids, like every event row: the exports join them back to idNl, subject and idInvio.
        message_id: s.messageId,
        sending_id: s.id,
        url: claims.url ?? null,
        code: null,
        detail: null,
        provider_message_id: null,
        ip: req.ip ?? null,
        user_agent: req.headers['user-agent']?.slice(0, 1000) ?? null,
        idempotency_key: null,
        occurred_at: now,
        recorded_at: now,
      });
      requests.inc({ kind: claims.kind, result: 'recorded' });
    } catch (err) {
      requests.inc({ kind: claims.kind, result: 'error' });
      req.log.error({ err }, 'tracking event not recorded');
    }
  };

  const routeOpts = { logLevel: 'warn' as const, config: { openapi: { hide: true } } };

  app.get('/t/o/:token', routeOpts, async (req, reply) => {
    const claims = verify(req, 'open');
    await record(req, claims);
    return reply.headers({ ...NO_CACHE, 'content-type': 'image/gif' }).send(PIXEL_GIF);
  });

  app.get('/t/c/:token', routeOpts, async (req, reply) => {
    const claims = verify(req, 'click');
    await record(req, claims);
    return reply.headers({ ...NO_CACHE, 'referrer-policy': 'no-referrer' }).redirect(claims.url!, 302);
  });

  // The unsubscribe form and RFC 8058 one-click POSTs are form bodies (urlencoded or multipart); read them
  // as short text and look for the one field that matters.
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) =>
    done(null, body),
  );

  app.get('/t/u/:token', routeOpts, async (req, reply) => {
    verify(req, 'unsubscribe');
    return reply.headers({ ...NO_CACHE, 'content-type': 'text/html; charset=utf-8' }).send(page(confirmHtml));
  });

  app.post('/t/u/:token', routeOpts, async (req, reply) => {
    const claims = verify(req, 'unsubscribe');
    const body = typeof req.body === 'string' ? req.body : '';
    const oneClick = isOneClick(req.headers['content-type'] ?? '', body);
    const s = await sendings.get(claims.sendingId);
    if (s) {
      const now = clock.now().toISOString();
      await opts.db.transaction().execute((trx) =>
        unsubscribeFromLists(trx, {
          accountId: s.accountId,
          recipientId: claims.recipientId,
          channel: s.channel,
          lists: s.listId !== null ? [s.listId] : 'all',
          optoutType: oneClick ? OPTOUT.oneClick : OPTOUT.link,
          messageId: s.messageId,
          sendingId: s.id,
          ip: req.ip ?? null,
          userAgent: req.headers['user-agent']?.slice(0, 1000) ?? null,
          occurredAt: now,
          recordedAt: now,
        }),
      );
      requests.inc({ kind: 'unsubscribe', result: 'recorded' });
    } else requests.inc({ kind: 'unsubscribe', result: 'unknown_sending' });
    return replyDone(reply);
  });
}

function replyDone(reply: FastifyReply) {
  return reply.headers({ ...NO_CACHE, 'content-type': 'text/html; charset=utf-8' }).send(page(doneHtml));
}

/** RFC 8058: the POST body carries `List-Unsubscribe=One-Click`, urlencoded or as a multipart field. */
export function isOneClick(contentType: string, body: string): boolean {
  if (contentType.startsWith('application/x-www-form-urlencoded'))
    return new URLSearchParams(body).get('List-Unsubscribe') === 'One-Click';
  if (contentType.startsWith('multipart/form-data'))
    return /name="?List-Unsubscribe"?\r?\n(?:[^\r\n]+\r?\n)*\r?\nOne-Click\r?\n/.test(body);
  return false;
}

const confirmHtml = `<h1>Unsubscribe</h1>
<p>Do you want to stop receiving these messages?</p>
<form method="post"><input type="hidden" name="confirm" value="yes"><button type="submit">Unsubscribe</button></form>`;
const doneHtml = `<h1>Unsubscribed</h1><p>You will not receive these messages any more.</p>`;

function page(body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex"><title>Unsubscribe</title></head><body>${body}</body></html>`;
}
