/**
 * jobs/ — durable job queue, workers, scheduler and notifications. Map of concerns:
 * - `job-queue.ts`: the `JobQueue` port; `table-queue.ts` (SQLite, embedded) and `pg-boss-queue.ts`
 *   (PostgreSQL) implement it; `open-queue.ts` picks one from the store's dialect;
 * - `job-records.ts`: queue messages ↔ job records (`enqueueJob`, `enqueueScheduledRun`);
 * - `job-workers.ts`: per-kind concurrency, heartbeats, retryable vs unrecoverable, graceful drain;
 * - `schedule.ts` + `scheduler.ts`: cron with IANA zones (croner), exactly-once slots, catch-up policy;
 * - `notifications.ts`: email (nodemailer) and signed webhooks with a delivery log;
 * - `jobs-runtime.ts`: what `datasync serve` starts and stops; `job-retry.ts`: `jobs retry` (input files back);
 * - `file-job.ts`: the start of a CSV2SMS or FTPZIP job (record, resume of a kept plan, input taken and read).
 */
export * from './job-queue.js';
export { TableJobQueue } from './table-queue.js';
export { PgBossJobQueue, dedupeUuid, type PgBossQueueOptions } from './pg-boss-queue.js';
export { openJobQueue, type OpenJobQueueOptions } from './open-queue.js';
export {
  enqueueJob,
  enqueueScheduledRun,
  ensureJobRecord,
  queueOf,
  type EnqueueInput,
  type JobMessage,
} from './job-records.js';
export {
  JobWorkers,
  waitForJob,
  type JobContext,
  type JobHandler,
  type JobOutcome,
  type JobWorkersOptions,
} from './job-workers.js';
export {
  CATCH_UP_POLICIES,
  nextRunTimes,
  runTimesBetween,
  scheduleSchema,
  type CatchUpPolicy,
  type ScheduleSpec,
} from './schedule.js';
export {
  Scheduler,
  nextRunsOf,
  type FiredRun,
  type ScheduledInstance,
  type SchedulerOptions,
} from './scheduler.js';
export {
  Notifier,
  describeJob,
  listDeliveries,
  notifySchema,
  signBody,
  type NotifySpec,
  type SmtpSettings,
} from './notifications.js';
export {
  startJobs,
  startMarkTimer,
  scheduledInstancesFromStore,
  cancelJob,
  type JobsRuntime,
  type StartJobsOptions,
} from './jobs-runtime.js';
export {
  readFileJobInput,
  startFileJob,
  takeFileJobInput,
  type FileJobLocation,
  type FileJobRun,
  type FileJobSpaces,
  type ResumedFileJob,
  type StartedFileJob,
} from './file-job.js';
export {
  retryJob,
  retryJobWithReport,
  type RetryFiles,
  type RetryOptions,
  type RetryReport,
} from './job-retry.js';
