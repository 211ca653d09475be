/**
 * Admin API for job records: list with filters (keyset on the time-sortable id, newest first), detail with
 * counters and the first rejected rows, downloads of the input / result / rejected files, retry and cancel.
 *
 * Downloads: a job's paths are written by datasync itself, either as a space path of the job's account
 * (`/import/done/<jobId>_<name>`, after the hosted flow finalised the job) or as a disk path (the work area,
 * a CLI import). Only files inside the data directory are served — a CLI import of `/home/me/x.csv` is
 * refused — and symlinks are resolved before that check, so a link planted in a space cannot point out.
 * Another account's job is "not found" for an account token (invariant 7: ids do not leak).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Clock } from '../clock.js';
import { DatasyncError, NotFoundError } from '../errors.js';
import { cancelJob, retryJob, type JobQueue } from '../jobs/index.js';
import type { HostedSpaces } from '../spaces/index.js';
import {
  findJob,
  INSTANCE_KINDS,
  JOB_STATUSES,
  listJobs,
  type JobRecord,
  type Store,
} from '../store/index.js';
import { audit, limitSchema, pageOf, toPage } from './admin-common.js';
import { principalAccount } from './auth.js';
import type { ZodTypeProvider } from './openapi.js';

export const JOB_FILES = ['input', 'result', 'rejected'] as const;
export type JobFileKind = (typeof JOB_FILES)[number];

const rejectionOut = z.object({ line: z.number().int(), code: z.string(), reason: z.string() });
const jobOut = z.object({
  id: z.string(),
  accountId: z.string(),
  instanceId: z.string().nullable(),
  kind: z.enum(INSTANCE_KINDS),
  trigger: z.string(),
  status: z.enum(JOB_STATUSES),
  inputName: z.string().nullable(),
  inputSize: z.number().nullable(),
  inputSha256: z.string().nullable(),
  counters: z.record(z.string(), z.unknown()).nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  attempts: z.number().int(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  /** Which files the job names (they may since have been removed by retention). */
  files: z.object({ input: z.boolean(), result: z.boolean(), rejected: z.boolean() }),
});
const jobDetailOut = jobOut.extend({
  result: z.record(z.string(), z.unknown()).nullable(),
  /** The first rejected rows (every one is in the rejected file). */
  rejected: z.array(rejectionOut),
});
const jobParams = z.object({ jobId: z.string().regex(/^[0-9a-z]{6,40}$/, 'not a job id') });
const tags = ['jobs'];

/** The path a job names for one of its files (space path or disk path), or null. */
export function jobFilePath(job: JobRecord, which: JobFileKind): string | null {
  const r = (job.result ?? {}) as Record<string, unknown>;
  const files = (r.resultFiles ?? {}) as Record<string, unknown>;
  const str = (...vs: unknown[]) =>
    (vs.find((v) => typeof v === 'string' && v) as string | undefined) ?? null;
  if (which === 'input') return str(files.input, job.inputPath);
  if (which === 'result') return str(files.result, r.resultPath);
  return str(files.rejected, r.rejectedFile, r.rejectedPath);
}

const jobJson = (j: JobRecord): z.input<typeof jobOut> => ({
  id: j.id,
  accountId: j.accountId,
  instanceId: j.instanceId,
  kind: j.kind,
  trigger: j.trigger,
  status: j.status,
  inputName: j.inputName,
  inputSize: j.inputSize,
  inputSha256: j.inputSha256,
  counters: j.counters,
  error: j.error,
  attempts: j.attempts,
  createdAt: j.createdAt,
  startedAt: j.startedAt,
  endedAt: j.endedAt,
  files: {
    input: jobFilePath(j, 'input') !== null,
    result: jobFilePath(j, 'result') !== null,
    rejected: jobFilePath(j, 'rejected') !== null,
  },
});

function rejectedSample(j: JobRecord): z.input<typeof rejectionOut>[] {
  const rows = (j.result as { rejected?: unknown } | null)?.rejected;
  if (!Array.isArray(rows)) return [];
  return rows
    .filter((x): x is { line: number; code: string; reason: string } => typeof x?.line === 'number')
    .map((x) => ({ line: x.line, code: String(x.code), reason: String(x.reason) }));
}

const inside = (root: string, p: string) => p === root || p.startsWith(root + path.sep);

/**
 * The disk file of one of a job's files, only when it resolves (symlinks followed) inside the data directory.
 * Throws DS_DOWNLOAD_GONE when the job names no such file or it is no longer there, DS_DOWNLOAD_REFUSED when
 * it lies outside the data directory.
 */
export async function resolveJobFile(
  o: { dataDir: string; spaces: HostedSpaces },
  job: JobRecord,
  which: JobFileKind,
): Promise<string> {
  const p = jobFilePath(job, which);
  if (!p) throw new DatasyncError('DS_DOWNLOAD_GONE', `the job has no ${which} file`);
  const dataRoot = path.resolve(o.dataDir);
  const candidates: string[] = [];
  if (path.isAbsolute(p) && inside(dataRoot, path.resolve(p))) candidates.push(path.resolve(p));
  try {
    candidates.push(await o.spaces.resolveOnDisk(job.accountId, p));
  } catch {
    // not a valid space path of the account (or a symlink in it): only the disk reading remains
  }
  let realRoot: string;
  try {
    realRoot = await fs.promises.realpath(dataRoot);
  } catch {
    realRoot = dataRoot;
  }
  for (const c of candidates) {
    let real: string;
    try {
      real = await fs.promises.realpath(c);
    } catch {
      continue;
    }
    if (!inside(realRoot, real))
      throw new DatasyncError('DS_DOWNLOAD_REFUSED', 'the file is outside the data directory');
    if ((await fs.promises.stat(real)).isFile()) return real;
  }
  if (path.isAbsolute(p) && !inside(dataRoot, path.resolve(p)) && fs.existsSync(p))
    throw new DatasyncError('DS_DOWNLOAD_REFUSED', 'the file is outside the data directory');
  throw new DatasyncError('DS_DOWNLOAD_GONE', 'the file is no longer stored');
}

/** Send a job file as an attachment (content type from its name; never sniffed by the browser). */
export function sendJobFile(reply: FastifyReply, disk: string): FastifyReply {
  const name = path.basename(disk).replace(/[^\w.-]/g, '_');
  const type = name.endsWith('.json')
    ? 'application/json'
    : name.endsWith('.csv')
      ? 'text/csv'
      : 'application/octet-stream';
  return reply
    .type(type)
    .header('content-disposition', `attachment; filename="${name}"`)
    .header('x-content-type-options', 'nosniff')
    .send(fs.createReadStream(disk));
}

export interface AdminJobsRoutesOptions {
  store: Store;
  /** The data directory: nothing outside it is ever served. */
  dataDir: string;
  spaces: HostedSpaces;
  /** The job queue of this process; without it retry answers DS_QUEUE_UNAVAILABLE. */
  queue?: JobQueue;
  clock: Clock;
}

export async function adminJobsRoutes(fastify: FastifyInstance, opts: AdminJobsRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { store, clock } = opts;
  const { db } = store;

  async function jobOf(req: FastifyRequest, id: string): Promise<JobRecord> {
    const job = await findJob(db, id);
    const own = principalAccount(req);
    if (!job || (own !== undefined && job.accountId !== own))
      throw new NotFoundError(`job ${id} does not exist`, { code: 'DS_JOB_NOT_FOUND' });
    return job;
  }

  app.get(
    '/api/v1/jobs',
    {
      schema: {
        querystring: z.object({
          limit: limitSchema,
          before: z.string().max(40).optional().describe('cursor: job id'),
          accountId: z.string().optional().describe('an account token sees only its own account'),
          instanceId: z.string().optional(),
          status: z.enum(JOB_STATUSES).optional(),
          kind: z.enum(INSTANCE_KINDS).optional(),
        }),
        response: { 200: pageOf(jobOut) },
      },
      config: { openapi: { summary: 'Job records, newest first, with filters', tags } },
    },
    async (req) => {
      const q = req.query;
      const own = principalAccount(req);
      if (own !== undefined && q.accountId !== undefined && q.accountId !== own)
        throw new DatasyncError('DS_FORBIDDEN', 'the token does not give access to this account');
      const rows = await listJobs(db, {
        accountId: own ?? q.accountId,
        instanceId: q.instanceId,
        status: q.status,
        kind: q.kind,
        beforeId: q.before,
        limit: q.limit + 1,
      });
      const page = toPage(rows, q.limit, (j) => j.id);
      return { items: page.items.map(jobJson), next: page.next };
    },
  );
  app.get(
    '/api/v1/jobs/:jobId',
    {
      schema: { params: jobParams, response: { 200: jobDetailOut } },
      config: { openapi: { summary: 'One job: counters, error, result and the first rejected rows', tags } },
    },
    async (req) => {
      const j = await jobOf(req, req.params.jobId);
      return { ...jobJson(j), result: j.result, rejected: rejectedSample(j) };
    },
  );
  app.get(
    '/api/v1/jobs/:jobId/files/:file',
    {
      schema: { params: jobParams.extend({ file: z.enum(JOB_FILES) }) },
      config: {
        openapi: {
          summary: 'Download the input, result (JSON) or rejected-rows (CSV) file of a job',
          tags,
        },
      },
    },
    async (req, reply) => {
      const j = await jobOf(req, req.params.jobId);
      return sendJobFile(reply, await resolveJobFile(opts, j, req.params.file));
    },
  );
  for (const action of ['retry', 'cancel'] as const)
    app.post(
      `/api/v1/jobs/:jobId/${action}`,
      {
        schema: { params: jobParams, response: { 200: jobOut } },
        config: {
          openapi: {
            summary:
              action === 'retry'
                ? 'Run a failed or cancelled job again (a new job with the same input)'
                : 'Cancel a queued or running job',
            tags,
          },
        },
      },
      async (req) => {
        const j = await jobOf(req, req.params.jobId);
        if (!opts.queue)
          throw new DatasyncError(
            'DS_QUEUE_UNAVAILABLE',
            `this server runs no job queue; use \`datasync jobs ${action}\``,
          );
        const out =
          action === 'retry'
            ? await retryJob(db, opts.queue, j.id, clock.now(), {
                files: { dataDir: opts.dataDir, spaces: opts.spaces },
              })
            : await cancelJob(db, opts.queue, j.id, clock.now());
        await audit(
          db,
          req,
          {
            accountId: j.accountId,
            action: `job.${action}`,
            target: j.id,
            details: action === 'retry' ? { newJobId: out.id } : null,
          },
          clock.now(),
        );
        return jobJson(out);
      },
    );
}
