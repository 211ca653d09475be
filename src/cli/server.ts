/**
 * `datasync serve`: the composition root. Starts the chosen roles over one store and one metrics registry,
 * and stops them in reverse order (stop accepting work, drain, close the database last).
 */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../clock.js';
import type { Config } from '../config/index.js';
import { buildApp, createMetricsRegistry, loadTrackingKey } from '../http/index.js';
import type { JobsRuntime } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import {
  addSftpKey,
  addSftpUser,
  createSftpServer,
  createStoreUserDirectory,
  generatePassword,
  listSftpUsers,
} from '../sftp/index.js';
import { FileReadyBus, HostedSpaces } from '../spaces/index.js';
import { findSftpUserByUsername, insertSftpUser, openStore, type Store } from '../store/index.js';
import path from 'node:path';
import type { Role } from './roles.js';
import { startJobRoles } from './job-roles.js';
import { publicUrlOf } from './public-url.js';
import { applyInstanceDocuments } from './instances.commands.js';
import { adminApiRoutes } from '../http/index.js';
import { dashboardRoutes } from '../web/index.js';
import { firstStart, provisionAccounts, type FirstStartSecrets } from './provision.js';

export interface RunningServer {
  store: Store;
  httpPort?: number;
  sftpPort?: number;
  secrets: FirstStartSecrets;
  /** The queue, workers and scheduler of this process (when it runs the worker or scheduler role). */
  jobs?: JobsRuntime;
  stop(): Promise<void>;
}

export interface StartServerOptions {
  /** Time for jobs, schedules and recorded events. Default: the system clock (tests pass a ManualClock). */
  clock?: Clock;
}

interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

export async function startServer(
  config: Config,
  roles: Set<Role>,
  log: Logger,
  opts: StartServerOptions = {},
): Promise<RunningServer> {
  const store = await openStore({ database: config.database, dataDir: config.dataDir });
  log.info(
    { database: store.location, dialect: store.dialect.name, roles: [...roles] },
    'store open, migrations applied',
  );
  const started: Stoppable[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      for (const s of started.reverse()) {
        try {
          await s.stop();
        } catch (err) {
          log.error({ err, part: s.name }, 'error while stopping');
        }
      }
      await store.close();
      log.info('stopped');
    })());

  try {
    await provisionAccounts(
      store,
      config,
      {
        users: provisionUsers,
        instances: (s, accountId, docs) =>
          applyInstanceDocuments(s, { docs: docs.map((d) => ({ accountId, ...d })) }).then(() => {}),
      },
      log,
    );
    const secrets = await firstStart(store, config, {
      // INTERFACES.md: a demo import on /import/*.csv (field-id header) and daily exports at 05:00 Europe/Rome.
      createDemoInstances: (s, accountId) =>
        applyInstanceDocuments(s, { docs: demoInstances(accountId) }).then(() => {}),
      async createDemoUser(s, accountId, username) {
        const password = generatePassword();
        await addSftpUser(s, { accountId, username, password });
        return password;
      },
    });
    const registry = createMetricsRegistry();
    const spaces = new HostedSpaces(path.join(config.dataDir, 'spaces'));
    const bus = new FileReadyBus();
    const result: RunningServer = { store, secrets, stop };

    // Jobs first: HTTP (uploads, run now, retry) and SFTP (uploads) send to the queue as soon as they listen.
    const jobRoles = await startJobRoles({ config, store, roles, spaces, bus, log, clock: opts.clock });
    if (jobRoles) started.push({ name: 'jobs', stop: () => jobRoles.stop() });
    result.jobs = jobRoles?.runtime;

    if (roles.has('http') && config.http.enabled) {
      const app: FastifyInstance = await buildApp({
        logger: log,
        bodyLimitBytes: config.http.bodyLimitBytes,
        registry,
        db: store.db,
        maxParameters: store.dialect.maxParameters,
        trackingKey: loadTrackingKey(config.dataDir),
        dataDir: config.dataDir,
        publicUrl: publicUrlOf(config),
        softBounceThreshold: config.engagement.softBounceThreshold,
        trustProxy: config.http.trustProxy,
        clock: opts.clock,
      });
      const deps = {
        store,
        dataDir: config.dataDir,
        spaces,
        queue: jobRoles?.runtime.queue,
        // HTTP uploads (API and dashboard) go the SFTP way: same bus, same quotas.
        bus,
        uploadLimits: {
          maxFileBytes: config.sftp.maxFileBytes,
          maxAccountBytes: config.sftp.maxAccountBytes,
        },
      };
      await app.register(adminApiRoutes, deps);
      // The dashboard renders its pages by calling the admin API in-process with the signed-in token.
      await app.register(dashboardRoutes, deps);
      await app.listen({ host: config.http.host, port: config.http.port });
      const addr = app.server.address();
      result.httpPort = typeof addr === 'object' && addr ? addr.port : config.http.port;
      started.push({ name: 'http', stop: () => app.close() });
      log.info({ host: config.http.host, port: result.httpPort }, 'HTTP listening');
    }

    if (roles.has('sftp') && config.sftp.enabled) {
      const c = config.sftp;
      const sftp = createSftpServer(
        {
          host: c.host,
          port: c.port,
          dataDir: config.dataDir,
          banner: c.banner,
          idleTimeoutSeconds: c.idleTimeoutSeconds,
          loginGraceSeconds: c.loginGraceSeconds,
          maxSessions: c.maxSessions,
          maxSessionsPerUser: c.maxSessionsPerUser,
          bruteForce: c.bruteForce,
          quotas: { maxFileBytes: c.maxFileBytes, maxAccountBytes: c.maxAccountBytes },
        },
        { spaces, users: createStoreUserDirectory(store), bus, logger: log, registry },
      );
      result.sftpPort = (await sftp.start()).port;
      started.push({ name: 'sftp', stop: () => sftp.stop() });
      log.info({ host: c.host, port: result.sftpPort }, 'SFTP listening');
    }
    return result;
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Users declared in the config file: created when missing; existing users keep their credentials. */
async function provisionUsers(
  store: Store,
  accountId: string,
  users: Config['accounts'][number]['users'],
): Promise<void> {
  const existing = new Set((await listSftpUsers(store, accountId)).map((u) => u.username));
  for (const u of users) {
    if (!existing.has(u.username)) {
      if (u.passwordHash) {
        // Already hashed in the file: stored as given, never re-hashed.
        await insertSftpUser(store.db, { accountId, username: u.username, passwordHash: u.passwordHash });
      } else {
        await addSftpUser(store, {
          accountId,
          username: u.username,
          password: u.password,
          authorizedKeys: u.authorizedKeys.join('\n') || undefined,
        });
        continue;
      }
    }
    // Keys listed in the file are added when missing (never removed: the database is the source of truth).
    if (
      u.authorizedKeys.length &&
      (await findSftpUserByUsername(store.db, u.username))?.account_id === accountId
    )
      await addSftpKey(store, u.username, u.authorizedKeys.join('\n'));
  }
}

/** The demo account's instances: what a newcomer's first upload and first export run through. */
export function demoInstances(accountId: string): unknown[] {
  const daily = { cron: '0 5 * * *', timeZone: 'Europe/Rome' };
  return [
    {
      id: `${accountId}-import`,
      accountId,
      kind: 'import',
      fileMatch: { glob: '*.csv' },
      destination: { listId: 1 },
      channels: ['email', 'sms'],
    },
    {
      id: `${accountId}-unsubscribers`,
      accountId,
      kind: 'export',
      type: 'unsubscribers',
      lists: [1],
      schedule: daily,
    },
    {
      id: `${accountId}-statistics`,
      accountId,
      kind: 'export',
      type: 'statistics',
      lists: [1],
      schedule: daily,
    },
  ];
}
