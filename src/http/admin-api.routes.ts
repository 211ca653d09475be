/**
 * The operator admin API in one plugin: accounts, fields, lists, groups, recipients, audit log, SFTP users
 * and keys, instances, jobs, export runs for a window, statistics (charts, per-message summary), file uploads
 * into the hosted space, import dry runs on an uploaded file. Registered on the app returned by `buildApp()`:
 *
 *   await app.register(adminApiRoutes, { store, dataDir, spaces, queue, bus, uploadLimits });
 *
 * It adds its own `bearerAuth` hook (its encapsulated scope), so every route needs a token, and the route
 * schemas land in `/api/openapi.json` through the app's `onRoute` collector.
 */
import type { FastifyInstance } from 'fastify';
import { systemClock, type Clock } from '../clock.js';
import type { JobQueue } from '../jobs/index.js';
import type { FileReadyBus, HostedSpaces } from '../spaces/index.js';
import type { Store } from '../store/index.js';
import { adminAccountsRoutes } from './admin-accounts.routes.js';
import { adminDryRunRoutes } from './admin-dry-run.routes.js';
import { adminFilesRoutes } from './admin-files.routes.js';
import { adminExportsRoutes } from './admin-exports.routes.js';
import { adminInstancesRoutes } from './admin-instances.routes.js';
import { adminJobsRoutes } from './admin-jobs.routes.js';
import { adminSftpRoutes } from './admin-sftp.routes.js';
import { adminStatsRoutes } from './admin-stats.routes.js';
import { bearerAuth } from './auth.js';
import type { UploadLimits } from './space-upload.js';

export interface AdminApiOptions {
  store: Store;
  /** The data directory (`config.dataDir`): job files are served only from inside it. */
  dataDir: string;
  /** The hosted spaces (`new HostedSpaces(<dataDir>/spaces)`), to resolve job files named as space paths. */
  spaces: HostedSpaces;
  /** This process's job queue (`JobsRuntime.queue`); without it run / retry / cancel answer 503. */
  queue?: JobQueue;
  /** Default: the system clock. */
  clock?: Clock;
  /**
   * The FileReadyBus the job side listens to: file uploads (`PUT …/files/{folder}/{name}`) emit on it. Without
   * it, or when nothing listens, uploads answer DS_QUEUE_UNAVAILABLE.
   */
  bus?: FileReadyBus;
  /** Upload limits (the SFTP quotas `sftp.maxFileBytes` / `sftp.maxAccountBytes`). Default 2 GiB / 20 GiB. */
  uploadLimits?: UploadLimits;
}

/** The defaults of `sftp.maxFileBytes` and `sftp.maxAccountBytes`. */
export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  maxFileBytes: 2 * 1024 ** 3,
  maxAccountBytes: 20 * 1024 ** 3,
};

export async function adminApiRoutes(app: FastifyInstance, opts: AdminApiOptions): Promise<void> {
  const clock = opts.clock ?? systemClock;
  app.addHook('onRequest', bearerAuth(opts.store.db));
  await app.register(adminAccountsRoutes, { db: opts.store.db });
  await app.register(adminSftpRoutes, { store: opts.store });
  await app.register(adminInstancesRoutes, { store: opts.store, queue: opts.queue, clock });
  await app.register(adminJobsRoutes, {
    store: opts.store,
    dataDir: opts.dataDir,
    spaces: opts.spaces,
    queue: opts.queue,
    clock,
  });
  await app.register(adminExportsRoutes, { store: opts.store, spaces: opts.spaces, clock });
  await app.register(adminStatsRoutes, { store: opts.store, clock });
  await app.register(adminFilesRoutes, {
    store: opts.store,
    spaces: opts.spaces,
    bus: opts.bus,
    limits: opts.uploadLimits ?? DEFAULT_UPLOAD_LIMITS,
  });
  await app.register(adminDryRunRoutes, {
    store: opts.store,
    dataDir: opts.dataDir,
    limits: opts.uploadLimits ?? DEFAULT_UPLOAD_LIMITS,
  });
}
