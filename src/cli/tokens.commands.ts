/**
 * `datasync tokens …`, CLI parity with the admin API's account tokens (tokens.routes.ts):
 * - `tokens create ACCOUNT [--name N]`: an API token limited to the account (`POST /accounts/{id}/tokens`),
 *   printed once on stdout (alone, so `$(datasync tokens create acme)` works) and stored hashed;
 * - `tokens list ACCOUNT [--json]`: id, name, created, last used (`GET /accounts/{id}/tokens`), never a secret;
 * - `tokens revoke ACCOUNT TOKEN_ID`: the token is refused from its next request (`DELETE …/tokens/{tokenId}`).
 * Like every command, they work on the store directly (no token needed; not written to the API's audit log).
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { getAccount } from '../store/index.js';
import { withStore, type GlobalOptions } from './context.js';
import { intArg, printJson, printList } from './output.js';

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const http = () => import('../http/index.js');

export function registerTokenCommands(program: Command, globals: () => GlobalOptions): void {
  const tokens = program.command('tokens').description('API tokens (for the admin API and the dashboard)');
  tokens
    .command('create <account>')
    .description('create an API token limited to the account; it is printed once and stored hashed')
    .option('--name <name>', 'what the token is for (default: cli-<date>)')
    .option('--json', 'JSON output')
    .action(async (account: string, o: { name?: string; json?: boolean }) => {
      const name = o.name ?? `cli-${new Date().toISOString().slice(0, 10)}`;
      if (!name.trim() || name.length > 100) throw new UsageError('--name must be 1 to 100 characters');
      const { id, token } = await withStore(globals(), async ({ db }) => {
        await getAccount(db, account);
        return (await http()).createApiTokenRecord(db, { accountId: account, name });
      });
      if (o.json) return printJson({ id, token, accountId: account, name });
      console.log(token);
      console.error(`token ${id} "${name}" for account ${account}: shown once, keep it now`);
    });
  tokens
    .command('list <account>')
    .description("the account's API tokens: id, name, created, last used (never the secret)")
    .option('--json', 'JSON output')
    .action(async (account: string, o: { json?: boolean }) => {
      const rows = await withStore(globals(), async ({ db }) => {
        await getAccount(db, account);
        return (await http()).listApiTokens(db, account);
      });
      printList(
        rows.map((t) => ({ ...t })),
        ['id', 'name', 'createdAt', 'lastUsedAt'],
        o.json,
      );
    });
  tokens
    .command('revoke <account> <tokenId>')
    .description('revoke an API token of the account (see `tokens list`): refused from its next request')
    .action(async (account: string, tokenId: string) => {
      const id = intArg('TOKEN_ID', tokenId);
      const t = await withStore(globals(), async ({ db }) => (await http()).revokeApiToken(db, account, id));
      console.log(`revoked token ${t.id} "${t.name}" of account ${account}`);
    });
}
