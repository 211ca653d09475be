/**
 * Import instances (reference §2.2, §2.15): one zod schema validates instance files (`datasync instances apply`),
 * the `accounts` section of the config and what the database holds. Defaults live in the schema, so a stored
 * definition is always the resolved one. Decisions on the reference's gaps are in docs/imports.md.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DatasyncError } from '../errors.js';

/** Special header codes of reference §1.4. */
export const SPECIAL_FIELD_CODES = {
  email: 111,
  mobilePrefix: 222,
  mobileNumber: 333,
  mobileFull: 444,
} as const;

const fieldId = z.number().int().min(1).max(39);

/** A mapping target: a recipient field, a key, a destination column, or `ignore`. Numbers use the §1.4 codes. */
export const mappingTargetSchema = z.union([
  z.enum([
    'email',
    'mobilePrefix',
    'mobileNumber',
    'mobileFull',
    'listId',
    'groupId',
    'externalGroupName',
    'subscriptionStatus',
    'ignore',
  ]),
  z.object({ field: fieldId }).strict(),
  // Shorthand: 1..39 for a field, 111 / 222 / 333 / 444 for the keys.
  z
    .number()
    .int()
    .refine((n) => (n >= 1 && n <= 39) || [111, 222, 333, 444].includes(n), {
      message: 'a numeric target is a field id 1..39 or one of 111, 222, 333, 444',
    }),
]);
export type MappingTarget = z.infer<typeof mappingTargetSchema>;

const fileMatchSchema = z
  .object({
    /** Exact file name (case-sensitive). */
    exact: z.string().min(1).optional(),
    /** Shell glob on the file name: `*`, `?`, `[abc]` (no `/`). */
    glob: z.string().min(1).optional(),
    /** JavaScript regular expression on the whole file name (anchored for you). */
    regex: z.string().min(1).optional(),
  })
  .strict()
  .refine((m) => [m.exact, m.glob, m.regex].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of exact, glob, regex',
  })
  .refine(
    (m) => {
      if (m.regex === undefined) return true;
      try {
        new RegExp(m.regex, 'u');
        return true;
      } catch {
        return false;
      }
    },
    { message: 'regex does not compile' },
  );

const fileSchema = z
  .object({
    /** Column separator. Default `;`. */
    separator: z
      .enum([';', ',', '|', '\t', 'tab'])
      .default(';')
      .transform((s) => (s === 'tab' ? '\t' : s)),
    /** Text qualifier, or null for none. Default `"`. */
    quote: z.enum(['"', "'"]).nullable().default('"'),
    /** `auto`: a BOM decides, else valid UTF-8, else windows-1252. Default `auto`. */
    encoding: z.enum(['auto', 'utf-8', 'windows-1252']).default('auto'),
    /** The first row is a header. Default true; false only with an explicit mapping by position. */
    header: z.boolean().default(true),
    /** Format of the date fields listed in `dateFields` (tokens YYYY, MM, DD), normalised to YYYY-MM-DD. */
    dateFormat: z
      .string()
      .regex(/^(?=.*YYYY)(?=.*MM)(?=.*DD)[YMD./\- ]+$/, 'dateFormat uses YYYY, MM, DD and one of . / - space')
      .optional(),
    /** Field ids whose values are dates in `dateFormat`. */
    dateFields: z.array(fieldId).default([]),
  })
  .strict();

const mappingSchema = z.discriminatedUnion('style', [
  /** Style A: a header row of field ids (`1..39`, `111`, `222`, `333`, `444`); an empty header cell skips the column. */
  z.object({ style: z.literal('fieldIdHeader') }).strict(),
  /** Style B: explicit column (header name, case-insensitive, or 1-based position) → target; others ignored. */
  z
    .object({
      style: z.literal('explicit'),
      columns: z
        .array(
          z
            .object({
              column: z.union([z.string().min(1), z.number().int().min(1)]),
              target: mappingTargetSchema,
            })
            .strict(),
        )
        .min(1),
    })
    .strict(),
]);

const destinationSchema = z
  .object({
    /** List used when the row carries none. */
    listId: z.number().int().min(1).optional(),
    /** Group (id) of that list, added to every row that carries no group. */
    groupId: z.number().int().min(1).optional(),
    /** Group by name (trimmed, case-insensitive) instead of `groupId`. */
    groupName: z.string().min(1).optional(),
    /** Remove each row's recipient from the list's other groups (replace, not add). Default false. */
    replaceGroups: z.boolean().default(false),
  })
  .strict()
  .refine((d) => !(d.groupId !== undefined && d.groupName !== undefined), {
    message: 'give groupId or groupName, not both',
  });

const subscriptionSchema = z
  .object({
    /**
     * `default`: new → subscribed, existing unchanged; `forceSubscribed`; `forceUnsubscribed`; `perRow` (a column);
     * `optIn`: new → pending with a confirmation request (double opt-in).
     */
    mode: z.enum(['default', 'forceSubscribed', 'forceUnsubscribed', 'perRow', 'optIn']).default('default'),
    /** Per-row column name (header, case-insensitive). Default `optout`; `subscription_status` is also recognised. */
    column: z.string().min(1).optional(),
    /** Values (trimmed, case-insensitive) meaning subscribed. Default `['1']`. */
    subscribedValues: z.array(z.string()).default(['1']),
    /** Values meaning unsubscribed. Default `['0']`. */
    unsubscribedValues: z.array(z.string()).default(['0']),
    /** Values meaning pending (opt-in with confirmation request). Default none. */
    pendingValues: z.array(z.string()).default([]),
    /** Let forced / per-row subscriptions re-subscribe unsubscribed recipients (never bounce/complaint ones). */
    forceOptIn: z.boolean().default(false),
  })
  .strict();

export const importInstanceSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'id: 1-64 of A-Z a-z 0-9 _ . -'),
    accountId: z.string().min(1),
    kind: z.literal('import').default('import'),
    enabled: z.boolean().default(true),
    /** Space folder watched. Default `/import`. */
    folder: z
      .string()
      .regex(/^\/[^\\]*$/, 'folder is an absolute space path such as /import')
      .default('/import')
      .transform((f) => (f.length > 1 ? f.replace(/\/+$/, '') : f)),
    fileMatch: fileMatchSchema.default({ glob: '*.csv' }),
    file: fileSchema.default(() => fileSchema.parse({})),
    mapping: mappingSchema.default({ style: 'fieldIdHeader' }),
    destination: destinationSchema.default(() => destinationSchema.parse({})),
    /** Channels imported. Default both. */
    channels: z
      .array(z.enum(['email', 'sms']))
      .min(1)
      .default(['email', 'sms']),
    /** Empty cells keep the stored value (default) or overwrite it with empty. */
    emptyValues: z.enum(['keep', 'overwrite']).default('keep'),
    subscription: subscriptionSchema.default(() => subscriptionSchema.parse({})),
    /** `full`: recipients of the list(s) missing from the file get `fullMissingRule`. Default `incremental`. */
    mode: z.enum(['incremental', 'full']).default('incremental'),
    /** Rule for recipients missing from a full file. Default `unsubscribe` (type 4). */
    fullMissingRule: z.enum(['unsubscribe', 'removeFromGroup', 'none']).default('unsubscribe'),
    guards: z
      .object({
        /** Abort before applying anything when rejected/processed exceeds this (0..1). Default none. */
        maxRejectedRatio: z.number().min(0).max(1).optional(),
        /** Abort a full import that would unsubscribe more than this share of a list (0..1). Default 0.5. */
        maxFullUnsubscribeRatio: z.number().min(0).max(1).default(0.5),
      })
      .strict()
      .default({ maxFullUnsubscribeRatio: 0.5 }),
    /** Import a file even when the same content (sha256) was already imported by this instance. Default false. */
    reprocess: z.boolean().default(false),
    /** Dropped files are only validated: a result file, no data change. Default false. */
    validateOnly: z.boolean().default(false),
    /** Notifications when a job of this instance ends (email, signed webhooks): see docs/jobs.md. */
    notify: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (
      d.mode === 'full' &&
      d.fullMissingRule === 'removeFromGroup' &&
      d.destination.groupId === undefined &&
      d.destination.groupName === undefined
    )
      ctx.addIssue({
        code: 'custom',
        path: ['fullMissingRule'],
        message: 'removeFromGroup needs destination.groupId or groupName',
      });
    if (!d.file.header && d.mapping.style !== 'explicit')
      ctx.addIssue({
        code: 'custom',
        path: ['file', 'header'],
        message: 'a file without header needs an explicit mapping',
      });
    if (
      !d.file.header &&
      d.mapping.style === 'explicit' &&
      d.mapping.columns.some((c) => typeof c.column === 'string')
    )
      ctx.addIssue({
        code: 'custom',
        path: ['mapping'],
        message: 'without a header, columns are given by position',
      });
    if (d.file.dateFields.length > 0 && !d.file.dateFormat)
      ctx.addIssue({ code: 'custom', path: ['file', 'dateFormat'], message: 'dateFields need a dateFormat' });
  });

/** What an instance file or the config holds (defaults optional). */
export type ImportInstanceInput = z.input<typeof importInstanceSchema>;
/** A resolved instance: every default applied. */
export type ImportInstance = z.output<typeof importInstanceSchema>;

function issuesOf(err: z.ZodError, prefix: string): string[] {
  return err.issues.map((i) => `${[prefix, ...i.path.map(String)].filter(Boolean).join('.')}: ${i.message}`);
}

/** Validate one definition; throws DS_IMPORT_INSTANCE_INVALID listing every problem with its path. */
export function parseImportInstance(input: unknown, where = ''): ImportInstance {
  const r = importInstanceSchema.safeParse(input);
  if (!r.success) {
    const problems = issuesOf(r.error, where);
    throw new DatasyncError(
      'DS_IMPORT_INSTANCE_INVALID',
      `import instance is not valid:\n${problems.join('\n')}`,
      {
        details: { problems },
      },
    );
  }
  return r.data;
}

/**
 * Parse an instances file: a YAML list, `{ instances: [...] }`, or one instance. Only `kind: import` (or no kind)
 * entries are read here; other kinds are returned in `others` for their capability. Every problem is listed.
 */
export function parseInstancesYaml(text: string): { imports: ImportInstance[]; others: unknown[] } {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new DatasyncError(
      'DS_IMPORT_INSTANCE_INVALID',
      `instances file is not valid YAML: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const list: unknown[] = Array.isArray(doc)
    ? doc
    : doc && typeof doc === 'object' && Array.isArray((doc as { instances?: unknown }).instances)
      ? (doc as { instances: unknown[] }).instances
      : doc && typeof doc === 'object'
        ? [doc]
        : [];
  if (list.length === 0)
    throw new DatasyncError('DS_IMPORT_INSTANCE_INVALID', 'instances file holds no instance');
  const imports: ImportInstance[] = [];
  const others: unknown[] = [];
  const problems: string[] = [];
  list.forEach((item, i) => {
    const kind = item && typeof item === 'object' ? (item as { kind?: unknown }).kind : undefined;
    if (kind !== undefined && kind !== 'import') {
      others.push(item);
      return;
    }
    const r = importInstanceSchema.safeParse(item);
    if (r.success) imports.push(r.data);
    else problems.push(...issuesOf(r.error, `instances[${i}]`));
  });
  const ids = new Set<string>();
  for (const d of imports) {
    if (ids.has(d.id)) problems.push(`instances: id "${d.id}" appears twice`);
    ids.add(d.id);
  }
  if (problems.length > 0)
    throw new DatasyncError(
      'DS_IMPORT_INSTANCE_INVALID',
      `instances file has ${problems.length} problem(s):\n${problems.join('\n')}`,
      {
        details: { problems },
      },
    );
  return { imports, others };
}
