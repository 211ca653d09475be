/**
 * The job side of `datasync serve`: the durable queue every role sends to, the workers that run imports,
 * exports and CSV2SMS jobs, the scheduler, notifications, and the "file ready" routing of uploads.
 *
 * Flow of an upload: the FileReady event of an SFTP or HTTP upload is handled in the process that received it
 * (upload-routing.ts) — an import file is matched to its instance, moved out of the customer's reach into the
 * work area and recorded as a job; a CSV2SMS or FTPZIP file is recorded as a job — and the job goes into the
 * durable queue. Any worker (this process or another node on the same database) runs it; a worker that dies
 * leaves it to be taken over when its lease runs out, and an import resumes from its checkpoint.
 */
import path from 'node:path';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config/index.js';
import { createEmailTransport } from '../email/index.js';
import { runExport } from '../exports/index.js';
import { runFtpZip, sendScheduledFtpZip } from '../ftpzip/index.js';
import { createTrackingLinks, loadTrackingKey } from '../http/index.js';
import { pollRemoteImport, runHostedImportJob, type ImportSummary } from '../imports/index.js';
import {
  Notifier,
  notifySchema,
  startJobs,
  type JobHandler,
  type JobOutcome,
  type JobsRuntime,
} from '../jobs/index.js';
import type { Logger } from '../logger.js';
import {
  attachDeliveryReports,
  createSmsProvider,
  listDueSmsSendings,
  runCsv2Sms,
  sendScheduledSms,
} from '../sms/index.js';
import type { FileReadyBus, HostedSpaces } from '../spaces/index.js';
import {
  findInstance,
  isPostgresUrl,
  claimDueSending,
  listDueEmailSendings,
  type InstanceKind,
  type JobRecord,
  type Store,
} from '../store/index.js';
import type { Role } from './roles.js';
import { publicUrlOf } from './public-url.js';
import { startUploadRouting } from './upload-routing.js';

export interface JobRolesDeps {
  config: Config;
  store: Store;
  roles: Set<Role>;
  spaces: HostedSpaces;
  bus: FileReadyBus;
  log: Logger;
  clock?: Clock;
}

export interface JobRoles {
  runtime: JobsRuntime;
  stop(): Promise<void>;
}

const importOutcome = (s: ImportSummary): JobOutcome => ({
  status: s.status === 'succeeded' || s.status === 'partial' || s.status === 'skipped' ? s.status : 'failed',
  counters: s.counters as unknown as Record<string, unknown>,
  ...(s.error ? { error: s.error } : {}),
});

/** Start the queue (when any job role, SFTP or HTTP runs), workers and scheduler as the roles say. */
export async function startJobRoles(d: JobRolesDeps): Promise<JobRoles | undefined> {
  const { config, store, roles, spaces, bus, log } = d;
  const clock = d.clock ?? systemClock;
  const isWorker = roles.has('worker');
  // The processes that take uploads (sftp; http when enabled) need the queue even without a worker or scheduler.
  const takesUploads = roles.has('sftp') || (roles.has('http') && config.http.enabled);
  if (!isWorker && !roles.has('scheduler') && !takesUploads) return undefined;
  const stops: Array<() => Promise<void> | void> = [];
  const uploadStops: Array<() => Promise<void> | void> = [];

  // SMS: the provider lives as long as the worker, so delivery reports of earlier sends keep arriving.
  const provider = isWorker
    ? createSmsProvider(config.sms, { dataDir: config.dataDir, logger: log })
    : undefined;
  const dlr = provider ? attachDeliveryReports(store, provider, clock, log) : undefined;
  if (provider) {
    await provider.start();
    stops.push(async () => {
      dlr?.detach();
      await provider.stop();
    });
  }
  const smsDeps = () => ({
    store,
    spaces,
    clock,
    logger: log,
    provider: provider!,
    reports: dlr?.recorder,
  });
  const smsOptions = { maxSegments: config.sms.maxSegments, defaultListId: config.sms.defaultListId };

  // Email (FTPZIP campaigns): one pooled SMTP transport per worker, tracked links signed with the data dir's key.
  const transport = isWorker ? createEmailTransport(config.smtp) : undefined;
  if (transport) stops.push(() => transport.close());
  // FTPZIP jobs mail their record to the archive's NotifyEmail when they end (reference §5.8).
  const ftpzipNotifier = isWorker ? new Notifier({ db: store.db, smtp: config.smtp, clock }) : undefined;
  if (ftpzipNotifier) stops.push(() => ftpzipNotifier.close());
  const ftpzipDeps = () => ({
    store,
    spaces,
    clock,
    logger: log,
    transport: transport!,
    links: createTrackingLinks(publicUrlOf(config), loadTrackingKey(config.dataDir)),
    // EmbeddedImages=false: images stored under <dataDir>/media, served by the HTTP role at /m/….
    media: { dataDir: config.dataDir, publicUrl: publicUrlOf(config) },
    notifier: ftpzipNotifier,
  });
  const ftpzipOptions = {
    limits: {
      maxEntries: config.ftpzip.maxEntries,
      maxTotalBytes: config.ftpzip.maxTotalBytes,
      maxRatio: config.ftpzip.maxRatio,
    },
    maxAttachmentBytes: config.ftpzip.maxAttachmentBytes,
  };

  const handlers: Partial<Record<InstanceKind, JobHandler>> = isWorker
    ? {
        import: async (ctx) => {
          // A run without input polls the instance's remote SFTP server (one child job per file): a scheduled
          // run (trigger `schedule`), or `datasync jobs retry` of one (trigger `cli`, still no input).
          if (ctx.record.inputPath === null && ctx.message.trigger !== 'upload') {
            const r = await pollRemoteImport(
              { store, spaces, logger: log, clock, workDir: path.join(config.dataDir, 'work', 'imports') },
              ctx.message.jobId,
              { signal: ctx.signal },
            );
            return { status: r.status, counters: r.counters, result: r.result };
          }
          return importOutcome(
            await runHostedImportJob(
              { store, spaces, logger: log, clock },
              { jobId: ctx.message.jobId, accountId: ctx.message.accountId },
            ),
          );
        },
        export: async (ctx) => {
          const r = await runExport({
            store,
            spaces,
            instanceId: ctx.message.instanceId ?? '',
            trigger: ctx.message.trigger,
            jobId: ctx.message.jobId,
            clock,
            logger: log,
          });
          return {
            status: r.status,
            counters: { rows: r.rows, unmappableRows: r.unmappableRows, bytes: r.bytes },
            result: { file: r.file ?? null, destination: r.destination ?? null, window: r.window },
          };
        },
        ftpzip: async (ctx) => {
          const s = await runFtpZip({
            ...ftpzipDeps(),
            file: ctx.record.inputPath ?? '',
            accountId: ctx.message.accountId,
            options: { ...ftpzipOptions, jobId: ctx.message.jobId, trigger: ctx.message.trigger },
          });
          return {
            status: s.status === 'queued' ? 'succeeded' : (s.status as JobOutcome['status']),
            counters: s.counters as unknown as Record<string, unknown>,
            ...(s.error ? { error: s.error } : {}),
          };
        },
        csv2sms: async (ctx) => {
          const s = await runCsv2Sms({
            ...smsDeps(),
            file: ctx.record.inputPath ?? '',
            accountId: ctx.message.accountId,
            options: { ...smsOptions, jobId: ctx.message.jobId, trigger: ctx.message.trigger },
          });
          return {
            status: s.status === 'queued' ? 'succeeded' : (s.status as JobOutcome['status']),
            counters: s.counters as unknown as Record<string, unknown>,
            ...(s.error ? { error: s.error } : {}),
          };
        },
      }
    : {};

  const runtime = await startJobs({
    store,
    databaseUrl: isPostgresUrl(config.database) ? config.database : undefined,
    roles: { worker: isWorker, scheduler: roles.has('scheduler') },
    handlers,
    importConcurrency: config.jobs.importConcurrency,
    shutdownTimeoutSeconds: config.jobs.shutdownTimeoutSeconds,
    leaseSeconds: config.jobs.leaseSeconds,
    clock,
    log,
  });

  // Notifications: per instance, from its `notify:` block, when one of its jobs ends.
  if (runtime.workers) {
    const notifier = new Notifier({ db: store.db, smtp: config.smtp, clock });
    const onEnded = (record: JobRecord) => {
      void (async () => {
        if (!record.instanceId) return;
        const inst = await findInstance(store.db, record.instanceId);
        const spec = notifySchema.safeParse((inst?.definition as { notify?: unknown } | undefined)?.notify);
        if (inst && spec.success && (inst.definition as { notify?: unknown }).notify !== undefined)
          await notifier.notify(record, spec.data, (record.result?.rejected as never) ?? []);
      })().catch((err: unknown) => log.error({ err, jobId: record.id }, 'notification failed'));
    };
    runtime.workers.on('ended', onEnded);
    stops.push(() => notifier.close());
  }

  // Scheduled sends (CSV2SMS header row 2, FTPZIP ScheduleDateTime in the future): checked every 30 s by workers.
  if (isWorker && provider) {
    const timer = setInterval(() => {
      void (async () => {
        // Every worker polls; claimDueSending lets exactly one of them start each due sending.
        for (const s of await listDueSmsSendings(store.db, clock.now())) {
          const jobId = (s.counters as { jobId?: string } | null)?.jobId;
          if (!jobId || !(await claimDueSending(store.db, s.id, 'scheduled', 'sending', clock.now())))
            continue;
          // One failing send must not hold back the other due sendings.
          await sendScheduledSms({ ...smsDeps(), jobId, options: smsOptions }).catch((err: unknown) =>
            log.error({ err, jobId }, 'scheduled SMS send failed'),
          );
        }
        for (const s of await listDueEmailSendings(store.db, clock.now())) {
          const jobId = (s.counters as { jobId?: string } | null)?.jobId;
          if (!jobId || !(await claimDueSending(store.db, s.id, 'queued', 'running', clock.now()))) continue;
          await sendScheduledFtpZip({ ...ftpzipDeps(), jobId, options: ftpzipOptions }).catch(
            (err: unknown) => log.error({ err, jobId }, 'scheduled email send failed'),
          );
        }
      })().catch((err: unknown) => log.error({ err }, 'scheduled send failed'));
    }, 30_000);
    timer.unref();
    stops.push(() => clearInterval(timer));
  }

  // Uploads: route FileReady events into the durable queue, in every process that takes uploads (SFTP puts, and
  // the HTTP API's and dashboard's uploads), so an HTTP node needs no SFTP role for its uploads to run.
  if (takesUploads) {
    const routing = startUploadRouting({
      config,
      store,
      spaces,
      bus,
      queue: runtime.queue,
      wake: () => runtime.workers?.wake(),
      log,
      clock,
    });
    uploadStops.push(() => routing.stop());
  }

  let stopping: Promise<void> | undefined;
  return {
    runtime,
    stop: () =>
      (stopping ??= (async () => {
        // Stop taking uploads first, then the scheduler and the workers (drain), then providers and notifiers.
        for (const s of uploadStops.reverse()) await s();
        await runtime.stop();
        for (const s of stops.reverse()) await s();
      })()),
  };
}
