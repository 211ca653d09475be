/**
 * The ingested engagement event (API `POST /api/v1/accounts/{id}/events`, `datasync events add`, and
 * `recordEvents()`): one JSON object per event, field names as in the export files (`idList`, `idNl`,
 * `idSMS`, `idInvio`).
 */
import { z } from 'zod';

export const INGEST_KINDS = [
  'sent',
  'delivered',
  'open',
  'click',
  'bounce',
  'complaint',
  'unsubscribe',
  'sms_status',
] as const;
export type IngestKind = (typeof INGEST_KINDS)[number];

const id = z.number().int().positive();

export const ingestEventSchema = z
  .strictObject({
    kind: z.enum(INGEST_KINDS),
    /** `email` (default) or `sms`; `sms_status` is always `sms`. */
    channel: z.enum(['email', 'sms']).optional(),
    /** The recipient, by one of: email, mobile (international, e.g. `+393471234567`), or datasync's id. */
    email: z.string().max(254).optional(),
    mobile: z.string().max(32).optional(),
    recipientId: id.optional(),
    idList: id.optional(),
    /** Message number: `idNl` (email) or `idSMS` (SMS). */
    idNl: id.optional(),
    idSMS: id.optional(),
    /** Sending number; when it is a datasync sending, idNl/idSMS and idList default to its own. */
    idInvio: id.optional(),
    /** Clicked URL (`click`). */
    url: z.string().max(4096).optional(),
    /** `bounce`: hard or soft. */
    bounceType: z.enum(['hard', 'soft']).optional(),
    /** Bounce code (SMTP status such as `5.1.1` or `550`), or the SMS provider's own status / error code. */
    code: z.string().max(200).optional(),
    /** `sms_status`: DELIVERED, QUEUED, FAILED, UNKNOWN, NACK, UNDELIV, REJECTD, EXPIRED (SMPP words accepted). */
    status: z.string().max(64).optional(),
    /** Unsubscribe type code of reference §3.4.1 (`unsubscribe`: default `2`). */
    optoutType: z
      .string()
      .regex(/^[0-9]{1,5}$/, 'digits only, e.g. "2" or "321"')
      .optional(),
    providerMessageId: z.string().max(200).optional(),
    ip: z.string().max(64).optional(),
    userAgent: z.string().max(1000).optional(),
    /** When it happened (ISO 8601 with a zone); default: when it is recorded. */
    occurredAt: z.iso.datetime({ offset: true }).optional(),
    /** A retried event with the same key (per account) is not counted twice. */
    idempotencyKey: z.string().min(1).max(200).optional(),
  })
  .superRefine((e, ctx) => {
    if (e.email === undefined && e.mobile === undefined && e.recipientId === undefined)
      ctx.addIssue({ code: 'custom', message: 'an event needs email, mobile or recipientId' });
    if (e.kind === 'click' && !e.url)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'a click needs url' });
    if (e.kind === 'bounce' && !e.bounceType)
      ctx.addIssue({
        code: 'custom',
        path: ['bounceType'],
        message: 'a bounce needs bounceType hard or soft',
      });
    if (e.kind === 'sms_status' && !e.status)
      ctx.addIssue({ code: 'custom', path: ['status'], message: 'an sms_status needs status' });
    if (
      (e.kind === 'bounce' || e.kind === 'complaint' || e.kind === 'open' || e.kind === 'click') &&
      e.channel === 'sms'
    )
      ctx.addIssue({ code: 'custom', path: ['channel'], message: `${e.kind} exists for email only` });
  });

export type IngestEvent = z.output<typeof ingestEventSchema>;
export type IngestEventInput = z.input<typeof ingestEventSchema>;
