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

/**
 * When a remote import runs (reference §2.2 item 3). Declared here because imports/ may not import jobs/; the
 * scheduler validates it again with `scheduleSchema` of jobs/schedule.ts (cron syntax, IANA zone).
 */
const importScheduleSchema = z
  .object({
    /** Five-field cron (minute hour day month weekday), e.g. `0 4 * * *`; six fields add seconds first. */
    cron: z.string().min(1),
    /** IANA zone the cron is read in. Default `Europe/Rome`. */
    timeZone: z.string().min(1).default('Europe/Rome'),
    /** `once`: a run missed while datasync was down runs once at start-up; `skip`: wait. Default `once`. */
    catchUp: z.enum(['once', 'skip']).default('once'),
  })
  .strict();

const absoluteRemotePath = (what: string) =>
  z
    .string()
    .regex(/^\/[^\\]*$/, `${what} is an absolute path on the remote server, such as /outgoing`)
    .transform((f) => (f.length > 1 ? f.replace(/\/+$/, '') : f));

/**
 * The customer's own SFTP server, polled on `schedule` (reference §1.3, §2.1). Passwords are stored in the
 * instance definition as given (docs/jobs.md says so); a key file is read when the run starts.
 */
const remoteSchema = z
  .object({
    host: z.string().min(1),
    /** Default 22. */
    port: z.number().int().min(1).max(65535).default(22),
    username: z.string().min(1),
    /** Stored as given, in clear, with the instance definition. */
    password: z.string().min(1).optional(),
    /** Absolute path of an OpenSSH/PEM private key on the datasync machine, read at run time (no passphrase). */
    privateKeyFile: z
      .string()
      .regex(/^\//, 'privateKeyFile is an absolute path on the datasync machine')
      .optional(),
    /** `SHA256:<base64>` as `ssh-keygen -lf` prints it; required. A trailing `=` padding is dropped. */
    hostKeyFingerprint: z
      .string()
      .regex(
        /^SHA256:[A-Za-z0-9+/]{43}=?$/,
        "hostKeyFingerprint is 'SHA256:' and 43 base64 characters, as `ssh-keygen -lf` prints it",
      )
      .transform((f) => f.replace(/=+$/, '')),
    /** Remote folder polled. Default `/`. */
    folder: absoluteRemotePath('folder').default('/'),
    /** `stable`: same size and mtime at two looks 10 s apart; `trigger`: a companion file exists. Default `stable`. */
    completeness: z.enum(['stable', 'trigger']).default('stable'),
    /** Companion file suffixes of `trigger` mode. Default `['.done', '.ok']`. */
    triggerSuffixes: z
      .array(z.string().regex(/^\.[^/\\]+$/, 'a trigger suffix starts with a dot, e.g. .done'))
      .min(1)
      .default(['.done', '.ok']),
    /** After a successful (or skipped, already imported) file: delete it or move it to `moveTo`. Default `delete`. */
    afterImport: z.enum(['delete', 'move']).default('delete'),
    /** Remote folder for `afterImport: move` (created when missing). */
    moveTo: absoluteRemotePath('moveTo').optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.password === undefined && r.privateKeyFile === undefined)
      ctx.addIssue({ code: 'custom', message: 'give password or privateKeyFile (or both)' });
    if (r.afterImport === 'move' && r.moveTo === undefined)
      ctx.addIssue({ code: 'custom', path: ['moveTo'], message: 'afterImport: move needs moveTo' });
    if (r.afterImport === 'delete' && r.moveTo !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['moveTo'],
        message: 'moveTo is only used with afterImport: move',
      });
  });

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
    /** When a remote import runs. Only with `remote`: hosted files are imported on upload, never on a schedule. */
    schedule: importScheduleSchema.optional(),
    /** Poll the customer's own SFTP server instead of waiting for uploads; result files still go to `folder`. */
    remote: remoteSchema.optional(),
  })
  .strict()
  .superRefine((d, ctx) => {
    if (d.remote !== undefined && d.schedule === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['schedule'],
        message: "a remote import needs a schedule (e.g. schedule: { cron: '0 4 * * *' }): datasync polls it",
      });
    if (d.schedule !== undefined && d.remote === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['remote'],
        message:
          'a schedule needs a remote block: files in the hosted space are imported as soon as they arrive',
      });
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
/** The resolved `remote` block of an instance. */
export type ImportRemote = NonNullable<ImportInstance['remote']>;

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
