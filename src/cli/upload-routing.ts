/**
 * "File ready" routing of `datasync serve`: turns each FileReady event into a durable job, in the process that
 * received the upload. Runs in every process that takes uploads — the `sftp` role (SFTP puts) and the `http`
 * role (the API's `PUT …/files/{folder}/{name}` and the dashboard's upload, which emit on the same in-process
 * bus) — so an HTTP upload needs no SFTP server in its process, only the shared store, data directory and queue.
 *
 * - An import file is matched to its instance, recorded as a job, moved out of the customer's reach into the
 *   work area (invariant 2) and sent to the queue (startHostedImports with a queue runner);
 * - a file directly in `/sms` (CSV2SMS) or `/import_zip` (FTPZIP) is recorded and queued as is: its job takes
 *   the file when it runs.
 *
 * Any worker (this process or another on the same database) runs the job. Nothing here needs the worker role.
 */
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config/index.js';
import { startHostedImports, type ImportRunner } from '../imports/index.js';
import { enqueueJob, queueOf, type JobQueue } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import type { FileReady, FileReadyBus, HostedSpaces } from '../spaces/index.js';
import type { Store } from '../store/index.js';

export interface UploadRoutingDeps {
  config: Config;
  store: Store;
  spaces: HostedSpaces;
  /** The bus the SFTP server and the HTTP upload routes of this process emit on. */
  bus: FileReadyBus;
  /** The durable queue every process of the deployment shares. */
  queue: JobQueue;
  /** Nudge this process's workers, when it runs any (a worker elsewhere finds the job on its next poll). */
  wake: () => void;
  log: Logger;
  clock: Clock;
}

export interface UploadRouting {
  /** Stop listening to the bus and wait for the events being handled. Idempotent. */
  stop(): Promise<void>;
}

export function startUploadRouting(d: UploadRoutingDeps): UploadRouting {
  const { config, store, spaces, bus, queue, wake, log, clock } = d;
  const queueRunner: ImportRunner = {
    async enqueue(ref) {
      const job = {
        jobId: ref.jobId,
        accountId: ref.accountId,
        kind: 'import' as const,
        trigger: 'upload' as const,
      };
      // The dedupe key makes re-sending after a restart (recovery of the work area) harmless, also when
      // several upload-taking processes (sftp and http nodes) recover the same work area.
      await queue.send(
        queueOf('import'),
        { ...job, instanceId: null },
        { group: `account:${ref.accountId}`, dedupeKey: `import:${ref.jobId}` },
      );
      wake();
    },
    idle: async () => {},
    stop: async () => {},
  };
  const hosted = startHostedImports({
    store,
    spaces,
    bus,
    workDir: path.join(config.dataDir, 'work', 'imports'),
    logger: log,
    runner: queueRunner,
    clock,
  });
  const off = bus.on((e: FileReady) => {
    // CSV2SMS: a file directly in /sms; FTPZIP: a file directly in /import_zip (result files in done/ and
    // failed/ below them are written by jobs, not uploaded).
    const folder = path.posix.dirname(e.path);
    const kind = folder === '/sms' ? 'csv2sms' : folder === '/import_zip' ? 'ftpzip' : null;
    if (!kind) return;
    return enqueueJob(store.db, queue, {
      accountId: e.accountId,
      kind,
      trigger: 'upload',
      inputName: path.posix.basename(e.path),
      inputPath: e.path,
      inputSha256: e.sha256,
      inputSize: e.size,
    })
      .then(() => wake())
      .catch((err: unknown) => log.error({ err, path: e.path }, `${kind} file could not be queued`));
  });

  let stopping: Promise<void> | undefined;
  return {
    // Reverse order of start: the CSV2SMS/FTPZIP listener, then the import listener (waits for its events).
    stop: () =>
      (stopping ??= (async () => {
        off();
        await hosted.stop();
      })()),
  };
}
