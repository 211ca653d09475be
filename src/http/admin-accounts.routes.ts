/**
 * Admin API for the account's containers: accounts, fields, lists, groups, recipients (search and filters),
 * and the audit log. Every path under `/accounts/:accountId` is scope-checked by `bearerAuth`; creating an
 * account needs an admin token. Every change is recorded in the audit log.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../errors.js';
import { pageAccounts, pageGroups, pageLists } from '../store/admin-pages.repository.js';
import { listAuditEntries } from '../store/audit.repository.js';
import {
  addGroup,
  addList,
  createAccount,
  getAccount,
  getList,
  listFields,
  listRecipients,
  normalizeEmail,
  normalizeMobile,
  setField,
  SUBSCRIPTION_STATUSES,
  CHANNELS,
  type Account,
  type Db,
  type Group,
  type List,
} from '../store/index.js';
import { accountParams, audit, limitSchema, pageOf, toPage } from './admin-common.js';
import type { ZodTypeProvider } from './openapi.js';

const accountOut = z.object({
  id: z.string(),
  name: z.string(),
  timeZone: z.string(),
  defaultCountry: z.string(),
  createdAt: z.string(),
});
const listOut = z.object({
  listId: z.number().int(),
  guid: z.string(),
  name: z.string(),
  mobilePrefix: z.string().nullable(),
  createdAt: z.string(),
});
const groupOut = z.object({
  id: z.number().int(),
  listId: z.number().int(),
  name: z.string(),
  isTest: z.boolean(),
  createdAt: z.string(),
});
const fieldOut = z.object({
  fieldId: z.number().int(),
  name: z.string(),
  defaultValue: z.string().nullable(),
});
const subscriptionOut = z.object({
  listId: z.number().int(),
  channel: z.enum(CHANNELS),
  status: z.enum(SUBSCRIPTION_STATUSES),
  subscribedAt: z.string().nullable(),
  unsubscribedAt: z.string().nullable(),
  optoutType: z.string().nullable(),
});
const recipientOut = z.object({
  id: z.number().int(),
  email: z.string().nullable(),
  mobile: z.string().nullable(),
  fields: z.record(z.string(), z.string()),
  createdAt: z.string(),
  updatedAt: z.string(),
  subscriptions: z.array(subscriptionOut),
});
const auditOut = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  accountId: z.string().nullable(),
  action: z.string(),
  target: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  requestId: z.string().nullable(),
});

const accountJson = (a: Account): z.input<typeof accountOut> => ({
  id: a.id,
  name: a.name,
  timeZone: a.timeZone,
  defaultCountry: a.defaultCountry,
  createdAt: a.createdAt,
});
const listJson = (l: List): z.input<typeof listOut> => ({
  listId: l.listId,
  guid: l.guid,
  name: l.name,
  mobilePrefix: l.mobilePrefix,
  createdAt: l.createdAt,
});
const groupJson = (g: Group): z.input<typeof groupOut> => ({
  id: g.id,
  listId: g.listId,
  name: g.name,
  isTest: g.isTest,
  createdAt: g.createdAt,
});

const positive = z.coerce.number().int().positive();

export interface AdminAccountsRoutesOptions {
  db: Db;
}

export async function adminAccountsRoutes(
  fastify: FastifyInstance,
  opts: AdminAccountsRoutesOptions,
): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { db } = opts;
  const base = '/api/v1/accounts/:accountId';

  app.get(
    '/api/v1/accounts',
    {
      schema: {
        querystring: z.object({
          limit: limitSchema,
          after: z.string().optional().describe('cursor: account id'),
        }),
        response: { 200: pageOf(accountOut) },
      },
      config: {
        openapi: { summary: 'List accounts (an account token sees only its own)', tags: ['accounts'] },
      },
    },
    async (req) => {
      const p = req.principal!;
      if (p.kind === 'account')
        return { items: [accountJson(await getAccount(db, p.accountId))], next: null };
      const rows = await pageAccounts(db, { afterId: req.query.after, limit: req.query.limit + 1 });
      const page = toPage(rows, req.query.limit, (a) => a.id);
      return { items: page.items.map(accountJson), next: page.next };
    },
  );
  app.post(
    '/api/v1/accounts',
    {
      schema: {
        body: z.strictObject({
          id: z.string().min(1).max(63),
          name: z.string().min(1).max(200).optional(),
          timeZone: z.string().optional(),
          defaultCountry: z.string().length(2).optional(),
        }),
        response: { 201: accountOut },
      },
      config: { adminOnly: true, openapi: { summary: 'Create an account (admin only)', tags: ['accounts'] } },
    },
    async (req, reply) => {
      const a = await createAccount(db, req.body);
      await audit(db, req, { accountId: a.id, action: 'account.create', target: a.id, details: req.body });
      return reply.status(201).send(accountJson(a));
    },
  );
  app.get(
    base,
    {
      schema: { params: accountParams, response: { 200: accountOut } },
      config: { openapi: { summary: 'One account', tags: ['accounts'] } },
    },
    async (req) => accountJson(await getAccount(db, req.params.accountId)),
  );

  app.get(
    `${base}/fields`,
    {
      schema: { params: accountParams, response: { 200: z.object({ items: z.array(fieldOut) }) } },
      config: {
        openapi: { summary: 'Recipient fields of the account (at most 39, not paged)', tags: ['fields'] },
      },
    },
    async (req) => {
      await getAccount(db, req.params.accountId);
      return { items: await listFields(db, req.params.accountId) };
    },
  );
  app.put(
    `${base}/fields/:fieldId`,
    {
      schema: {
        params: accountParams.extend({ fieldId: z.coerce.number().int().min(1).max(39) }),
        body: z.strictObject({ name: z.string().trim().min(1).max(100) }),
        response: { 200: fieldOut },
      },
      config: { openapi: { summary: 'Name a recipient field (1..39)', tags: ['fields'] } },
    },
    async (req) => {
      const { accountId, fieldId } = req.params;
      const f = await setField(db, accountId, fieldId, req.body.name);
      await audit(db, req, { accountId, action: 'field.set', target: String(fieldId), details: req.body });
      return f;
    },
  );

  app.get(
    `${base}/lists`,
    {
      schema: {
        params: accountParams,
        querystring: z.object({ limit: limitSchema, after: positive.optional().describe('cursor: list id') }),
        response: { 200: pageOf(listOut) },
      },
      config: { openapi: { summary: 'Lists of the account', tags: ['lists'] } },
    },
    async (req) => {
      await getAccount(db, req.params.accountId);
      const rows = await pageLists(db, req.params.accountId, {
        afterListId: req.query.after,
        limit: req.query.limit + 1,
      });
      const page = toPage(rows, req.query.limit, (l) => l.listId);
      return { items: page.items.map(listJson), next: page.next };
    },
  );
  app.post(
    `${base}/lists`,
    {
      schema: {
        params: accountParams,
        body: z.strictObject({
          listId: z.number().int().positive(),
          name: z.string().trim().min(1).max(200),
          mobilePrefix: z.string().max(6).optional(),
        }),
        response: { 201: listOut },
      },
      config: { openapi: { summary: 'Create a list', tags: ['lists'] } },
    },
    async (req, reply) => {
      const accountId = req.params.accountId;
      const l = await addList(db, { accountId, ...req.body });
      await audit(db, req, { accountId, action: 'list.create', target: String(l.listId), details: req.body });
      return reply.status(201).send(listJson(l));
    },
  );

  app.get(
    `${base}/groups`,
    {
      schema: {
        params: accountParams,
        querystring: z.object({
          limit: limitSchema,
          listId: positive.optional(),
          after: positive.optional().describe('cursor: group id'),
        }),
        response: { 200: pageOf(groupOut) },
      },
      config: { openapi: { summary: 'Groups of the account (optionally of one list)', tags: ['groups'] } },
    },
    async (req) => {
      await getAccount(db, req.params.accountId);
      const rows = await pageGroups(db, req.params.accountId, {
        listId: req.query.listId,
        afterId: req.query.after,
        limit: req.query.limit + 1,
      });
      const page = toPage(rows, req.query.limit, (g) => g.id);
      return { items: page.items.map(groupJson), next: page.next };
    },
  );
  app.post(
    `${base}/groups`,
    {
      schema: {
        params: accountParams,
        body: z.strictObject({
          listId: z.number().int().positive(),
          name: z.string().trim().min(1).max(200),
          isTest: z.boolean().optional(),
        }),
        response: { 201: groupOut },
      },
      config: { openapi: { summary: 'Create a group in a list', tags: ['groups'] } },
    },
    async (req, reply) => {
      const accountId = req.params.accountId;
      const g = await addGroup(db, { accountId, ...req.body });
      await audit(db, req, { accountId, action: 'group.create', target: String(g.id), details: req.body });
      return reply.status(201).send(groupJson(g));
    },
  );

  app.get(
    `${base}/recipients`,
    {
      schema: {
        params: accountParams,
        querystring: z.object({
          limit: limitSchema,
          after: positive.optional().describe('cursor: recipient id'),
          q: z.string().trim().min(1).max(320).optional().describe('an email address or a mobile number'),
          listId: positive.optional(),
          status: z.enum(SUBSCRIPTION_STATUSES).optional(),
          channel: z.enum(CHANNELS).optional(),
        }),
        response: { 200: pageOf(recipientOut) },
      },
      config: {
        openapi: {
          summary: 'Recipients: search by email or mobile, filter by list, status and channel',
          tags: ['recipients'],
        },
      },
    },
    async (req) => {
      const { accountId } = req.params;
      const q = req.query;
      let search: string | undefined;
      if (q.q !== undefined) {
        const account = await getAccount(db, accountId);
        const n = q.q.includes('@')
          ? normalizeEmail(q.q)
          : normalizeMobile({ number: q.q, defaultCountry: account.defaultCountry });
        if (!n)
          throw new ValidationError(`"${q.q.slice(0, 80)}" is neither an email address nor a mobile number`);
        search = n;
      } else await getAccount(db, accountId);
      if (q.listId !== undefined) await getList(db, accountId, q.listId);
      const query = {
        search,
        listId: q.listId,
        status: q.status,
        channel: q.channel,
        afterId: q.after,
        limit: q.limit + 1,
      };
      let rows = await listRecipients(db, accountId, query);
      // Imports keep the case of an address's local part, so `ZED@example.com` may be stored as typed or as
      // `zed@example.com`: the indexed exact match first, then the same address in any case.
      if (!rows.length && search?.includes('@'))
        rows = await listRecipients(db, accountId, {
          ...query,
          search: undefined,
          searchEmailAnyCase: search,
        });
      const page = toPage(rows, q.limit, (r) => r.recipient.id);
      return {
        items: page.items.map(({ recipient: r, subscriptions }) => ({
          id: r.id,
          email: r.email,
          mobile: r.mobile,
          fields: Object.fromEntries(Object.entries(r.fields).map(([k, v]) => [String(k), v])),
          createdAt: r.createdAt,
          updatedAt: r.updatedAt,
          subscriptions: subscriptions.map((s) => ({
            listId: s.listId,
            channel: s.channel,
            status: s.status,
            subscribedAt: s.subscribedAt,
            unsubscribedAt: s.unsubscribedAt,
            optoutType: s.optoutType,
          })),
        })),
        next: page.next,
      };
    },
  );

  app.get(
    `${base}/audit`,
    {
      schema: {
        params: accountParams,
        querystring: z.object({
          limit: limitSchema,
          before: positive.optional().describe('cursor: entry id'),
        }),
        response: { 200: pageOf(auditOut) },
      },
      config: { openapi: { summary: "Audit log of the account's changes, newest first", tags: ['audit'] } },
    },
    async (req) => {
      const rows = await listAuditEntries(db, {
        accountId: req.params.accountId,
        beforeId: req.query.before,
        limit: req.query.limit + 1,
      });
      return toPage(rows, req.query.limit, (e) => e.id);
    },
  );
  app.get(
    '/api/v1/audit',
    {
      schema: {
        querystring: z.object({
          limit: limitSchema,
          before: positive.optional().describe('cursor: entry id'),
        }),
        response: { 200: pageOf(auditOut) },
      },
      config: {
        adminOnly: true,
        openapi: { summary: 'Audit log of every change (admin only)', tags: ['audit'] },
      },
    },
    async (req) => {
      const rows = await listAuditEntries(db, { beforeId: req.query.before, limit: req.query.limit + 1 });
      return toPage(rows, req.query.limit, (e) => e.id);
    },
  );
}
