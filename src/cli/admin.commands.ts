/** `datasync audit list`: the admin API's audit log of changes, from the command line (CLI parity). */
import type { Command } from 'commander';
import { listAuditEntries } from '../store/audit.repository.js';
import { withStore, type GlobalOptions } from './context.js';
import { intArg, printList } from './output.js';

export function registerAdminCommands(program: Command, globals: () => GlobalOptions): void {
  const audit = program.command('audit').description('audit log of changes made through the admin API');
  audit
    .command('list')
    .description('changes, newest first')
    .option('--account <id>', 'only changes of this account')
    .option('--limit <n>', 'page size (max 500)', '50')
    .option('--before <id>', 'entries older than this one (next page)')
    .option('--json', 'JSON output')
    .action(async (o: { account?: string; limit: string; before?: string; json?: boolean }) =>
      withStore(globals(), async ({ db }) => {
        const rows = await listAuditEntries(db, {
          accountId: o.account,
          limit: intArg('--limit', o.limit),
          beforeId: o.before === undefined ? undefined : intArg('--before', o.before),
        });
        printList(
          o.json
            ? (rows as never)
            : rows.map((e) => ({ ...e, details: e.details ? JSON.stringify(e.details) : '' })),
          ['id', 'at', 'actor', 'accountId', 'action', 'target', 'details'],
          o.json,
        );
      }),
    );
}
