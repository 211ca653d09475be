/**
 * `datasync tokens …`, CLI parity with the admin API's tokens (tokens.routes.ts):
 * - `tokens create ACCOUNT [--name N]`: an API token limited to the account (`POST /accounts/{id}/tokens`),
 *   printed once on stdout (alone, so `$(datasync tokens create acme)` works) and stored hashed;
 *   `tokens create --admin [--name N]`: an admin token (`POST /admin/tokens`) — the way back in for an
 *   operator who lost every admin token, since the CLI needs none;
 * - `tokens list ACCOUNT [--json]` / `tokens list --admin [--json]`: id, name, created, last used
 *   (`GET /accounts/{id}/tokens`, `GET /admin/tokens`), never a secret;
 * - `tokens revoke ACCOUNT TOKEN_ID` / `tokens revoke --admin TOKEN_ID`: the token is refused from its next
 *   request (`DELETE …/tokens/{tokenId}`); the last admin token is refused (DS_TOKEN_LAST_ADMIN), as over the API.
 * They work on the store directly (no token needed) and write the same audit entries as the API
 * (`token.create`, `token.revoke`; target the name, details the id) with the actor `cli`: creating and
 * revoking credentials is exactly what an audit log must show, whichever door it came through.
 */
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { UsageError } from '../errors.js';
import { getAccount, insertAuditEntry, type Database } from '../store/index.js';
import { withStore, type GlobalOptions } from './context.js';
import { intArg, printJson, printList } from './output.js';

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const http = () => import('../http/index.js');

/** The audit log's actor for changes made with the CLI (the API writes `admin` or `account:<id>`). */
export const CLI_ACTOR = 'cli';

const auditCli = (
  db: Kysely<Database>,
  action: 'token.create' | 'token.revoke',
  accountId: string | null,
  t: { id: number; name: string },
) => insertAuditEntry(db, { actor: CLI_ACTOR, accountId, action, target: t.name, details: { id: t.id } });

/** ACCOUNT, or `--admin`: exactly one. Answers the account, null for admin tokens. */
function scopeOf(account: string | undefined, admin: boolean | undefined): string | null {
  if (admin && account !== undefined) throw new UsageError('give either ACCOUNT or --admin, not both');
  if (!admin && account === undefined) throw new UsageError('give an ACCOUNT, or --admin for admin tokens');
  return admin ? null : account!;
}

export function registerTokenCommands(program: Command, globals: () => GlobalOptions): void {
  const tokens = program.command('tokens').description('API tokens (for the admin API and the dashboard)');
  tokens
    .command('create [account]')
    .description(
      'create an API token limited to the account (or, with --admin, an admin token); printed once, stored hashed',
    )
    .option('--admin', 'an admin token (reaches every account)')
    .option('--name <name>', 'what the token is for (default: cli-<date>)')
    .option('--json', 'JSON output')
    .action(async (account: string | undefined, o: { admin?: boolean; name?: string; json?: boolean }) => {
      const accountId = scopeOf(account, o.admin);
      const name = o.name ?? `cli-${new Date().toISOString().slice(0, 10)}`;
      if (!name.trim() || name.length > 100) throw new UsageError('--name must be 1 to 100 characters');
      const { id, token } = await withStore(globals(), async ({ db }) => {
        if (accountId !== null) await getAccount(db, accountId);
        const made = await (await http()).createApiTokenRecord(db, { accountId, name });
        await auditCli(db, 'token.create', accountId, { id: made.id, name });
        return made;
      });
      if (o.json) return printJson(accountId === null ? { id, token, name } : { id, token, accountId, name });
      console.log(token);
      const what =
        accountId === null ? `admin token ${id} "${name}"` : `token ${id} "${name}" for account ${accountId}`;
      console.error(`${what}: shown once, keep it now`);
    });
  tokens
    .command('list [account]')
    .description("the account's (or, with --admin, the admin) API tokens: id, name, created, last used")
    .option('--admin', 'the admin tokens')
    .option('--json', 'JSON output')
    .action(async (account: string | undefined, o: { admin?: boolean; json?: boolean }) => {
      const accountId = scopeOf(account, o.admin);
      const rows = await withStore(globals(), async ({ db }) => {
        if (accountId === null) return (await http()).listAdminTokens(db);
        await getAccount(db, accountId);
        return (await http()).listApiTokens(db, accountId);
      });
      printList(
        rows.map((t) => ({ ...t })),
        ['id', 'name', 'createdAt', 'lastUsedAt'],
        o.json,
      );
    });
  tokens
    .command('revoke <accountOrTokenId> [tokenId]')
    .usage('ACCOUNT TOKEN_ID | --admin TOKEN_ID')
    .description(
      'revoke an API token (see `tokens list`): refused from its next request; the last admin token is kept',
    )
    .option('--admin', 'an admin token: `tokens revoke --admin TOKEN_ID`')
    .action(async (first: string, second: string | undefined, o: { admin?: boolean }) => {
      if (o.admin && second !== undefined) throw new UsageError('with --admin, give only the TOKEN_ID');
      if (!o.admin && second === undefined)
        throw new UsageError('give ACCOUNT TOKEN_ID, or --admin TOKEN_ID for an admin token');
      const accountId = o.admin ? null : first;
      const id = intArg('TOKEN_ID', o.admin ? first : second!);
      const t = await withStore(globals(), async ({ db }) => {
        const h = await http();
        const revoked =
          accountId === null ? await h.revokeAdminToken(db, id) : await h.revokeApiToken(db, accountId, id);
        await auditCli(db, 'token.revoke', accountId, revoked);
        return revoked;
      });
      console.log(
        `revoked ${accountId === null ? 'admin token' : 'token'} ${t.id} "${t.name}"` +
          (accountId === null ? '' : ` of account ${accountId}`),
      );
    });
}
