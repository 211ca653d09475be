/** users: SFTP users of an account, with passwords (stored as scrypt hashes) and/or OpenSSH public keys. */
import fs from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { getAccount } from '../store/index.js';
import { withStore, type GlobalOptions } from './context.js';
import { printJson, printList } from './output.js';

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const sftp = () => import('../sftp/index.js');

/** Read a password from standard input (first line), so it never appears in the process list or shell history. */
async function readPasswordStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const pw = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (pw.length < 8)
    throw new UsageError('the password read from standard input must be at least 8 characters');
  return pw;
}

function readKeyFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read the public key file ${file}`);
  }
}

export function registerUserCommands(program: Command, globals: () => GlobalOptions): void {
  const users = program.command('users').description('SFTP users of an account');
  users
    .command('add <account> <username>')
    .description('add an SFTP user with a password (from stdin, or generated) and/or public keys')
    .option('--password-stdin', 'read the password from standard input')
    .option('--generate-password', 'generate a password and print it once')
    .option('--key <file...>', 'OpenSSH public key or authorized_keys file(s)')
    .option('--json', 'JSON output')
    .action(
      async (
        account: string,
        username: string,
        o: { passwordStdin?: boolean; generatePassword?: boolean; key?: string[]; json?: boolean },
      ) => {
        if (!o.passwordStdin && !o.generatePassword && !o.key?.length)
          throw new UsageError('give --password-stdin, --generate-password or --key FILE.pub');
        if (o.passwordStdin && o.generatePassword)
          throw new UsageError('--password-stdin and --generate-password exclude each other');
        const password = o.passwordStdin
          ? await readPasswordStdin()
          : o.generatePassword
            ? (await sftp()).generatePassword()
            : undefined;
        const authorizedKeys = o.key?.map(readKeyFile).join('\n');
        await withStore(globals(), async (store) => {
          await getAccount(store.db, account);
          const u = await (
            await sftp()
          ).addSftpUser(store, { accountId: account, username, password, authorizedKeys });
          if (o.json) return printJson({ ...u, ...(o.generatePassword ? { password } : {}) });
          console.log(
            `SFTP user ${u.username} added to ${account} (${u.keys.length} key(s)${u.hasPassword ? ', password' : ''})`,
          );
          if (o.generatePassword)
            console.log(`password: ${password}   (shown once; only its hash is stored)`);
        });
      },
    );
  users
    .command('list <account>')
    .option('--json', 'JSON output')
    .action(async (account: string, o: { json?: boolean }) =>
      withStore(globals(), async (store) => {
        const rows = await (await sftp()).listSftpUsers(store, account);
        if (o.json) return printJson(rows);
        printList(
          rows.map((u) => ({
            ...u,
            keys: u.keys.map((k) => k.fingerprint).join(' '),
            createdAt: u.createdAt.toISOString(),
          })),
          ['username', 'hasPassword', 'disabled', 'keys', 'createdAt'],
          false,
        );
      }),
    );
  users.command('remove <account> <username>').action(async (account: string, username: string) =>
    withStore(globals(), async (store) => {
      await (await sftp()).removeSftpUser(store, account, username);
      console.log(`SFTP user ${username} removed`);
    }),
  );
  users
    .command('passwd <username>')
    .description("rotate a user's password (from stdin, or generated); --remove leaves key login only")
    .option('--password-stdin', 'read the new password from standard input')
    .option('--generate-password', 'generate a password and print it once')
    .option('--remove', 'remove the password (the user must have a key)')
    .action(
      async (
        username: string,
        o: { passwordStdin?: boolean; generatePassword?: boolean; remove?: boolean },
      ) => {
        const n = [o.passwordStdin, o.generatePassword, o.remove].filter(Boolean).length;
        if (n !== 1)
          throw new UsageError('give exactly one of --password-stdin, --generate-password, --remove');
        const password = o.remove
          ? null
          : o.passwordStdin
            ? await readPasswordStdin()
            : (await sftp()).generatePassword();
        await withStore(globals(), async (store) => {
          await (await sftp()).setSftpPassword(store, username, password);
          if (password === null) console.log(`password of ${username} removed`);
          else if (o.generatePassword) console.log(`new password of ${username}: ${password}   (shown once)`);
          else console.log(`password of ${username} changed`);
        });
      },
    );
  const keys = users.command('keys').description("a user's public keys");
  keys
    .command('add <username> <file>')
    .description('add the keys of an OpenSSH public key / authorized_keys file')
    .action(async (username: string, file: string) =>
      withStore(globals(), async (store) => {
        const added = await (await sftp()).addSftpKey(store, username, readKeyFile(file));
        console.log(
          added.length
            ? added.map((k) => `added ${k.algo} ${k.fingerprint}`).join('\n')
            : 'no new key (already there)',
        );
      }),
    );
  keys
    .command('remove <username> <fingerprint>')
    .description('remove a key by its SHA256:… fingerprint (as `users list` shows it)')
    .action(async (username: string, fingerprint: string) =>
      withStore(globals(), async (store) => {
        await (await sftp()).removeSftpKey(store, username, fingerprint);
        console.log(`key ${fingerprint} removed from ${username}`);
      }),
    );
  users
    .command('hash')
    .description('hash a password read from stdin, for `passwordHash:` in the config file')
    .action(async () => console.log(await (await sftp()).hashPassword(await readPasswordStdin())));
}
