/**
 * Admin API for messages (`idNl`, `idSMS`), sendings (`idInvio`) and tracked links of a sending (API tokens:
 * tokens.routes.ts). Every path names its account, so `bearerAuth` checks the token's scope.
 */
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import { NotFoundError, ValidationError } from '../errors.js';
import type { ZodTypeProvider } from './openapi.js';
import {
  createMessage,
  createSending,
  getMessage,
  getSending,
  listMessages,
  listSendingRecipientIds,
  listSendings,
  normalizeEmail,
  resolveRecipientIds,
  type Database,
  type Message,
  type Sending,
} from '../store/index.js';
import type { TrackingLinks } from './tracking-links.js';

const num = z.coerce.number().int().positive();
const account = z.object({ accountId: z.string() });
const page = z.object({
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  before: num.optional().describe('keyset cursor: only numbers below this'),
});

const attachmentIn = z.strictObject({
  filename: z.string().min(1).max(255),
  contentType: z.string().min(1).max(255).default('application/octet-stream'),
  /** Base64 content. */
  content: z.base64(),
});
const emailIn = z.strictObject({
  listId: num.optional(),
  subject: z.string().min(1).max(998),
  html: z.string().optional(),
  text: z.string().optional(),
  senderEmail: z.email(),
  senderName: z.string().max(200).optional(),
  replyTo: z.email().optional(),
  attachments: z.array(attachmentIn).max(50).default([]),
  campaignCode: z.string().max(100).optional(),
});
const emailOut = z.object({
  idNl: z.number().int(),
  listId: z.number().int().nullable(),
  subject: z.string().nullable(),
  html: z.string().nullable(),
  text: z.string().nullable(),
  senderEmail: z.string().nullable(),
  senderName: z.string().nullable(),
  replyTo: z.string().nullable(),
  attachments: z.array(z.object({ filename: z.string(), contentType: z.string(), size: z.number().int() })),
  campaignCode: z.string().nullable(),
  createdAt: z.string(),
});
const smsIn = z.strictObject({
  listId: num.optional(),
  text: z.string().min(1).max(1600),
  /** Alphanumeric sender (≤ 11 characters) or a number. */
  sender: z.string().max(16).optional(),
  campaignCode: z.string().max(100).optional(),
});
const smsOut = z.object({
  idSMS: z.number().int(),
  listId: z.number().int().nullable(),
  text: z.string().nullable(),
  sender: z.string().nullable(),
  campaignCode: z.string().nullable(),
  createdAt: z.string(),
});
const sendingIn = z
  .strictObject({
    idNl: num.optional(),
    idSMS: num.optional(),
    listId: num.optional(),
    groupId: num.optional(),
    /** Explicit recipients: datasync ids and/or email addresses. */
    recipientIds: z.array(num).max(100_000).optional(),
    emails: z.array(z.string()).max(100_000).optional(),
    scheduledAt: z.iso.datetime({ offset: true }).optional(),
  })
  .refine((s) => (s.idNl === undefined) !== (s.idSMS === undefined), 'give exactly one of idNl or idSMS');
const sendingOut = z.object({
  idInvio: z.number().int(),
  channel: z.enum(['email', 'sms']),
  idNl: z.number().int().optional(),
  idSMS: z.number().int().optional(),
  listId: z.number().int().nullable(),
  groupId: z.number().int().nullable(),
  recipientIds: z.array(z.number().int()).optional(),
  status: z.string(),
  scheduledAt: z.string().nullable(),
  createdAt: z.string(),
});

const emailJson = (m: Message): z.input<typeof emailOut> => ({
  idNl: m.number,
  listId: m.listId,
  subject: m.subject,
  html: m.html,
  text: m.text,
  senderEmail: m.senderEmail,
  senderName: m.senderName,
  replyTo: m.replyTo,
  attachments: m.attachments.map((a) => ({
    filename: a.filename,
    contentType: a.contentType,
    size: Buffer.byteLength(a.content, 'base64'),
  })),
  campaignCode: m.campaignCode,
  createdAt: m.createdAt,
});
const smsJson = (m: Message): z.input<typeof smsOut> => ({
  idSMS: m.number,
  listId: m.listId,
  text: m.text,
  sender: m.senderName,
  campaignCode: m.campaignCode,
  createdAt: m.createdAt,
});
const sendingJson = (s: Sending, recipientIds?: number[]): z.input<typeof sendingOut> => ({
  idInvio: s.number,
  channel: s.channel,
  ...(s.channel === 'email' ? { idNl: s.messageNumber } : { idSMS: s.messageNumber }),
  listId: s.listId,
  groupId: s.groupId,
  ...(recipientIds && recipientIds.length ? { recipientIds } : {}),
  status: s.status,
  scheduledAt: s.scheduledAt,
  createdAt: s.createdAt,
});

export interface MessagesRoutesOptions {
  db: Kysely<Database>;
  /** Absent when the tracking secret is not configured: the links route then answers 404. */
  links?: TrackingLinks;
  /** Creation times of messages and sendings. Default: the system clock. */
  clock?: Clock;
}

export async function messagesRoutes(fastify: FastifyInstance, opts: MessagesRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;
  const clock = opts.clock ?? systemClock;
  const base = '/api/v1/accounts/:accountId';
  const tags = ['messages'];

  app.post(
    `${base}/messages/email`,
    {
      schema: { params: account, body: emailIn, response: { 201: emailOut } },
      config: { openapi: { summary: 'Create an email message (returns its idNl)', tags } },
    },
    async (req, reply) => {
      const b = req.body;
      if (!b.html && !b.text) throw new ValidationError('an email message needs html or text');
      const m = await createMessage(
        db,
        { accountId: req.params.accountId, channel: 'email', ...b },
        clock.now(),
      );
      return reply.status(201).send(emailJson(m));
    },
  );
  app.get(
    `${base}/messages/email`,
    {
      schema: { params: account, querystring: page, response: { 200: z.array(emailOut) } },
      config: { openapi: { summary: 'List email messages, newest first', tags } },
    },
    async (req) =>
      (
        await listMessages(db, req.params.accountId, 'email', {
          limit: req.query.limit,
          beforeNumber: req.query.before,
        })
      ).map(emailJson),
  );
  app.get(
    `${base}/messages/email/:idNl`,
    {
      schema: { params: account.extend({ idNl: num }), response: { 200: emailOut } },
      config: { openapi: { summary: 'One email message', tags } },
    },
    async (req) => emailJson(await getMessage(db, req.params.accountId, 'email', req.params.idNl)),
  );

  app.post(
    `${base}/messages/sms`,
    {
      schema: { params: account, body: smsIn, response: { 201: smsOut } },
      config: { openapi: { summary: 'Create an SMS message (returns its idSMS)', tags } },
    },
    async (req, reply) => {
      const b = req.body;
      const m = await createMessage(
        db,
        {
          accountId: req.params.accountId,
          channel: 'sms',
          listId: b.listId,
          text: b.text,
          senderName: b.sender,
          campaignCode: b.campaignCode,
        },
        clock.now(),
      );
      return reply.status(201).send(smsJson(m));
    },
  );
  app.get(
    `${base}/messages/sms`,
    {
      schema: { params: account, querystring: page, response: { 200: z.array(smsOut) } },
      config: { openapi: { summary: 'List SMS messages, newest first', tags } },
    },
    async (req) =>
      (
        await listMessages(db, req.params.accountId, 'sms', {
          limit: req.query.limit,
          beforeNumber: req.query.before,
        })
      ).map(smsJson),
  );
  app.get(
    `${base}/messages/sms/:idSMS`,
    {
      schema: { params: account.extend({ idSMS: num }), response: { 200: smsOut } },
      config: { openapi: { summary: 'One SMS message', tags } },
    },
    async (req) => smsJson(await getMessage(db, req.params.accountId, 'sms', req.params.idSMS)),
  );

  const stags = ['sendings'];
  app.post(
    `${base}/sendings`,
    {
      schema: { params: account, body: sendingIn, response: { 201: sendingOut } },
      config: {
        openapi: {
          summary: 'Create a sending (idInvio) of a message to a list, a group, or explicit recipients',
          tags: stags,
        },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const accountId = req.params.accountId;
      let recipientIds = b.recipientIds;
      if (b.emails) {
        const emails = b.emails.map((e) => {
          const n = normalizeEmail(e);
          if (!n)
            throw new ValidationError(`"${e.slice(0, 80)}" is not a valid email address`, {
              code: 'DS_EMAIL_INVALID',
            });
          return n;
        });
        const found = await resolveRecipientIds(db, accountId, { emails, mobiles: [], ids: [] });
        const missing = emails.filter((e) => !found.byEmail.has(e));
        if (missing.length)
          throw new NotFoundError(`no recipients ${missing.slice(0, 10).join(', ')}`, {
            code: 'DS_RECIPIENT_UNKNOWN',
            details: { missing: missing.slice(0, 100) },
          });
        recipientIds = [...(recipientIds ?? []), ...emails.map((e) => found.byEmail.get(e)!)];
      }
      const s = await db.transaction().execute((trx) =>
        createSending(
          trx,
          {
            accountId,
            channel: b.idNl !== undefined ? 'email' : 'sms',
            messageNumber: (b.idNl ?? b.idSMS)!,
            listId: b.listId,
            groupId: b.groupId,
            recipientIds,
            scheduledAt: b.scheduledAt ? new Date(b.scheduledAt).toISOString() : null,
          },
          clock.now(),
        ),
      );
      return reply
        .status(201)
        .send(sendingJson(s, recipientIds ? [...new Set(recipientIds)].sort((x, y) => x - y) : undefined));
    },
  );
  app.get(
    `${base}/sendings`,
    {
      schema: { params: account, querystring: page, response: { 200: z.array(sendingOut) } },
      config: { openapi: { summary: 'List sendings, newest first', tags: stags } },
    },
    async (req) =>
      (
        await listSendings(db, req.params.accountId, {
          limit: req.query.limit,
          beforeNumber: req.query.before,
        })
      ).map((s) => sendingJson(s)),
  );
  app.get(
    `${base}/sendings/:idInvio`,
    {
      schema: { params: account.extend({ idInvio: num }), response: { 200: sendingOut } },
      config: { openapi: { summary: 'One sending, with its explicit recipients', tags: stags } },
    },
    async (req) => {
      const s = await getSending(db, req.params.accountId, req.params.idInvio);
      return sendingJson(s, await listSendingRecipientIds(db, s.id));
    },
  );
  app.post(
    `${base}/sendings/:idInvio/links`,
    {
      schema: {
        params: account.extend({ idInvio: num }),
        body: z.strictObject({ recipientId: num, urls: z.array(z.string()).max(500).default([]) }),
        response: {
          200: z.object({
            open: z.string(),
            unsubscribe: z.string(),
            clicks: z.record(z.string(), z.string()),
            headers: z.record(z.string(), z.string()),
          }),
        },
      },
      config: {
        openapi: {
          summary:
            'Tracked URLs (open pixel, clicks, unsubscribe, List-Unsubscribe headers) for one recipient',
          tags: stags,
        },
      },
    },
    async (req) => {
      if (!opts.links) throw new NotFoundError('tracking is not enabled on this server');
      const s = await getSending(db, req.params.accountId, req.params.idInvio);
      const r = await resolveRecipientIds(db, req.params.accountId, {
        emails: [],
        mobiles: [],
        ids: [req.body.recipientId],
      });
      if (!r.ids.size)
        throw new NotFoundError(`no recipient ${req.body.recipientId}`, { code: 'DS_RECIPIENT_UNKNOWN' });
      const l = opts.links;
      const rid = req.body.recipientId;
      return {
        open: l.openUrl(s.id, rid),
        unsubscribe: l.unsubscribeUrl(s.id, rid),
        clicks: Object.fromEntries(req.body.urls.map((u) => [u, l.clickUrl(s.id, rid, u)])),
        headers: l.listUnsubscribeHeaders(s.id, rid),
      };
    },
  );
}
