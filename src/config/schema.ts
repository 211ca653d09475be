/**
 * The one configuration schema (CONVENTIONS #9). Defaults live here, units are in the key names, unknown
 * keys are errors (a typo must not silently fall back to a default). Every key is documented in README.md.
 */
import { z } from 'zod';
import { smsConfigSchema } from './sms.schema.js';

/** Numbers come from YAML as numbers and from DATASYNC_* variables as strings: accept both. */
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .preprocess(
      (v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v),
      z.boolean(),
    )
    .default(def);
const port = (def: number) => z.coerce.number().int().min(0).max(65535).default(def);

const listSchema = z.strictObject({
  id: z.coerce.number().int().min(1),
  name: z.string().min(1),
  /** Default international prefix for mobile numbers without one, e.g. "39" or "0039". */
  mobilePrefix: z.string().optional(),
});

const userSchema = z.strictObject({
  username: z.string().regex(/^[a-zA-Z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-" (at most 64)'),
  /** Plain password (prefer passwordHash): hashed before it is stored, never kept in clear. */
  password: z.string().min(8).optional(),
  /** A hash made by `datasync users hash` (scrypt$…). */
  passwordHash: z.string().startsWith('scrypt$').optional(),
  /** OpenSSH authorized_keys lines. */
  authorizedKeys: z.array(z.string()).default([]),
});

const accountSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a-z, 0-9, "-" or "_", at most 63'),
  name: z.string().optional(),
  timeZone: z.string().default('Europe/Rome'),
  defaultCountry: z.string().length(2).default('IT'),
  fields: z
    .array(z.strictObject({ id: z.coerce.number().int().min(1).max(39), name: z.string().min(1) }))
    .default([]),
  lists: z.array(listSchema).default([]),
  groups: z
    .array(z.strictObject({ listId: z.coerce.number().int().min(1), name: z.string().min(1) }))
    .default([]),
  users: z.array(userSchema).default([]),
  /** Instance definitions (import, export, …), validated by their capability when applied. */
  instances: z.array(z.record(z.string(), z.unknown())).default([]),
});

export const configSchema = z.strictObject({
  /** Where data lives: SQLite file, account spaces, host keys and secrets. Default `./data`. */
  dataDir: z.string().default('./data'),
  /** `sqlite` (file `<dataDir>/datasync.db`), `sqlite:<path>`, or a `postgres://` URL. Default: DATABASE_URL if set, else sqlite. */
  database: z.string().default('sqlite'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  sftp: z
    .strictObject({
      enabled: bool(true),
      host: z.string().default('0.0.0.0'),
      /** 2222 by default so no root is needed; use 22 in production. */
      port: port(2222),
      banner: z.string().default('datasync SFTP: authorised use only'),
      idleTimeoutSeconds: int(900, 1),
      /** Seconds from connect to a successful login before the connection is closed. */
      loginGraceSeconds: int(60, 1),
      maxSessions: int(200, 1),
      maxSessionsPerUser: int(10, 1),
      bruteForce: z
        .strictObject({
          maxFailures: int(5, 1),
          windowSeconds: int(300, 1),
          banSeconds: int(900, 1),
        })
        .prefault({}),
      /** Largest single file, bytes. Default 2 GiB. */
      maxFileBytes: int(2 * 1024 ** 3, 1),
      /** Largest total size of one account's space, bytes. Default 20 GiB. */
      maxAccountBytes: int(20 * 1024 ** 3, 1),
    })
    .prefault({}),
  http: z
    .strictObject({
      enabled: bool(true),
      host: z.string().default('0.0.0.0'),
      port: port(8080),
      /** Base URL recipients' mail clients reach for tracking links. Default http://localhost:<port>. */
      publicUrl: z.string().url().optional(),
      bodyLimitBytes: int(10 * 1024 * 1024, 1024),
      /** Trust X-Forwarded-For for the client address recorded by tracking (behind a reverse proxy). */
      trustProxy: bool(false),
      /** Admin API token; when absent one is generated on first start and stored hashed. */
      adminToken: z.string().min(16).optional(),
    })
    .prefault({}),
  engagement: z
    .strictObject({
      /** Consecutive soft bounces (no delivery, open or click between) that opt a recipient out with type 512. */
      softBounceThreshold: int(5, 1),
    })
    .prefault({}),
  smtp: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: port(25),
      secure: bool(false),
      user: z.string().optional(),
      password: z.string().optional(),
      from: z.string().default('datasync@localhost'),
      maxConnections: int(5, 1),
      ratePerSecond: int(50, 1),
    })
    .prefault({}),
  /** CSV2SMS providers (docs/sms.md). */
  sms: smsConfigSchema,
  /** FTPZIP archive limits (zip bombs, oversized campaigns are refused; docs/ftpzip.md). */
  ftpzip: z
    .strictObject({
      maxEntries: int(1000, 1),
      /** Largest uncompressed size of all entries together, bytes. Default 50 MiB. */
      maxTotalBytes: int(50 * 1024 * 1024, 1),
      /** Highest uncompressed/compressed ratio of an entry over 1 MiB. */
      maxRatio: int(100, 1),
      /** Largest total size of `Attachments/`, bytes (reference §6.4: under 3 MB). */
      maxAttachmentBytes: int(3 * 1000 * 1000, 0),
    })
    .prefault({}),
  jobs: z
    .strictObject({
      /** Concurrent imports (of different accounts; one account's imports always run one at a time). */
      importConcurrency: int(2, 1),
      /** Seconds to let running jobs finish at shutdown before leaving them to resume at the next start. */
      shutdownTimeoutSeconds: int(30, 0),
      /**
       * Seconds a running job is leased to its worker; the worker renews it every third of it, and a job whose
       * worker stopped answering (killed, frozen, cut off) is taken over from its checkpoint after this long.
       */
      leaseSeconds: int(300, 30),
      /** Days to keep files in done/ and failed/. 0 keeps them forever. */
      retentionDays: int(30, 0),
    })
    .prefault({}),
  /** Create the demo account, user and instances on a first start with no accounts. */
  demo: bool(true),
  /** Declarative provisioning, applied idempotently at start; the database stays the source of truth. */
  accounts: z.array(accountSchema).default([]),
});

/** What the file and DATASYNC_* variables may contain. */
export type ConfigInput = z.input<typeof configSchema>;
/** The resolved, defaulted, frozen configuration. */
export type Config = z.output<typeof configSchema>;
export type AccountConfig = Config['accounts'][number];
