/** serve and worker: long-running roles; SIGINT/SIGTERM stop them cleanly. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { createLogger } from '../logger.js';
import { redactConfig } from '../config/index.js';
import { configFrom, type GlobalOptions } from './context.js';
import { ROLES, type Role } from './roles.js';

function parseRoles(text: string): Set<Role> {
  const roles = text
    .split(',')
    .map((r) => r.trim())
    .filter(Boolean);
  for (const r of roles)
    if (!ROLES.includes(r as Role))
      throw new UsageError(`unknown role "${r}"; roles are ${ROLES.join(', ')}`);
  if (roles.length === 0) throw new UsageError('--roles needs at least one role');
  return new Set(roles as Role[]);
}

async function serve(globals: GlobalOptions, roles: Set<Role>): Promise<void> {
  const config = configFrom(globals);
  const log = createLogger(config.log.level);
  log.info({ config: redactConfig(config) }, 'effective configuration');
  // Loaded on demand: short commands (config check, lists add) should not pay for the server's imports.
  const { startServer } = await import('./server.js');
  const server = await startServer(config, roles, log);
  const s = server.secrets;
  if (s.adminToken || s.demo) {
    // Printed once, on the first start only; only hashes are stored.
    const lines = ['', '================ datasync first start ================'];
    if (s.adminToken) lines.push(`admin API token:  ${s.adminToken}`);
    if (s.demo) {
      lines.push(
        `demo SFTP login:  sftp -P ${server.sftpPort ?? config.sftp.port} ${s.demo.username}@localhost`,
      );
      lines.push(`demo password:    ${s.demo.password}`);
    }
    lines.push(
      'These are shown once and stored only as hashes. Keep them now.',
      '======================================================',
      '',
    );
    process.stderr.write(lines.join('\n') + '\n');
  }
  log.info({ httpPort: server.httpPort, sftpPort: server.sftpPort }, 'datasync ready');
  await new Promise<void>((resolve) => {
    let stopping = false;
    // The handlers stay installed until the process ends: a second SIGTERM (process managers repeat it) must
    // not kill a shutdown that is draining jobs. A second SIGINT (Ctrl-C twice) forces the exit.
    const onSignal = (sig: NodeJS.Signals) => {
      if (stopping) {
        if (sig === 'SIGINT') {
          log.warn('second SIGINT: exiting without waiting for the shutdown to finish');
          process.exit(130);
        }
        log.info({ signal: sig }, 'already shutting down');
        return;
      }
      stopping = true;
      log.info({ signal: sig }, 'shutting down');
      void server.stop().then(resolve);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export function registerServeCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('serve')
    .description('run the service (all roles by default)')
    .option('--roles <roles>', `comma-separated roles: ${ROLES.join(',')}`, ROLES.join(','))
    .action(async (o: { roles: string }) => serve(globals(), parseRoles(o.roles)));
  program
    .command('worker')
    .description('run only the worker role (same as serve --roles worker)')
    .action(async () => serve(globals(), new Set<Role>(['worker'])));
}
