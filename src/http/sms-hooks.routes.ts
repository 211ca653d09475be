/**
 * SMS delivery-report webhooks: `POST /hooks/sms/{provider}` (JSON object or array) or `GET` with the same
 * fields in the query (gateways in the Kannel style). A report names only the provider's message id, so
 * it is matched to the `sent` event the SMS engine recorded with that `provider_message_id`, and recorded
 * as `sms_status` through `recordEvents` (idempotent per provider, message id and status: providers retry).
 *
 * Authentication: an API token as `Authorization: Bearer` or, for providers that only take a URL,
 * `?token=`. An account token only matches that account's messages.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { bearerAuth, principalAccount } from './auth.js';
import { recordEvents } from './events.service.js';
import type { ZodTypeProvider } from './openapi.js';
import { findSentSmsEvent, type Database } from '../store/index.js';

/** One delivery report, whatever the provider calls its fields. */
const dlrSchema = z
  .object({
    messageId: z.string().optional(),
    message_id: z.string().optional(),
    id: z.union([z.string(), z.number()]).optional(),
    status: z.union([z.string(), z.number()]).optional(),
    stat: z.string().optional(),
    errorCode: z.union([z.string(), z.number()]).optional(),
    err: z.union([z.string(), z.number()]).optional(),
    doneAt: z.string().optional(),
  })
  .loose();
type Dlr = z.infer<typeof dlrSchema>;

function normalize(d: Dlr) {
  const id = d.messageId ?? d.message_id ?? (d.id === undefined ? undefined : String(d.id));
  const status = d.status ?? d.stat;
  const err = d.errorCode ?? d.err;
  let doneAt: string | undefined;
  if (d.doneAt && !Number.isNaN(Date.parse(d.doneAt))) doneAt = new Date(d.doneAt).toISOString();
  return {
    id,
    status: status === undefined ? undefined : String(status),
    code: err === undefined ? undefined : String(err),
    doneAt,
  };
}

export interface SmsHooksOptions {
  db: Kysely<Database>;
  clock?: Clock;
}

const resultSchema = z.object({
  received: z.number().int(),
  recorded: z.number().int(),
  duplicates: z.number().int(),
  unmatched: z.number().int(),
});

export async function smsHooksRoutes(fastify: FastifyInstance, opts: SmsHooksOptions): Promise<void> {
  fastify.addHook('onRequest', bearerAuth(opts.db));
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const params = z.object({ provider: z.string().regex(/^[a-z0-9_-]{1,32}$/) });

  const handle = async (req: FastifyRequest, provider: string, reports: Dlr[]) => {
    const onlyAccount = principalAccount(req);
    const out = { received: reports.length, recorded: 0, duplicates: 0, unmatched: 0 };
    const byAccount = new Map<string, unknown[]>();
    for (const raw of reports) {
      const d = normalize(raw);
      const sent = d.id && d.status ? await findSentSmsEvent(opts.db, d.id, onlyAccount) : undefined;
      if (!sent || sent.recipient_id === null) {
        out.unmatched++;
        continue;
      }
      const list = byAccount.get(sent.account_id) ?? [];
      list.push({
        kind: 'sms_status',
        recipientId: sent.recipient_id,
        idList: sent.list_id ?? undefined,
        // The sent event holds internal ids; recordEvents speaks the customer's numbers and maps them back.
        idSMS: sent.message_number ?? undefined,
        idInvio: sent.sending_number ?? undefined,
        status: d.status,
        code: d.code,
        providerMessageId: d.id,
        occurredAt: d.doneAt,
        idempotencyKey: `dlr:${provider}:${d.id}:${d.status}`,
      });
      byAccount.set(sent.account_id, list);
    }
    for (const [accountId, events] of byAccount) {
      const r = await recordEvents({ db: opts.db }, accountId, events, { clock: opts.clock });
      out.recorded += r.recorded;
      out.duplicates += r.duplicates;
      out.unmatched += r.rejected.length;
    }
    return out;
  };

  const config = { allowQueryToken: true, openapi: { tags: ['webhooks'] } };
  app.post(
    '/hooks/sms/:provider',
    {
      schema: {
        params,
        querystring: z.object({ token: z.string().optional() }).loose(),
        body: z.union([dlrSchema, z.array(dlrSchema).max(10_000)]),
        response: { 200: resultSchema },
      },
      config: {
        ...config,
        openapi: { ...config.openapi, summary: 'SMS delivery reports (JSON object or array)' },
      },
    },
    async (req) => handle(req, req.params.provider, [req.body].flat()),
  );
  app.get(
    '/hooks/sms/:provider',
    {
      schema: {
        params,
        querystring: dlrSchema.extend({ token: z.string().optional() }),
        response: { 200: resultSchema },
      },
      config: {
        ...config,
        openapi: { ...config.openapi, summary: 'One SMS delivery report in the query string' },
      },
    },
    async (req) => handle(req, req.params.provider, [req.query]),
  );
}
