/** `datasync export run INSTANCE_ID [--from T --to T]`: one export run now (INTERFACES.md "CLI"). */
import path from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../clock.js';
import { createLogger } from '../logger.js';
import { HostedSpaces } from '../spaces/index.js';
import { withStore, type GlobalOptions } from './context.js';
import { printJson } from './output.js';

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const exportsModule = () => import('../exports/index.js');

export function registerExportCommands(program: Command, globals: () => GlobalOptions): void {
  const exp = program
    .command('export')
    .description('export instances: unsubscribers, statistics, SMS, subscribers');
  exp
    .command('run <instanceId>')
    .description(
      'run an export instance now; with --from/--to, a one-off window (ISO-8601) that does not move the watermark',
    )
    .option('--from <time>', 'window start, inclusive (ISO-8601, e.g. 2026-03-01T00:00:00+01:00)')
    .option('--to <time>', 'window end, exclusive (default: now)')
    .option('--json', 'print the run result as JSON')
    .action(async (instanceId: string, o: { from?: string; to?: string; json?: boolean }) =>
      withStore(globals(), async (store, config) => {
        // Logs go to stderr: stdout carries the result (and --json stays parseable).
        const logger = createLogger(config.log.level === 'info' ? 'warn' : config.log.level, process.stderr);
        const r = await (
          await exportsModule()
        ).runExport({
          store,
          spaces: new HostedSpaces(path.join(config.dataDir, 'spaces')),
          instanceId,
          trigger: 'cli',
          window: o.from !== undefined || o.to !== undefined ? { from: o.from, to: o.to } : undefined,
          clock: systemClock,
          logger,
        });
        const summary = {
          jobId: r.job.id,
          status: r.status,
          file: r.file ?? null,
          destination: r.destination ?? null,
          rows: r.rows,
          unmappableRows: r.unmappableRows,
          bytes: r.bytes,
          window: { from: r.window.from, to: r.window.to, mode: r.window.mode },
        };
        if (o.json) printJson(summary);
        else
          process.stdout.write(
            r.status === 'skipped'
              ? `export ${instanceId}: empty window, no file (job ${r.job.id})\n`
              : `export ${instanceId}: ${r.rows} row(s) → ${r.destination}/${r.file} (job ${r.job.id})\n`,
          );
      }),
    );
}
