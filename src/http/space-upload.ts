/**
 * Upload of one file into an account's hosted space over HTTP (the API's `PUT …/files/{folder}/{name}` and the
 * dashboard's files browser): the HTTP equivalent of an SFTP `put`, through the same path, so the import,
 * CSV2SMS or FTPZIP job starts exactly as for an SFTP upload (ARCHITECTURE.md invariant 1):
 *
 * 1. the name is checked by the spaces/ jail (no `..`, no `/`, no control or bidi characters) and must not be
 *    hidden or a temporary upload name;
 * 2. the body is streamed (backpressure: one chunk in memory at a time) through `SpaceFs` into a hidden
 *    temporary name in the same folder (`.<name>.<random>.part`, which fires nothing), hashed on the way;
 * 3. the SFTP quotas apply (`sftp.maxFileBytes`, `sftp.maxAccountBytes`): over them the temporary file is
 *    removed and DS_SFTP_QUOTA (413) is answered;
 * 4. the complete file is renamed into place and one FileReady event is emitted on the bus, which is what the
 *    job side of `datasync serve` listens to.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DatasyncError } from '../errors.js';
import { normalizeSpacePath, spacePathParts, type FileReadyBus, type HostedSpaces } from '../spaces/index.js';

/** The folders files may be uploaded to: what an upload there starts (import, CSV2SMS, FTPZIP). */
export const UPLOAD_FOLDERS = ['import', 'sms', 'import_zip'] as const;
export type UploadFolder = (typeof UPLOAD_FOLDERS)[number];

/** Name suffixes the SFTP server treats as temporary uploads (its default `tempSuffixes`): never final names. */
const TEMP_SUFFIXES = ['.filepart', '.part', '.partial', '.tmp'];

export interface UploadLimits {
  /** Largest file, bytes (`sftp.maxFileBytes`). */
  maxFileBytes: number;
  /** Largest total size of the account's space, bytes (`sftp.maxAccountBytes`); 0 = no limit. */
  maxAccountBytes: number;
}

export interface SpaceUploadDeps {
  spaces: HostedSpaces;
  /** The FileReadyBus the job side listens to. */
  bus: FileReadyBus;
  limits: UploadLimits;
  log?: { info(obj: object, msg: string): void };
  now?: () => Date;
}

export interface SpaceUploadResult {
  path: string;
  size: number;
  sha256: string;
}

function refused(reason: string, name: string): DatasyncError {
  return new DatasyncError('DS_SFTP_PATH_OUTSIDE', 'path is outside the account space or not allowed', {
    details: { reason, name: JSON.stringify(name).slice(0, 300) },
  });
}

/**
 * The space path of an upload, or DS_SFTP_PATH_OUTSIDE (403) for a name that is not one plain file name
 * (`..`, `a/b`, control characters…) and DS_VALIDATION for hidden or temporary names (which no job would see).
 */
export function uploadPath(folder: string, name: string): string {
  if (!(UPLOAD_FOLDERS as readonly string[]).includes(folder))
    throw new DatasyncError(
      'DS_VALIDATION',
      `files can be uploaded to ${UPLOAD_FOLDERS.map((f) => `/${f}`).join(', ')} only`,
    );
  if (name.includes('/') || name === '.' || name === '..' || name === '')
    throw refused('not a single file name', name);
  const p = normalizeSpacePath(`/${folder}/${name}`); // refused characters, over-long names
  const parts = spacePathParts(p);
  if (parts.length !== 2 || parts[0] !== folder) throw refused('not a single file name', name);
  const base = parts[1]!;
  if (base.startsWith('.')) throw new DatasyncError('DS_VALIDATION', 'file names may not start with "."');
  if (TEMP_SUFFIXES.some((s) => base.toLowerCase().endsWith(s)))
    throw new DatasyncError(
      'DS_VALIDATION',
      `"${base}" is a temporary upload name (${TEMP_SUFFIXES.join(', ')}): no job would start on it`,
    );
  return p;
}

function quota(message: string, limit: number): DatasyncError {
  return new DatasyncError('DS_SFTP_QUOTA', message, { details: { limitBytes: limit } });
}

/** DS_SFTP_QUOTA (413) for a file over `sftp.maxFileBytes`. */
export function fileTooBig(maxFileBytes: number): DatasyncError {
  return quota(
    `the file is larger than the upload limit of ${maxFileBytes} bytes (sftp.maxFileBytes)`,
    maxFileBytes,
  );
}

/** Refuse before a byte is read when the declared Content-Length is already over `maxFileBytes` (0 = none). */
export function assertDeclaredSize(declaredBytes: number | undefined, maxFileBytes: number): void {
  if (declaredBytes !== undefined && maxFileBytes > 0 && declaredBytes > maxFileBytes)
    throw fileTooBig(maxFileBytes);
}

/**
 * Stream a request body into `write`, one chunk in memory at a time (the next chunk is read only once this
 * one is written), hashing it on the way. `check(size)` sees the running size before each chunk is written
 * and throws to stop (the quotas); the caller removes what was written.
 */
export async function streamBody(
  body: AsyncIterable<Buffer | string>,
  write: (chunk: Buffer, offset: number) => Promise<unknown>,
  check: (size: number) => void,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const c of body) {
    const chunk = typeof c === 'string' ? Buffer.from(c) : c;
    size += chunk.length;
    check(size);
    hash.update(chunk);
    await write(chunk, size - chunk.length);
  }
  return { size, sha256: hash.digest('hex') };
}

/**
 * Stream `body` into `<folder>/<name>` of the account's space and emit its FileReady event. `declaredBytes`
 * (Content-Length) lets an oversized upload be refused before a byte is written.
 */
export async function uploadToSpace(
  deps: SpaceUploadDeps,
  input: {
    accountId: string;
    folder: string;
    name: string;
    body: AsyncIterable<Buffer | string>;
    declaredBytes?: number;
  },
): Promise<SpaceUploadResult> {
  const target = uploadPath(input.folder, input.name);
  const { maxFileBytes, maxAccountBytes } = deps.limits;
  assertDeclaredSize(input.declaredBytes, maxFileBytes);
  await deps.spaces.ensureAccount(input.accountId);
  const fsys = deps.spaces.fs(input.accountId);
  const used = maxAccountBytes > 0 ? await fsys.usage() : 0;
  const spaceFull = () =>
    quota(
      `the account's space would exceed its quota of ${maxAccountBytes} bytes (sftp.maxAccountBytes)`,
      maxAccountBytes,
    );
  if (maxAccountBytes > 0 && used + (input.declaredBytes ?? 0) > maxAccountBytes) throw spaceFull();

  const parts = spacePathParts(target);
  const temp = `/${parts[0]}/.${parts[1]}.${randomBytes(6).toString('hex')}.part`;
  const file = await fsys.open(temp, { write: true, create: true, exclusive: true });
  let closed = false;
  let written: { size: number; sha256: string };
  try {
    written = await streamBody(
      input.body,
      (chunk, offset) => file.write(chunk, offset),
      (size) => {
        if (maxFileBytes > 0 && size > maxFileBytes) throw fileTooBig(maxFileBytes);
        if (maxAccountBytes > 0 && used + size > maxAccountBytes) throw spaceFull();
      },
    );
    closed = true;
    await file.close();
    // Like SFTP's posix-rename (what `sftp put` and WinSCP do): a file of the same name is replaced.
    await fsys.rename(temp, target, { overwrite: true });
  } catch (e) {
    if (!closed) await file.close().catch(() => {});
    await fsys.remove(temp).catch(() => {}); // a half-written file must never become ready
    throw e;
  }
  const { size, sha256 } = written;
  const event = {
    accountId: input.accountId,
    path: target,
    size,
    sha256,
    at: deps.now?.() ?? new Date(),
  };
  deps.log?.info(
    { event: 'http.file_ready', accountId: input.accountId, path: target, size, sha256: event.sha256 },
    'file ready',
  );
  deps.bus.emit(event);
  return { path: target, size, sha256: event.sha256 };
}
