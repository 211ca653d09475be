/**
 * Admin API aggregates: what the dashboard charts draw (rows imported per day, opens and clicks per message,
 * SMS delivery outcomes) and the events summary of one message. Every figure is one grouped, indexed query
 * (`store/dashboard-stats.repository.ts`), so a page stays fast on an account with millions of events.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import {
  clicksPerLink,
  eventCountsByMessage,
  eventDetails,
  importRowsPerDay,
  smsOutcomes,
  EVENT_KINDS,
  getAccount,
  getMessage,
  listMessages,
  type KindCount,
  type Store,
} from '../store/index.js';
import { accountParams } from './admin-common.js';
import type { ZodTypeProvider } from './openapi.js';

const DAY = 86_400_000;
const daysSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(366)
  .default(30)
  .describe('days back (1..366, default 30)');

const windowOut = { from: z.string(), to: z.string() };
const importDaysOut = z.object({
  ...windowOut,
  days: z.array(z.object({ day: z.string(), jobs: z.number(), imported: z.number(), rejected: z.number() })),
});
const messageStatsOut = z.object({
  items: z.array(
    z.object({
      idNl: z.number().int(),
      subject: z.string().nullable(),
      createdAt: z.string(),
      opens: z.number(),
      uniqueOpens: z.number(),
      clicks: z.number(),
      uniqueClicks: z.number(),
    }),
  ),
});
const smsOut = z.object({
  ...windowOut,
  statuses: z.array(z.object({ status: z.string(), reports: z.number() })),
});
const summaryOut = z.object({
  channel: z.enum(['email', 'sms']),
  number: z.number().int().describe('idNl or idSMS'),
  subject: z.string().nullable(),
  /** Events of the message by kind (every kind listed, 0 when none). */
  events: z.record(z.string(), z.number()),
  /** Distinct recipients with at least one event of the kind. */
  recipients: z.record(z.string(), z.number()),
  uniqueOpens: z.number(),
  uniqueClicks: z.number(),
  links: z.array(z.object({ url: z.string(), clicks: z.number(), recipients: z.number() })),
  bounces: z.object({ hard: z.number(), soft: z.number() }),
  unsubscribes: z.number(),
  complaints: z.number(),
  sms: z.array(z.object({ status: z.string(), reports: z.number() })),
});
const tags = ['statistics'];

/** [from, to) covering the last `days` UTC days, today included. */
function lastDays(now: Date, days: number): { from: string; to: string; dayList: string[] } {
  const to = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + DAY;
  const from = to - days * DAY;
  const dayList = Array.from({ length: days }, (_, i) => new Date(from + i * DAY).toISOString().slice(0, 10));
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), dayList };
}

export interface AdminStatsRoutesOptions {
  store: Store;
  clock: Clock;
}

export async function adminStatsRoutes(
  fastify: FastifyInstance,
  opts: AdminStatsRoutesOptions,
): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = opts;
  const { db } = store;
  const dialect = store.dialect.name;
  const base = '/api/v1/accounts/:accountId';

  app.get(
    `${base}/stats/imports`,
    {
      schema: {
        params: accountParams,
        querystring: z.object({ days: daysSchema }),
        response: { 200: importDaysOut },
      },
      config: {
        openapi: {
          summary: 'Rows imported and rejected per UTC day (finished import jobs; every day listed)',
          tags,
        },
      },
    },
    async (req) => {
      await getAccount(db, req.params.accountId);
      const w = lastDays(clock.now(), req.query.days);
      const rows = new Map(
        (await importRowsPerDay(db, dialect, req.params.accountId, w.from, w.to)).map((r) => [r.day, r]),
      );
      return {
        from: w.from,
        to: w.to,
        days: w.dayList.map((day) => rows.get(day) ?? { day, jobs: 0, imported: 0, rejected: 0 }),
      };
    },
  );

  app.get(
    `${base}/stats/messages`,
    {
      schema: {
        params: accountParams,
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(50).default(10).describe('latest messages (1..50)'),
        }),
        response: { 200: messageStatsOut },
      },
      config: { openapi: { summary: 'Opens and clicks of the latest email messages', tags } },
    },
    async (req) => {
      await getAccount(db, req.params.accountId);
      const msgs = await listMessages(db, req.params.accountId, 'email', { limit: req.query.limit });
      const counts = await eventCountsByMessage(
        db,
        msgs.map((m) => m.id),
        ['open', 'click'],
      );
      const of = (c: KindCount[] | undefined, k: 'open' | 'click') => c?.find((x) => x.kind === k);
      return {
        items: msgs.map((m) => {
          const c = counts.get(m.id);
          return {
            idNl: m.number,
            subject: m.subject,
            createdAt: m.createdAt,
            opens: of(c, 'open')?.events ?? 0,
            uniqueOpens: of(c, 'open')?.recipients ?? 0,
            clicks: of(c, 'click')?.events ?? 0,
            uniqueClicks: of(c, 'click')?.recipients ?? 0,
          };
        }),
      };
    },
  );

  app.get(
    `${base}/stats/sms`,
    {
      schema: {
        params: accountParams,
        querystring: z.object({ days: daysSchema }),
        response: { 200: smsOut },
      },
      config: {
        openapi: { summary: 'SMS delivery reports by status, recorded in the last days', tags },
      },
    },
    async (req) => {
      await getAccount(db, req.params.accountId);
      const w = lastDays(clock.now(), req.query.days);
      return { from: w.from, to: w.to, statuses: await smsOutcomes(db, req.params.accountId, w.from, w.to) };
    },
  );

  for (const channel of ['email', 'sms'] as const) {
    const param = channel === 'email' ? 'idNl' : 'idSMS';
    app.get(
      `${base}/messages/${channel}/:${param}/summary`,
      {
        schema: {
          params: accountParams.extend({ [param]: z.coerce.number().int().positive() }),
          response: { 200: summaryOut },
        },
        config: {
          openapi: {
            summary: `Events summary of one ${channel === 'email' ? 'email' : 'SMS'} message: counts per kind, unique opens and clicks, clicks per link, bounces, unsubscribes${channel === 'sms' ? ', delivery statuses' : ''}`,
            tags: ['messages', ...tags],
          },
        },
      },
      async (req) => {
        const params = req.params as { accountId: string } & Record<string, number>;
        return messageSummary(store, params.accountId, channel, params[param]!);
      },
    );
  }
}

export type MessageSummary = z.input<typeof summaryOut>;

/**
 * The events summary of one message (`GET …/messages/{channel}/{n}/summary`, `datasync messages summary`):
 * counts per kind, unique opens and clicks, clicks per link, bounces, unsubscribes, SMS delivery statuses.
 */
export async function messageSummary(
  store: Pick<Store, 'db'>,
  accountId: string,
  channel: 'email' | 'sms',
  number: number,
): Promise<MessageSummary> {
  const { db } = store;
  const m = await getMessage(db, accountId, channel, number);
  const [counts, links, bounces, sms] = await Promise.all([
    eventCountsByMessage(db, [m.id]),
    channel === 'email' ? clicksPerLink(db, m.id) : Promise.resolve([]),
    eventDetails(db, m.id, 'bounce'),
    channel === 'sms' ? eventDetails(db, m.id, 'sms_status') : Promise.resolve([]),
  ]);
  const c = counts.get(m.id) ?? [];
  const events = Object.fromEntries(EVENT_KINDS.map((k) => [k, 0])) as Record<string, number>;
  const recipients = { ...events };
  for (const x of c) {
    events[x.kind] = x.events;
    recipients[x.kind] = x.recipients;
  }
  const bounce = (d: string) => bounces.find((b) => b.detail === d)?.events ?? 0;
  return {
    channel,
    number: m.number,
    subject: m.subject,
    events,
    recipients,
    uniqueOpens: recipients.open!,
    uniqueClicks: recipients.click!,
    links,
    bounces: { hard: bounce('hard'), soft: bounce('soft') },
    unsubscribes: events.unsubscribe!,
    complaints: events.complaint!,
    sms: sms.map((s) => ({ status: s.detail, reports: s.events })),
  };
}
