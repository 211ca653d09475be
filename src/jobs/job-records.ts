/**
 * The bridge between queue messages and job records (the `jobs` table the CLI, API and dashboard show).
 * A queue message carries only ids (CONVENTIONS #12): `{ jobId, accountId, instanceId, kind, trigger }`.
 * Imports are sent in the account's group, so one account's imports run one at a time (reference §2.10
 * item 7) while other accounts' imports run in parallel.
 */
import type { Kysely } from 'kysely';
import { DuplicateError, publicError } from '../errors.js';
import {
  findJob,
  insertJob,
  newJobId,
  updateJob,
  type Database,
  type InstanceKind,
  type JobRecord,
  type JobTrigger,
} from '../store/index.js';
import type { JobQueue, SendOptions } from './job-queue.js';

/** The queue message of a datasync job. */
export interface JobMessage {
  [key: string]: unknown;
  jobId: string;
  accountId: string;
  instanceId: string | null;
  kind: InstanceKind;
  trigger: JobTrigger;
  inputName?: string | null;
  inputPath?: string | null;
  inputSha256?: string | null;
  inputSize?: number | null;
}

/** Queue name of a job kind: one queue per kind, so concurrency is per kind. */
export const queueOf = (kind: InstanceKind): string => `datasync.${kind}`;

export interface EnqueueInput {
  /** The job id; default a new one (a retry picks it first, to name the work folder of its input). */
  id?: string;
  accountId: string;
  instanceId?: string | null;
  kind: InstanceKind;
  trigger: JobTrigger;
  inputName?: string | null;
  inputPath?: string | null;
  inputSha256?: string | null;
  inputSize?: number | null;
}

function sendOptionsFor(kind: InstanceKind, accountId: string, extra: SendOptions = {}): SendOptions {
  return { ...(kind === 'import' ? { group: `account:${accountId}` } : {}), ...extra };
}

/** Creates a `queued` job record and its queue message. A failed send leaves the record `failed`, never silent. */
export async function enqueueJob(
  db: Kysely<Database>,
  queue: JobQueue,
  input: EnqueueInput,
  opts: SendOptions = {},
  at = new Date(),
): Promise<JobRecord> {
  const record = await insertJob(db, { ...input, status: 'queued' }, at);
  await sendJobMessage(db, queue, record, opts, at);
  return record;
}

/**
 * Sends the queue message of a `queued` record already written (by {@link enqueueJob}, or by a caller that
 * had more to write in the same transaction, as `jobs retry` resuming a send). A failed send leaves the
 * record `failed`.
 */
export async function sendJobMessage(
  db: Kysely<Database>,
  queue: JobQueue,
  record: JobRecord,
  opts: SendOptions = {},
  at = new Date(),
): Promise<void> {
  const msg: JobMessage = {
    jobId: record.id,
    accountId: record.accountId,
    instanceId: record.instanceId,
    kind: record.kind,
    trigger: record.trigger,
  };
  try {
    await queue.send(queueOf(record.kind), msg, sendOptionsFor(record.kind, record.accountId, opts));
  } catch (e) {
    const err = publicError(e);
    await updateJob(db, record.id, {
      status: 'failed',
      error_code: err.code,
      error_message: `could not queue the job: ${err.message}`,
      ended_at: at.toISOString(),
    });
    throw e;
  }
}

/**
 * Enqueues a scheduled run exactly once across any number of schedulers: the queue's dedupe key is the
 * instance and the slot, and the job record is written only by the scheduler whose send won. Returns the
 * job id, or null when another scheduler already fired this slot.
 */
export async function enqueueScheduledRun(
  db: Kysely<Database>,
  queue: JobQueue,
  input: { accountId: string; instanceId: string; kind: InstanceKind; slot: Date },
  at = new Date(),
): Promise<string | null> {
  const jobId = newJobId(at);
  const msg: JobMessage = {
    jobId,
    accountId: input.accountId,
    instanceId: input.instanceId,
    kind: input.kind,
    trigger: 'schedule',
  };
  const sent = await queue.send(
    queueOf(input.kind),
    msg,
    sendOptionsFor(input.kind, input.accountId, {
      dedupeKey: `schedule:${input.instanceId}:${input.slot.toISOString()}`,
    }),
  );
  if (sent === null) return null;
  await ensureJobRecord(db, msg, at);
  return jobId;
}

/** The job record of a message, created when missing (a scheduler that died between send and insert). */
export async function ensureJobRecord(
  db: Kysely<Database>,
  msg: JobMessage,
  at = new Date(),
): Promise<JobRecord> {
  const existing = await findJob(db, msg.jobId);
  if (existing) return existing;
  try {
    return await insertJob(
      db,
      {
        id: msg.jobId,
        accountId: msg.accountId,
        instanceId: msg.instanceId,
        kind: msg.kind,
        trigger: msg.trigger,
        inputName: msg.inputName ?? null,
        inputPath: msg.inputPath ?? null,
        inputSha256: msg.inputSha256 ?? null,
        inputSize: msg.inputSize ?? null,
      },
      at,
    );
  } catch (e) {
    if (e instanceof DuplicateError) return (await findJob(db, msg.jobId))!;
    throw e;
  }
}
