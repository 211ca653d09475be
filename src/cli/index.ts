/**
 * cli/ — the `datasync` command (INTERFACES.md "CLI"). Every listing takes --json. Exit status:
 * 0 success, 1 the operation failed, 2 bad usage or bad configuration.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError, DatasyncError } from '../errors.js';
import { loadConfig, redactConfig } from '../config/index.js';
import { registerDomainCommands } from './domain.commands.js';
import { registerJobCommands } from './jobs.commands.js';
import { registerServeCommands } from './serve.commands.js';
import { registerUserCommands } from './users.commands.js';
import { registerEventsCommands } from './events.commands.js';
import { registerExportCommands } from './export.commands.js';
import { registerInstanceCommands } from './instances.commands.js';
import { registerAdminCommands } from './admin.commands.js';
import { registerMessagesCommands } from './messages.commands.js';
import { registerTokenCommands } from './tokens.commands.js';
import type { GlobalOptions } from './context.js';
import { printJson } from './output.js';

export function buildProgram(): Command {
  const program = new Command('datasync')
    .description('Self-hosted SFTP file exchange for email and SMS marketing')
    .option('-c, --config <file>', 'YAML configuration file (default: $DATASYNC_CONFIG)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  const config = program.command('config').description('configuration');
  config
    .command('check')
    .description('validate the configuration; list every problem with its path (exit 2 when there is one)')
    .option('--json', 'print the effective configuration (secrets redacted) as JSON')
    .action((o: { json?: boolean }) => {
      const c = loadConfig(globals().config ? { file: globals().config } : {});
      if (o.json) printJson(redactConfig(c));
      else console.log('configuration OK');
    });

  registerServeCommands(program, globals);
  registerDomainCommands(program, globals);
  registerUserCommands(program, globals);
  registerJobCommands(program, globals);
  registerInstanceCommands(program, globals);
  registerEventsCommands(program, globals);
  registerAdminCommands(program, globals);
  registerExportCommands(program, globals);
  registerMessagesCommands(program, globals);
  registerTokenCommands(program, globals);
  // Subcommands inherit exitOverride so a usage error anywhere throws instead of exiting with 1.
  const applyOverride = (c: Command) => {
    c.exitOverride();
    c.showHelpAfterError('(run with --help for usage)');
    c.commands.forEach(applyOverride);
  };
  program.commands.forEach(applyOverride);
  return program;
}

/** Run the CLI; resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    return reportError(e);
  }
}

function reportError(e: unknown): number {
  if (e instanceof CommanderError) {
    // Help and version are not errors; commander already printed usage for the rest.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      return 0;
    return 2;
  }
  if (e instanceof ConfigError) {
    console.error(`error ${e.code}: the configuration has ${e.problems.length} problem(s):`);
    for (const p of e.problems) console.error(`  ${p}`);
    return 2;
  }
  if (e instanceof DatasyncError) {
    console.error(`error ${e.code}: ${e.message}`);
    return e.code === 'DS_USAGE' ? 2 : 1;
  }
  console.error('error DS_INTERNAL:', e instanceof Error ? (e.stack ?? e.message) : String(e));
  return 1;
}
