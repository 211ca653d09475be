/**
 * Notifications per instance (reference §6.1): on success / partial / failure, an email through the
 * configured SMTP server and HTTP webhooks. A webhook body is the job record as JSON, signed with
 * HMAC-SHA256 of the raw body under the instance's secret (`X-Datasync-Signature: sha256=<hex>`), retried
 * with exponential backoff; every delivery (email or webhook) is logged in `notification_deliveries`.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import nodemailer, { type Transporter } from 'nodemailer';
import { z } from 'zod';
import { systemClock, type Clock } from '../clock.js';
import type { NotificationDeliveryRow } from '../store/jobs-tables.js';
import type { Database, JobRecord } from '../store/index.js';

const EVENTS = ['succeeded', 'partial', 'failed'] as const;
export type NotifyEvent = (typeof EVENTS)[number];

/** The `notify` block of an instance definition. */
export const notifySchema = z
  .object({
    /** Which outcomes notify. Default all three. */
    on: z.array(z.enum(EVENTS)).default([...EVENTS]),
    /** Email recipients. */
    email: z.array(z.string().email()).default([]),
    webhooks: z
      .array(
        z
          .object({
            url: z.string().url(),
            /** HMAC-SHA256 key of the signature header. */
            secret: z.string().min(16),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type NotifySpec = z.output<typeof notifySchema>;

export interface SmtpSettings {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
}

export interface NotifierOptions {
  db: Kysely<Database>;
  smtp: SmtpSettings;
  clock?: Clock;
  /** Webhook attempts in total. Default 5. */
  webhookAttempts?: number;
  /** First backoff, ms; doubled per attempt. Default 2000. */
  webhookBackoffMs?: number;
  /** Per-attempt timeout, ms. Default 10000. */
  webhookTimeoutMs?: number;
  /** Waits between attempts (injected so tests do not sleep). Default a timer. */
  wait?: (ms: number) => Promise<void>;
}

export function signBody(body: string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

/** The email text: what happened in plain words, the counters, and the first rejected rows. */
export function describeJob(
  job: JobRecord,
  rejected: Array<{ line: number; code: string; reason: string }> = [],
): { subject: string; text: string } {
  const what = `${job.kind} ${job.instanceId ?? ''}`.trim();
  const headline =
    job.status === 'succeeded'
      ? `The ${what} finished successfully.`
      : job.status === 'partial'
        ? `The ${what} finished, but some rows were rejected.`
        : `The ${what} failed${job.error ? `: ${job.error.message} (${job.error.code})` : '.'}`;
  const lines = [headline, '', `Job: ${job.id}`, `Account: ${job.accountId}`];
  if (job.inputName) lines.push(`File: ${job.inputName}`);
  lines.push(`Started: ${job.startedAt ?? '-'}`, `Ended: ${job.endedAt ?? '-'}`, `Attempts: ${job.attempts}`);
  if (job.counters) {
    lines.push('', 'Counters:');
    for (const [k, v] of Object.entries(job.counters))
      lines.push(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  if (rejected.length) {
    lines.push('', `First rejected rows (of ${String(job.counters?.rejected ?? rejected.length)}):`);
    for (const r of rejected.slice(0, 10)) lines.push(`  line ${r.line}: ${r.code} ${r.reason}`);
  }
  return { subject: `[datasync] ${what}: ${job.status}`, text: lines.join('\n') + '\n' };
}

export class Notifier {
  private readonly transport: Transporter;
  private readonly clock: Clock;

  constructor(private readonly opts: NotifierOptions) {
    this.clock = opts.clock ?? systemClock;
    this.transport = nodemailer.createTransport({
      host: opts.smtp.host,
      port: opts.smtp.port,
      secure: opts.smtp.secure,
      ...(opts.smtp.user ? { auth: { user: opts.smtp.user, pass: opts.smtp.password ?? '' } } : {}),
      // Local relays often have self-signed certificates; STARTTLS is still used when offered.
      tls: { rejectUnauthorized: false },
    });
  }

  close(): void {
    this.transport.close();
  }

  /** Sends what `spec` asks for the job's outcome; never throws (failures are in the delivery log). */
  async notify(
    job: JobRecord,
    spec: NotifySpec,
    rejected: Array<{ line: number; code: string; reason: string }> = [],
  ): Promise<NotificationDeliveryRow[]> {
    const event = job.status as NotifyEvent;
    if (!EVENTS.includes(event) || !spec.on.includes(event)) return [];
    const out: NotificationDeliveryRow[] = [];
    if (spec.email.length) out.push(await this.sendEmail(job, event, spec.email, rejected));
    for (const w of spec.webhooks) out.push(await this.sendWebhook(job, event, w));
    return out;
  }

  private async log(job: JobRecord, channel: string, target: string, event: string): Promise<string> {
    const id = randomUUID();
    const now = this.clock.now().toISOString();
    await this.opts.db
      .insertInto('notification_deliveries')
      .values({
        id,
        job_id: job.id,
        channel,
        target,
        event,
        status: 'pending',
        attempts: 0,
        response_status: null,
        error: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return id;
  }

  private async update(
    id: string,
    set: {
      status: 'pending' | 'delivered' | 'failed';
      attempts: number;
      response_status?: number | null;
      error?: string | null;
    },
  ): Promise<NotificationDeliveryRow> {
    return this.opts.db
      .updateTable('notification_deliveries')
      .set({ ...set, updated_at: this.clock.now().toISOString() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  private async sendEmail(
    job: JobRecord,
    event: string,
    to: string[],
    rejected: Array<{ line: number; code: string; reason: string }>,
  ): Promise<NotificationDeliveryRow> {
    const id = await this.log(job, 'email', to.join(','), event);
    const { subject, text } = describeJob(job, rejected);
    try {
      await this.transport.sendMail({ from: this.opts.smtp.from, to, subject, text });
      return await this.update(id, { status: 'delivered', attempts: 1 });
    } catch (e) {
      return await this.update(id, { status: 'failed', attempts: 1, error: (e as Error).message });
    }
  }

  private async sendWebhook(
    job: JobRecord,
    event: string,
    hook: { url: string; secret: string },
  ): Promise<NotificationDeliveryRow> {
    const id = await this.log(job, 'webhook', hook.url, event);
    // One body for every attempt: the delivery id lets the receiver drop a repeat it already processed.
    const body = JSON.stringify({ deliveryId: id, event, job });
    const attempts = this.opts.webhookAttempts ?? 5;
    const wait = this.opts.wait ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    let last: { status: number | null; error: string } = { status: null, error: '' };
    for (let i = 1; i <= attempts; i++) {
      try {
        const res = await fetch(hook.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-datasync-signature': signBody(body, hook.secret),
            'x-datasync-delivery': id,
          },
          body,
          signal: AbortSignal.timeout(this.opts.webhookTimeoutMs ?? 10_000),
        });
        if (res.ok)
          return await this.update(id, {
            status: 'delivered',
            attempts: i,
            response_status: res.status,
            error: null,
          });
        last = { status: res.status, error: `HTTP ${res.status}` };
      } catch (e) {
        last = { status: null, error: (e as Error).message };
      }
      await this.update(id, {
        status: 'pending',
        attempts: i,
        response_status: last.status,
        error: last.error,
      });
      if (i < attempts) await wait((this.opts.webhookBackoffMs ?? 2000) * 2 ** (i - 1));
    }
    return await this.update(id, {
      status: 'failed',
      attempts,
      response_status: last.status,
      error: last.error,
    });
  }
}

/** The delivery log of a job, oldest first. */
export async function listDeliveries(
  db: Kysely<Database>,
  jobId: string,
): Promise<NotificationDeliveryRow[]> {
  return db
    .selectFrom('notification_deliveries')
    .selectAll()
    .where('job_id', '=', jobId)
    .orderBy('created_at')
    .execute();
}
