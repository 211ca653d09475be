/**
 * One error model for the whole of datasync.
 *
 * Every error a user can see carries a stable `DS_*` code from {@link ERROR_CODES}. Codes are never reused
 * or renamed: customers' scripts match on them. `docs/errors.md` documents each one and a test fails when
 * a code is missing there. `message` is safe to show to the person who caused the error; internal detail
 * goes into `cause` and the logs only.
 */

/** Registry of every error code: code → default HTTP status and a one-line meaning (documented in docs/errors.md). */
export const ERROR_CODES = {
  DS_INTERNAL: { status: 500, meaning: 'An unexpected internal error; details are in the server log only.' },
  DS_CONFIG_INVALID: {
    status: 500,
    meaning: 'The configuration file or DATASYNC_* environment has problems.',
  },
  DS_USAGE: { status: 400, meaning: 'A command or request was called with missing or wrong arguments.' },
  DS_VALIDATION: { status: 400, meaning: 'A value given does not pass validation.' },
  DS_NOT_FOUND: { status: 404, meaning: 'The thing named does not exist (or is not visible to the caller).' },
  DS_DUPLICATE: { status: 409, meaning: 'The thing would duplicate a unique key (email, mobile, id, name).' },
  DS_CONFLICT: { status: 409, meaning: 'The request conflicts with the current state.' },
  DS_FOREIGN_KEY: {
    status: 409,
    meaning: 'The thing refers to something that does not exist, or is still referred to.',
  },
  DS_UNAUTHORIZED: { status: 401, meaning: 'Missing or wrong credentials.' },
  DS_FORBIDDEN: { status: 403, meaning: 'The credentials do not allow this action or account.' },
  DS_TOKEN_LAST_ADMIN: {
    status: 409,
    meaning: 'The admin API token cannot be revoked: it is the last one (create another first).',
  },
  DS_DB_UNAVAILABLE: {
    status: 503,
    meaning: 'The database cannot be reached; the operation can be retried.',
  },

  DS_EMAIL_INVALID: { status: 400, meaning: 'An email address does not have a valid syntax.' },
  DS_MOBILE_INVALID: { status: 400, meaning: 'A mobile number cannot be read as an international number.' },
  DS_FIELD_UNKNOWN: {
    status: 400,
    meaning: 'A recipient field id is outside 1..39 or not defined for the account.',
  },
  DS_FIELD_TOO_LONG: { status: 400, meaning: 'A recipient field value is longer than 200 bytes.' },
  DS_RECIPIENT_KEY_MISSING: {
    status: 400,
    meaning: 'A recipient has neither an email address nor a mobile number.',
  },
  DS_RECIPIENT_KEY_CONFLICT: {
    status: 409,
    meaning: 'The email and the mobile number given belong to two different existing recipients.',
  },
  DS_LIST_UNKNOWN: { status: 404, meaning: 'The list id does not exist in the account.' },
  DS_GROUP_UNKNOWN: { status: 404, meaning: 'The group does not exist in the list.' },
  DS_SUBSCRIPTION_LOCKED: {
    status: 409,
    meaning: 'An opt-in cannot be forced for a recipient unsubscribed by a bounce or a complaint.',
  },

  DS_TRACKING_TOKEN_INVALID: {
    status: 404,
    meaning: 'A tracking link token is forged, truncated, signed with another key or used on the wrong path.',
  },
  DS_TRACKING_URL_REFUSED: {
    status: 400,
    meaning: 'A URL to track is not an absolute http(s) URL, so it cannot be sealed into a click link.',
  },
  DS_MESSAGE_UNKNOWN: { status: 404, meaning: 'The message (idNl / idSMS) does not exist in the account.' },
  DS_SENDING_UNKNOWN: { status: 404, meaning: 'The sending (idInvio) does not exist in the account.' },
  DS_RECIPIENT_UNKNOWN: {
    status: 404,
    meaning: 'An event or sending names a recipient (email, mobile or id) the account does not have.',
  },
  DS_EVENT_INVALID: { status: 400, meaning: 'An ingested engagement event is not valid (see the message).' },

  DS_SFTP_AUTH_FAILED: { status: 401, meaning: 'SFTP login refused (wrong user, password or key).' },
  DS_SFTP_BANNED: { status: 403, meaning: 'The address is banned for a while after too many failed logins.' },
  DS_SFTP_PATH_OUTSIDE: {
    status: 403,
    meaning: 'The path leaves the account space or contains refused characters.',
  },
  DS_SFTP_QUOTA: { status: 413, meaning: 'The file or the account space would exceed its quota.' },
  DS_SFTP_SESSION_LIMIT: { status: 429, meaning: 'Too many concurrent sessions for the user or the server.' },

  DS_IMPORT_INSTANCE_INVALID: { status: 400, meaning: 'An import instance definition is not valid.' },
  DS_IMPORT_NO_INSTANCE: { status: 404, meaning: 'No import instance matches the file.' },
  DS_IMPORT_FILE_EMPTY: { status: 422, meaning: 'The file is empty.' },
  DS_IMPORT_HEADER_MISSING: {
    status: 422,
    meaning: 'The file has no header row, or only a header row is missing.',
  },
  DS_IMPORT_HEADER_INVALID: {
    status: 422,
    meaning: 'The header row cannot be mapped (unknown or repeated field ids).',
  },
  DS_IMPORT_NO_KEY_COLUMN: {
    status: 422,
    meaning: 'The mapping has no email or mobile column for the channels imported.',
  },
  DS_IMPORT_ENCODING: { status: 422, meaning: 'The file is not in the declared encoding, or is binary.' },
  DS_IMPORT_CSV_MALFORMED: { status: 422, meaning: 'The CSV cannot be parsed (stray quote, line too long).' },
  DS_IMPORT_ROW_COLUMNS: { status: 422, meaning: 'A row has a different number of columns than the header.' },
  DS_IMPORT_VALUE_INVALID: { status: 422, meaning: 'A value in a row is not valid for its target.' },
  DS_IMPORT_DUPLICATE_ROW: {
    status: 422,
    meaning: 'A later row in the same file has the same key; the last row wins.',
  },
  DS_IMPORT_REJECT_RATIO: {
    status: 422,
    meaning: 'More rows were rejected than the instance allows; nothing was applied.',
  },
  DS_IMPORT_FULL_GUARD: {
    status: 422,
    meaning: 'A full import would unsubscribe more of a list than the instance allows; nothing was applied.',
  },
  DS_IMPORT_ALREADY_DONE: {
    status: 409,
    meaning: 'The same file content was already imported by the instance.',
  },
  DS_IMPORT_FILE_UNREADABLE: {
    status: 422,
    meaning: 'The import file cannot be read (missing, unreadable, or gone).',
  },
  DS_IMPORT_INTERRUPTED: {
    status: 500,
    meaning:
      'An import stopped on an unexpected error; it resumes from its last committed batch when retried.',
  },
  DS_SMS_FILE_ENCODING: {
    status: 422,
    meaning: 'A CSV2SMS file is not valid UTF-8 (with or without BOM).',
  },
  DS_SMS_HEADER_ROWS: {
    status: 422,
    meaning: 'A CSV2SMS file does not start with exactly 7 header rows beginning with #.',
  },
  DS_SMS_HEADER_AUTHOR: {
    status: 422,
    meaning: 'CSV2SMS header row 1 (author) is neither an email address nor a mobile number.',
  },
  DS_SMS_HEADER_SEND_TIME: {
    status: 422,
    meaning: 'CSV2SMS header row 2 (send time) is not a valid YYYY-MM-DD HH:MM time.',
  },
  DS_SMS_HEADER_ACTION: {
    status: 422,
    meaning: 'CSV2SMS header row 3 (action) is not I (send) or A (queue only).',
  },
  DS_SMS_HEADER_SENDER: {
    status: 422,
    meaning: 'CSV2SMS header row 4 (sender) is empty, not a phone number, or not 1-11 allowed characters.',
  },
  DS_SMS_HEADER_LIST: {
    status: 422,
    meaning: 'CSV2SMS header row 5 (list id) is not a positive whole number.',
  },
  DS_SMS_HEADER_CAMPAIGN: {
    status: 422,
    meaning: 'CSV2SMS header row 6 (campaign name) is too long or has control characters.',
  },
  DS_SMS_HEADER_CODE: {
    status: 422,
    meaning:
      'CSV2SMS header row 7 (non-duplication code) is longer than 10 characters or has control characters.',
  },
  DS_SMS_DUPLICATE_CODE: {
    status: 409,
    meaning:
      'A CSV2SMS file with the same non-duplication code was already imported on the account; the file is skipped.',
  },
  DS_SMS_COLUMNS_INVALID: {
    status: 422,
    meaning:
      'The CSV2SMS column row is missing, lacks MOBILE NUMBER or TEXT, or has unknown or repeated columns.',
  },
  DS_SMS_NO_PLACEMARK: {
    status: 422,
    meaning: 'The CSV2SMS column row has no placemark column (Field1, Field2, ...).',
  },
  DS_SMS_NO_MESSAGES: {
    status: 422,
    meaning: 'The CSV2SMS file has no message rows.',
  },
  DS_SMS_TRAILER_NOT_LAST: {
    status: 422,
    meaning: 'A # comment row in the CSV2SMS messages section is followed by more message rows.',
  },
  DS_SMS_ROW_COLUMNS: {
    status: 422,
    meaning: 'A CSV2SMS message row has a different number of fields than the column row.',
  },
  DS_SMS_MOBILE_INVALID: {
    status: 422,
    meaning:
      'A CSV2SMS message row has a mobile number that cannot be read as an international mobile number.',
  },
  DS_SMS_TEXT_EMPTY: {
    status: 422,
    meaning: 'A CSV2SMS message row has an empty text (after placeholders are replaced).',
  },
  DS_SMS_TEXT_TOO_LONG: {
    status: 422,
    meaning: 'A CSV2SMS message needs more SMS parts than the configured maximum.',
  },
  DS_SMS_UNICODE_INVALID: {
    status: 422,
    meaning: 'A CSV2SMS UNICODE cell is not 1/0, true/false, yes/no or empty.',
  },
  DS_SMS_PLACEHOLDER_UNKNOWN: {
    status: 422,
    meaning: 'A CSV2SMS text uses a placeholder [FieldN] that has no column.',
  },
  DS_SMS_DUPLICATE_NUMBER: {
    status: 422,
    meaning: 'A later CSV2SMS row has the same mobile number as an earlier one; only the first is messaged.',
  },
  DS_SMS_UNSUBSCRIBED: {
    status: 409,
    meaning:
      'The number is not subscribed on the SMS channel of the list; it is not messaged (counted as skipped).',
  },
  DS_SMS_SUBMIT_REJECTED: {
    status: 502,
    meaning: 'The SMS provider refused a message (an SMPP error status or an HTTP error answer).',
  },
  DS_SMS_THROTTLED: {
    status: 503,
    meaning: "The SMS provider kept answering 'throttled' after every retry.",
  },
  DS_SMS_PROVIDER_UNAVAILABLE: {
    status: 503,
    meaning: 'The SMS provider cannot be reached or refused the bind; the send can be retried.',
  },
  DS_SMS_PROVIDER_CONFIG: {
    status: 500,
    meaning: 'The SMS provider configuration is incomplete or unknown.',
  },
  DS_SMS_DLR_INVALID: {
    status: 400,
    meaning: 'A delivery report cannot be read (missing message id or status).',
  },
  DS_SMS_SEND_STATE: {
    status: 409,
    meaning: 'The SMS sending is not in a state that allows the action (already sent, not scheduled).',
  },
  DS_EXPORT_INSTANCE_INVALID: { status: 400, meaning: 'An export instance definition is not valid.' },
  DS_EXPORT_NO_INSTANCE: { status: 404, meaning: 'No export instance has the id given.' },
  DS_EXPORT_WINDOW_INVALID: {
    status: 400,
    meaning: 'The export window is not valid (from after to, unreadable dates, or a window in the future).',
  },
  DS_EXPORT_BUSY: { status: 409, meaning: 'The export instance is already running in this process.' },
  DS_EXPORT_DESTINATION: {
    status: 502,
    meaning:
      'The export file could not be written to, or renamed in, its destination; the run can be retried.',
  },
  DS_EXPORT_FAILED: {
    status: 500,
    meaning:
      'An export run stopped on an unexpected error; its watermark did not move, so the next run covers it.',
  },
  DS_JOB_NOT_FOUND: { status: 404, meaning: 'The job does not exist.' },
  DS_JOB_STATE: { status: 409, meaning: 'The job is not in a state that allows the action.' },
  DS_JOB_LEASE_EXPIRED: {
    status: 500,
    meaning:
      'The worker running the job stopped answering; another worker took the job over from its checkpoint.',
  },
  DS_JOB_NO_HANDLER: { status: 500, meaning: 'No worker in this deployment runs jobs of this kind.' },
  DS_JOB_INPUT_GONE: {
    status: 410,
    meaning:
      'The input file of the job is no longer stored (removed from done/ or failed/), so it cannot run again.',
  },
  DS_SCHEDULE_INVALID: {
    status: 400,
    meaning: 'A schedule has a cron expression or time zone that cannot be read.',
  },
  DS_REMOTE_CONNECT: {
    status: 502,
    meaning: 'The remote SFTP server cannot be reached or refused the login; the run is retried.',
  },
  DS_REMOTE_HOST_KEY: {
    status: 502,
    meaning: 'The remote SFTP server presented a host key that does not match the pinned fingerprint.',
  },
  DS_REMOTE_IO: {
    status: 502,
    meaning: 'A file operation on the remote SFTP server failed; the run is retried.',
  },
  DS_REMOTE_KEY_UNREADABLE: {
    status: 500,
    meaning: 'The private key file named by a remote block cannot be read on the datasync machine.',
  },
  DS_NOTIFY_FAILED: {
    status: 502,
    meaning: 'A notification (email or webhook) could not be delivered after its retries.',
  },
  DS_INSTANCE_NOT_FOUND: { status: 404, meaning: 'The instance does not exist in the account.' },
  DS_INSTANCE_INVALID: {
    status: 400,
    meaning: 'An instance definition sent to the admin API is not valid for its kind.',
  },
  DS_QUEUE_UNAVAILABLE: {
    status: 503,
    meaning:
      "This server's HTTP routes run without a job queue, so jobs cannot be queued, retried, run or uploaded from it.",
  },
  DS_DOWNLOAD_REFUSED: {
    status: 403,
    meaning: "A job's file path lies outside the data directory or the account's space, so it is not served.",
  },
  DS_DOWNLOAD_GONE: {
    status: 404,
    meaning: "The job's file is no longer stored (retention removed it) or the job has no such file.",
  },
  DS_EMAIL_SEND_FAILED: {
    status: 502,
    meaning:
      "The SMTP relay refused or could not take a campaign's messages; the send stopped and can be resumed.",
  },
  DS_EMAIL_SENDING_STATE: {
    status: 409,
    meaning:
      'The sending is not an email sending that can be sent now (already sent, cancelled, or another channel).',
  },
  DS_FTPZIP_UNREADABLE: {
    status: 400,
    meaning: 'Cannot read that as a ZipFile: the archive is corrupt, truncated or not a ZIP.',
  },
  DS_FTPZIP_UNSAFE_ENTRY: {
    status: 400,
    meaning:
      'An archive entry has an absolute path, a `..` segment or is a symbolic link; the archive is refused.',
  },
  DS_FTPZIP_ENCRYPTED: {
    status: 400,
    meaning: 'An archive entry is encrypted; FTPZIP archives must not be password-protected.',
  },
  DS_FTPZIP_TOO_MANY_ENTRIES: {
    status: 400,
    meaning: 'The archive has more entries than `ftpzip.maxEntries` allows.',
  },
  DS_FTPZIP_TOO_LARGE: {
    status: 400,
    meaning: "The archive's uncompressed size or compression ratio exceeds the limits (zip bomb protection).",
  },
  DS_FTPZIP_XML_REFUSED: {
    status: 400,
    meaning:
      'Settings.xml contains a DOCTYPE or an ENTITY declaration; DTDs and entities are refused (XXE, billion laughs).',
  },
  DS_FTPZIP_XML_INVALID: {
    status: 400,
    meaning:
      'XML file does not match its schema. Validation failed: Settings.xml is not well-formed or a value has the wrong type.',
  },
  DS_FTPZIP_XML_MISSING_NODE: {
    status: 400,
    meaning: 'Missing Node in Xml File.: a required element of Settings.xml is absent or empty.',
  },
  DS_FTPZIP_MISSING_FILE: {
    status: 400,
    meaning:
      "A file the archive's mode needs (Settings.xml, Markup.htm, Recipients.csv, an image) is not in the archive.",
  },
  DS_FTPZIP_LIST_UNKNOWN: {
    status: 400,
    meaning:
      'List N, defined in XML file, does not exist: the `ListId` of Settings.xml is not a list of the account.',
  },
  DS_FTPZIP_ATTACHMENTS_MISSING: {
    status: 400,
    meaning:
      'There was no "Attachments" folder in the submitted Zip Archive, while Settings.xml asks for attachments.',
  },
  DS_FTPZIP_ATTACHMENTS_TOO_LARGE: {
    status: 400,
    meaning: 'The attachments together exceed the limit (default 3 MB).',
  },
  DS_FTPZIP_RECIPIENTS_INVALID: {
    status: 400,
    meaning: 'Recipients.csv has no email column (`111`), an unknown column, or no valid row.',
  },
  DS_FTPZIP_UNSUPPORTED: {
    status: 400,
    meaning:
      'The archive asks for something this server does not do (e.g. `SEND` of a message of another channel).',
  },
  DS_FTPZIP_TRANSACTIONAL_REFUSED: {
    status: 400,
    meaning:
      'A transactional archive (`SendType=transactional`) asks for attachments or a `ScheduleDateTime`: transactional sends are immediate and carry no attachments.',
  },
  DS_FTPZIP_IMAGE_REFUSED: {
    status: 400,
    meaning:
      'With `EmbeddedImages=false` an image of Markup.htm is not a PNG, JPEG, GIF or WebP file (by content); only those are hosted (SVG is refused: it can carry script).',
  },
  DS_EMAIL_UNSUBSCRIBED: {
    status: 409,
    meaning:
      'The address is not subscribed on the email channel of the list (it unsubscribed or bounced); it is not mailed (counted as skipped).',
  },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class of every error datasync shows to a user. */
export class DatasyncError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = ERROR_CODES[code].status;
    if (opts.details) this.details = opts.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

export class ValidationError extends DatasyncError {
  constructor(
    message: string,
    opts: { code?: ErrorCode; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(opts.code ?? 'DS_VALIDATION', message, opts);
  }
}

export class NotFoundError extends DatasyncError {
  constructor(message: string, opts: { code?: ErrorCode; details?: Record<string, unknown> } = {}) {
    super(opts.code ?? 'DS_NOT_FOUND', message, opts);
  }
}

/** A unique key would be duplicated (SQLite SQLITE_CONSTRAINT_UNIQUE / Postgres 23505). */
export class DuplicateError extends DatasyncError {
  constructor(
    message: string,
    opts: { code?: ErrorCode; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(opts.code ?? 'DS_DUPLICATE', message, opts);
  }
}

/** A foreign key is violated (SQLite SQLITE_CONSTRAINT_FOREIGNKEY / Postgres 23503). */
export class ForeignKeyError extends DatasyncError {
  constructor(message: string, opts: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super('DS_FOREIGN_KEY', message, opts);
  }
}

export class ConflictError extends DatasyncError {
  constructor(
    message: string,
    opts: { code?: ErrorCode; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(opts.code ?? 'DS_CONFLICT', message, opts);
  }
}

export class ConfigError extends DatasyncError {
  /** One line per problem, each starting with the config path. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super('DS_CONFIG_INVALID', `configuration has ${problems.length} problem(s):\n${problems.join('\n')}`, {
      details: { problems },
    });
    this.problems = problems;
  }
}

export class UsageError extends DatasyncError {
  constructor(message: string) {
    super('DS_USAGE', message);
  }
}

/** The database could not be reached; a job that meets this is retried. */
export class DatabaseUnavailableError extends DatasyncError {
  constructor(message: string, cause?: unknown) {
    super('DS_DB_UNAVAILABLE', message, { cause });
  }
}

/**
 * A job-level failure that retrying cannot fix (bad header, wrong encoding, unknown list). The queue records
 * it as `failed` at once instead of backing off and retrying.
 */
export class UnrecoverableJobError extends DatasyncError {}

/** File-level import failure: always unrecoverable (the same file would fail the same way). */
export class ImportFileError extends UnrecoverableJobError {}

export function isDatasyncError(e: unknown): e is DatasyncError {
  return e instanceof DatasyncError;
}

/** The code and safe message of any thrown value; unknown errors become DS_INTERNAL without their text. */
export function publicError(e: unknown): { code: ErrorCode; message: string } {
  if (e instanceof DatasyncError) return { code: e.code, message: e.message };
  return { code: 'DS_INTERNAL', message: 'internal error' };
}
