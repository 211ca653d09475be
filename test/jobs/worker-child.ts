/**
 * Child process of the multi-process tests (test/jobs/multi-process.test.ts): one datasync node over a shared
 * database and data directory. Configured by environment:
 * - DS_CHILD_DATABASE, DS_CHILD_DATA_DIR: the store (public schema of a per-test PostgreSQL database, so
 *   pg-boss lives in its default `pgboss` schema there) and the data dir shared by every node;
 * - DS_CHILD_MODE=roles: `startJobRoles` with the worker role — exactly what `datasync worker` starts;
 * - DS_CHILD_MODE=schedule: `startJobs` (scheduler and/or worker, DS_CHILD_ROLES=scheduler,worker) with a
 *   handler that only appends `<jobId> <pid>` to DS_CHILD_RUNS, and a fast clock (below).
 *
 * Fast clock (schedule mode; test-only): reads DS_CLOCK_T0 until the parent writes `GO <epochMs>` on stdin,
 * then T0 + (now - epochMs) × DS_CLOCK_SPEED, capped at DS_CLOCK_END. Every node gets the same epoch, so all
 * clocks agree; the cap makes the end of the test window final (no slot can fire after it). When its clock
 * reaches the end a scheduler node runs one more full tick and prints `END`.
 *
 * Prints `READY <workerId>` once started; stops gracefully on SIGTERM.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { Clock } from '../../src/clock.js';
import { configSchema } from '../../src/config/index.js';
import { startJobs } from '../../src/jobs/index.js';
import { createLogger } from '../../src/logger.js';
import { FileReadyBus, HostedSpaces } from '../../src/spaces/index.js';
import { openStore } from '../../src/store/index.js';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const database = env('DS_CHILD_DATABASE');
const dataDir = env('DS_CHILD_DATA_DIR');
const mode = env('DS_CHILD_MODE');
const log = createLogger(process.env.DS_CHILD_LOG ?? 'warn', process.stderr);
const store = await openStore({ database, dataDir, migrate: false });

let stop: () => Promise<void>;
let workerId: string;
if (mode === 'roles') {
  // Loaded only here: the schedule mode needs none of the capabilities job-roles wires in.
  const { startJobRoles } = await import('../../src/cli/job-roles.js');
  const config = configSchema.parse({ database, dataDir, demo: false });
  const roles = await startJobRoles({
    config,
    store,
    roles: new Set(['worker']),
    spaces: new HostedSpaces(path.join(dataDir, 'spaces')),
    bus: new FileReadyBus(),
    log,
  });
  workerId = roles!.runtime.workers!.workerId;
  stop = () => roles!.stop();
} else {
  const t0 = new Date(env('DS_CLOCK_T0')).getTime();
  const end = new Date(env('DS_CLOCK_END')).getTime();
  const speed = Number(env('DS_CLOCK_SPEED'));
  let go: number | null = null;
  const clock: Clock = {
    now: () => new Date(go === null ? t0 : Math.min(end, t0 + (Date.now() - go) * speed)),
  };
  const roles = env('DS_CHILD_ROLES').split(',');
  const runs = env('DS_CHILD_RUNS');
  const runtime = await startJobs({
    store,
    databaseUrl: database,
    roles: { worker: roles.includes('worker'), scheduler: roles.includes('scheduler') },
    handlers: {
      export: async (ctx) => {
        // O_APPEND: one short line per write, whole, whatever the number of writers.
        fs.appendFileSync(runs, `${ctx.message.jobId} ${process.pid}\n`);
        return { status: 'succeeded' };
      },
    },
    pollIntervalMs: 200,
    schedulerTickSeconds: 0.25,
    clock,
    log,
  });
  workerId = runtime.workers?.workerId ?? '-';
  stop = () => runtime.stop();
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const m = /^GO (\d+)$/.exec(line);
    if (!m || go !== null) return;
    go = Number(m[1]);
    if (!runtime.scheduler) return;
    const timer = setInterval(() => {
      if (clock.now().getTime() < end) return;
      clearInterval(timer);
      void runtime.scheduler!.tick().then(() => process.stdout.write('END\n'));
    }, 100);
  });
}

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void (async () => {
    await stop();
    await store.close();
    process.exit(0);
  })();
});
process.stdout.write(`READY ${workerId}\n`);
