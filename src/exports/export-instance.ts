/**
 * Export instances (reference §3): one zod schema validates instance files (`datasync instances apply`), the
 * `accounts[].instances` section of the config and what the database holds. Defaults live in the schema, so a
 * stored definition is always the resolved one. Decisions on the reference's gaps: docs/exports.md.
 */
import { z } from 'zod';
import { DatasyncError } from '../errors.js';
import { EXPORT_KINDS, FIELD_KEY, KIND_COLUMNS, type ExportKind } from './export-columns.js';
import { DEFAULT_DATE_FORMAT, isValidDatePattern, isValidTimeZone } from './date-format.js';

const timeZone = z.string().refine(isValidTimeZone, { message: 'not an IANA time zone (e.g. Europe/Rome)' });
const isoInstant = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), { message: 'not an ISO-8601 date-time' });

const fileSchema = z
  .object({
    /** Column separator: `;` (default), `,` or `|`. */
    separator: z.enum([';', ',', '|']).default(';'),
    /** Text qualifier, used only when a value needs it (separator, qualifier or line break inside). Default `"`. */
    quote: z.enum(['"', "'"]).default('"'),
    /** Date-time pattern of every date column (tokens YYYY MM DD hh mm ss SSS). Default `YYYYMMDDThhmmss`. */
    dateFormat: z
      .string()
      .min(1)
      .refine(isValidDatePattern, { message: 'dateFormat has no date token' })
      .default(DEFAULT_DATE_FORMAT),
    /** Time zone of date columns and of the file name's date. Default `Europe/Rome` (reference §3.3). */
    timeZone: timeZone.default('Europe/Rome'),
    /** `utf-8` (default) or `windows-1252` (the reference's "ANSI"; `ansi` is accepted as a name for it). */
    encoding: z
      .enum(['utf-8', 'windows-1252', 'ansi'])
      .default('utf-8')
      .transform((e) => (e === 'ansi' ? 'windows-1252' : e)),
    /**
     * windows-1252 only: a row with a character the code page cannot hold is written with `?` in its place
     * (`replace`, default) or left out (`skipRow`). Either way the job counts such rows.
     */
    unmappable: z.enum(['replace', 'skipRow']).default('replace'),
    /** Write a UTF-8 byte-order mark. Default false. */
    bom: z.boolean().default(false),
    /** Header row. Default true. */
    header: z.boolean().default(true),
    /** Line ending: `crlf` (default, RFC 4180) or `lf`. */
    lineEnding: z.enum(['crlf', 'lf']).default('crlf'),
    /** `none` (default), `gzip` (`.gz` appended) or `zip` (one entry, the CSV; `.zip` replaces `.csv`). */
    compression: z.enum(['none', 'gzip', 'zip']).default('none'),
  })
  .strict();

const windowSchema = z
  .object({
    /**
     * `incremental` (default except subscribers): since the end of the last successful run;
     * `previousDay`: the previous calendar day in the file time zone; `lastDays`: the `days` days before today;
     * `snapshot`: everything (subscribers: the current subscribers).
     */
    mode: z.enum(['incremental', 'previousDay', 'lastDays', 'snapshot']).optional(),
    /** Days of `lastDays`. */
    days: z.number().int().min(1).max(3660).optional(),
    /** First incremental run: start of its window. Default: the beginning (all history). */
    firstRunFrom: isoInstant.optional(),
    /**
     * The window ends this many seconds before the run starts, so events whose transaction is still open at
     * the run's start (recorded just before it, committed just after) fall into the next window. Default 5.
     */
    settleSeconds: z.number().int().min(0).max(3600).default(5),
  })
  .strict();

const destinationSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('hosted'),
      /** Space folder. Default `/export`. */
      folder: z
        .string()
        .regex(/^\/[^\\]*$/, 'folder is an absolute space path such as /export')
        .default('/export'),
    })
    .strict(),
  z
    .object({
      type: z.literal('remote'),
      /** Id of the remote space (defined by the jobs capability). */
      remoteId: z.string().min(1),
      folder: z.string().min(1).default('/'),
    })
    .strict(),
]);

export const exportInstanceSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'id: 1-64 of A-Z a-z 0-9 _ . -'),
    accountId: z.string().min(1),
    kind: z.literal('export').default('export'),
    enabled: z.boolean().default(true),
    /** What is exported (reference §3.4). */
    type: z.enum(EXPORT_KINDS),
    /** Lists exported (one or more, reference §3.1). */
    lists: z.array(z.number().int().min(1)).min(1),
    /** Column keys in order (see docs/exports.md); mandatory columns are always added. Default: the kind's layout. */
    columns: z.array(z.string()).optional(),
    /** Recipient field ids (1..39) appended after the columns. */
    fields: z.array(z.number().int().min(1).max(39)).default([]),
    /** Header overrides: column key (or `field:<id>`) → header text. */
    headers: z.record(z.string(), z.string().min(1)).default({}),
    /** statistics: also write a `SNT` row per delivery in the window. Default false. */
    includeSent: z.boolean().default(false),
    file: fileSchema.default(() => fileSchema.parse({})),
    window: windowSchema.default(() => windowSchema.parse({})),
    /** An empty window writes a header-only file (`header`, default) or nothing (`skip`; the job is `skipped`). */
    emptyFile: z.enum(['header', 'skip']).default('header'),
    /**
     * File name pattern; tokens `{instance}` `{kind}` `{lists}` `{date}` (YYYYMMDD) `{time}` (hhmmss) `{seq}`
     * (6 digits), date and time in the file time zone. Default `{kind}_{lists}_{date}{time}.csv`.
     */
    fileName: z
      .string()
      .regex(/^[^/\\]+$/, 'fileName has no folder part')
      .default('{kind}_{lists}_{date}{time}.csv'),
    destination: destinationSchema.default({ type: 'hosted', folder: '/export' }),
    retention: z
      .object({
        /** Keep at most this many files of the instance (older ones are deleted after a run). */
        keepFiles: z.number().int().min(1).optional(),
        /** Delete files of the instance older than this many days. */
        maxAgeDays: z.number().int().min(1).optional(),
      })
      .strict()
      .default({}),
    /** Notifications when a job of this instance ends (email, signed webhooks): see docs/jobs.md. */
    notify: z.record(z.string(), z.unknown()).optional(),
    /** When the scheduler runs the instance: cron (5 or 6 fields) in `timeZone` (default: the file time zone). */
    schedule: z
      .object({ cron: z.string().min(9), timeZone: timeZone.optional() })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    const known = KIND_COLUMNS[d.type].map((c) => c.key);
    (d.columns ?? []).forEach((c, i) => {
      if (!known.includes(c) && !FIELD_KEY.test(c))
        ctx.addIssue({
          code: 'custom',
          path: ['columns', i],
          message: `unknown column "${c}" for ${d.type}; known: ${known.join(', ')}, field:<1..39>`,
        });
    });
    if (d.columns && new Set(d.columns).size !== d.columns.length)
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'a column appears twice' });
    for (const k of Object.keys(d.headers))
      if (!known.includes(k) && !FIELD_KEY.test(k))
        ctx.addIssue({ code: 'custom', path: ['headers', k], message: `unknown column "${k}"` });
    if (d.window.mode === 'lastDays' && d.window.days === undefined)
      ctx.addIssue({ code: 'custom', path: ['window', 'days'], message: 'lastDays needs days' });
  })
  .transform((d) => ({
    ...d,
    /** The channel follows the kind: SMS statistics read the SMS channel, every other kind the email one. */
    channel: (d.type === 'sms-statistics' ? 'sms' : 'email') as 'sms' | 'email',
    window: { ...d.window, mode: d.window.mode ?? (d.type === 'subscribers' ? 'snapshot' : 'incremental') },
  }));

/** What an instance file or the config holds (defaults optional). */
export type ExportInstanceInput = z.input<typeof exportInstanceSchema>;
/** A resolved instance: every default applied. */
export type ExportInstance = z.output<typeof exportInstanceSchema>;
export type { ExportKind };

/** Validate one definition; throws DS_EXPORT_INSTANCE_INVALID listing every problem with its path. */
export function parseExportInstance(input: unknown, where = ''): ExportInstance {
  const r = exportInstanceSchema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map(
      (i) => `${[where, ...i.path.map(String)].filter(Boolean).join('.')}: ${i.message}`,
    );
    throw new DatasyncError(
      'DS_EXPORT_INSTANCE_INVALID',
      `export instance is not valid:\n${problems.join('\n')}`,
      {
        details: { problems },
      },
    );
  }
  return r.data;
}

/** The definition as stored (`instances.definition_json`): the resolved instance without derived keys. */
export function storedDefinition(inst: ExportInstance): Record<string, unknown> {
  const { channel: _channel, ...rest } = inst;
  return rest;
}
