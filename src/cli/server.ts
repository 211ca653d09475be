/**
 * `datasync serve`: the composition root. Starts the chosen roles over one store and one metrics registry,
 * and stops them in reverse order (stop accepting work, drain, close the database last).
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { buildApp, createMetricsRegistry } from '../http/index.js';
import type { Logger } from '../logger.js';
import { openStore, type Store } from '../store/index.js';
import type { Role } from './roles.js';
import { firstStart, provisionAccounts, type FirstStartSecrets } from './provision.js';

export interface RunningServer {
  store: Store;
  httpPort?: number;
  sftpPort?: number;
  secrets: FirstStartSecrets;
  stop(): Promise<void>;
}

interface Stoppable {
  name: string;
  stop(): Promise<void>;
}

export async function startServer(config: Config, roles: Set<Role>, log: Logger): Promise<RunningServer> {
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
    await provisionAccounts(store, config, {}, log);
    const secrets = await firstStart(store, config, {});
    const registry = createMetricsRegistry();
    const result: RunningServer = { store, secrets, stop };

    if (roles.has('http') && config.http.enabled) {
      const app: FastifyInstance = await buildApp({
        logger: log,
        bodyLimitBytes: config.http.bodyLimitBytes,
        registry,
        db: store.db,
      });
      await app.listen({ host: config.http.host, port: config.http.port });
      const addr = app.server.address();
      result.httpPort = typeof addr === 'object' && addr ? addr.port : config.http.port;
      started.push({ name: 'http', stop: () => app.close() });
      log.info({ host: config.http.host, port: result.httpPort }, 'HTTP listening');
    }
    return result;
  } catch (e) {
    await stop();
    throw e;
  }
}
