/** jobs list | show | retry | cancel: every job's record (INTERFACES.md "Jobs"). */
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import { NotFoundError, UsageError } from '../errors.js';
import type { JobQueue } from '../jobs/index.js';
import { findJob, listJobs, JOB_STATUSES, type JobStatus, type Store } from '../store/index.js';
import { systemClock } from '../clock.js';
import { withStore, type GlobalOptions } from './context.js';
import { intArg, printJson, printList } from './output.js';

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const jobsModule = () => import('../jobs/index.js');

export function registerJobCommands(program: Command, globals: () => GlobalOptions): void {
  const jobs = program.command('jobs').description('job records of imports, exports, CSV2SMS and FTPZIP');
  jobs
    .command('list')
    .option('--account <id>', 'only this account')
    .option('--instance <id>', 'only this instance')
    .option('--status <status>', `only this status: ${JOB_STATUSES.join(', ')}`)
    .option('--limit <n>', 'page size (max 500)', '50')
    .option('--before <jobId>', 'jobs older than this one (next page)')
    .option('--json', 'JSON output')
    .action(
      async (o: {
        account?: string;
        instance?: string;
        status?: string;
        limit: string;
        before?: string;
        json?: boolean;
      }) => {
        if (o.status && !JOB_STATUSES.includes(o.status as JobStatus))
          throw new UsageError(`--status must be one of ${JOB_STATUSES.join(', ')}`);
        await withStore(globals(), async ({ db }) => {
          const rows = await listJobs(db, {
            accountId: o.account,
            instanceId: o.instance,
            status: o.status as JobStatus | undefined,
            limit: intArg('--limit', o.limit),
            beforeId: o.before,
          });
          printList(
            o.json
              ? (rows as never)
              : rows.map((j) => ({ ...j, error: j.error ? `${j.error.code}: ${j.error.message}` : '' })),
            [
              'id',
              'accountId',
              'instanceId',
              'kind',
              'trigger',
              'status',
              'inputName',
              'createdAt',
              'endedAt',
              'error',
            ],
            o.json,
          );
        });
      },
    );
  jobs
    .command('show <jobId>')
    .description('one job with its counters, error and result files')
    .action(async (id: string) =>
      withStore(globals(), async ({ db }) => {
        const j = await findJob(db, id);
        if (!j) throw new NotFoundError(`job ${id} does not exist`, { code: 'DS_JOB_NOT_FOUND' });
        printJson(j);
      }),
    );
  const queueAction = (
    name: 'retry' | 'cancel',
    description: string,
    act: (
      m: Awaited<ReturnType<typeof jobsModule>>,
      store: Store,
      config: Config,
      queue: JobQueue,
      id: string,
      json: boolean,
    ) => Promise<void>,
  ) =>
    jobs
      .command(`${name} <jobId>`)
      .description(description)
      .option('--json', 'JSON output')
      .action(async (id: string, o: { json?: boolean }) =>
        withStore(globals(), async (store, config) => {
          const m = await jobsModule();
          // A short-lived queue handle: the running server's workers pick the change up.
          const queue = m.openJobQueue(store, {
            databaseUrl: config.database,
            supervise: false,
            leaseSeconds: config.jobs.leaseSeconds,
            clock: systemClock,
          });
          await queue.start();
          try {
            await act(m, store, config, queue, id, o.json === true);
          } finally {
            await queue.stop();
          }
        }),
      );
  queueAction(
    'retry',
    'run a failed or cancelled job again, as a new job with the same input (a file is taken back from done/ or failed/; a stopped CSV2SMS or FTPZIP send is resumed)',
    async (m, store, config, queue, id, json) => {
      const { HostedSpaces } = await import('../spaces/index.js');
      const r = await m.retryJobWithReport(store.db, queue, id, systemClock.now(), {
        files: { dataDir: config.dataDir, spaces: new HostedSpaces(path.join(config.dataDir, 'spaces')) },
      });
      if (json)
        return printJson({
          ...r.job,
          retryOf: r.retryOf,
          inputCopiedFrom: r.input?.from ?? null,
          resumesSending: r.resumesSending,
        });
      console.log(`queued job ${r.job.id} (retry of ${id})`);
      const name = r.job.inputName ?? (r.input ? path.basename(r.input.to) : '');
      if (r.input)
        console.log(
          `input ${name} copied from ${r.input.from} into the work area; ` +
            `the results of the new run will be in done/ or failed/ as ${r.job.id}_${name}`,
        );
      if (r.resumesSending !== null)
        console.log(
          `the new job resumes the stopped sending ${r.resumesSending}: recipients who already got the ` +
            `message are not sent it again; its results will be in done/ as ${r.job.id}_${name}`,
        );
    },
  );
  queueAction(
    'cancel',
    'cancel a queued or running job (a running one stops at its next heartbeat)',
    async (m, store, _config, queue, id, json) => {
      const j = await m.cancelJob(store.db, queue, id);
      if (json) printJson(j);
      else console.log(`job ${id} cancelled`);
    },
  );
}
