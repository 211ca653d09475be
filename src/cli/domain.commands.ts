/** accounts, lists, fields, groups, recipients: the containers of reference §1.4. */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import {
  addGroup,
  addList,
  createAccount,
  listAccounts,
  listFields,
  listGroups,
  listLists,
  listRecipients,
  setField,
  upsertRecipient,
  SUBSCRIPTION_STATUSES,
  CHANNELS,
  type Channel,
  type SubscriptionStatus,
} from '../store/index.js';
import { withStore, type GlobalOptions } from './context.js';
import { intArg, printJson, printList } from './output.js';

type Json = { json?: boolean };

export function registerDomainCommands(program: Command, globals: () => GlobalOptions): void {
  const accounts = program.command('accounts').description('customer accounts (tenants)');
  accounts
    .command('add <id>')
    .description('create an account')
    .option('--name <name>', 'display name (default: the id)')
    .option('--time-zone <tz>', 'IANA time zone for schedules and send times', 'Europe/Rome')
    .option('--country <cc>', 'ISO country for mobile numbers without a prefix', 'IT')
    .option('--json', 'print the account as JSON')
    .action(async (id: string, o: { name?: string; timeZone: string; country: string } & Json) =>
      withStore(globals(), async ({ db }) => {
        const a = await createAccount(db, {
          id,
          name: o.name,
          timeZone: o.timeZone,
          defaultCountry: o.country,
        });
        if (o.json) printJson(a);
        else console.log(`account ${a.id} created`);
      }),
    );
  accounts
    .command('list')
    .description('list accounts')
    .option('--json', 'JSON output')
    .action(async (o: Json) =>
      withStore(globals(), async ({ db }) =>
        printList(
          (await listAccounts(db)) as never,
          ['id', 'name', 'timeZone', 'defaultCountry', 'createdAt'],
          o.json,
        ),
      ),
    );

  const lists = program.command('lists').description('recipient lists of an account');
  lists
    .command('add <account> <listId> <name>')
    .description('create a list with a numeric id')
    .option('--mobile-prefix <prefix>', 'default international prefix for mobile numbers, e.g. 39')
    .option('--json', 'JSON output')
    .action(async (account: string, listId: string, name: string, o: { mobilePrefix?: string } & Json) =>
      withStore(globals(), async ({ db }) => {
        const l = await addList(db, {
          accountId: account,
          listId: intArg('LIST_ID', listId),
          name,
          mobilePrefix: o.mobilePrefix,
        });
        if (o.json) printJson(l);
        else console.log(`list ${l.listId} (${l.name}) created in ${account}, guid ${l.guid}`);
      }),
    );
  lists
    .command('list <account>')
    .option('--json', 'JSON output')
    .action(async (account: string, o: Json) =>
      withStore(globals(), async ({ db }) =>
        printList(
          (await listLists(db, account)) as never,
          ['listId', 'name', 'mobilePrefix', 'guid'],
          o.json,
        ),
      ),
    );

  const fields = program.command('fields').description('recipient fields 1..39 of an account');
  fields
    .command('set <account> <fieldId> <name>')
    .description('name a recipient field')
    .action(async (account: string, fieldId: string, name: string) =>
      withStore(globals(), async ({ db }) => {
        const f = await setField(db, account, intArg('FIELD_ID', fieldId), name);
        console.log(`field ${f.fieldId} = ${f.name}`);
      }),
    );
  fields
    .command('list <account>')
    .option('--json', 'JSON output')
    .action(async (account: string, o: Json) =>
      withStore(globals(), async ({ db }) =>
        printList((await listFields(db, account)) as never, ['fieldId', 'name'], o.json),
      ),
    );

  const groups = program.command('groups').description('groups inside lists');
  groups
    .command('add <account> <listId> <name>')
    .option('--json', 'JSON output')
    .action(async (account: string, listId: string, name: string, o: Json) =>
      withStore(globals(), async ({ db }) => {
        const g = await addGroup(db, { accountId: account, listId: intArg('LIST_ID', listId), name });
        if (o.json) printJson(g);
        else console.log(`group ${g.id} (${g.name}) created in list ${g.listId}`);
      }),
    );
  groups
    .command('list <account>')
    .option('--list <listId>', 'only this list')
    .option('--json', 'JSON output')
    .action(async (account: string, o: { list?: string } & Json) =>
      withStore(globals(), async ({ db }) =>
        printList(
          (await listGroups(db, account, o.list ? intArg('--list', o.list) : undefined)) as never,
          ['id', 'listId', 'name', 'createdAt'],
          o.json,
        ),
      ),
    );

  const recipients = program.command('recipients').description('recipients and their subscriptions');
  recipients
    .command('list <account>')
    .option('--list <listId>', 'only recipients with a subscription to this list')
    .option('--status <status>', `subscription status: ${SUBSCRIPTION_STATUSES.join(', ')}`)
    .option('--channel <channel>', `channel: ${CHANNELS.join(', ')}`)
    .option('--search <key>', 'email (in any case) or mobile, exactly as stored')
    .option('--limit <n>', 'page size (max 1000)', '100')
    .option('--after <id>', 'recipients after this id (next page)')
    .option('--json', 'JSON output')
    .action(
      async (
        account: string,
        o: {
          list?: string;
          status?: string;
          channel?: string;
          search?: string;
          limit: string;
          after?: string;
        } & Json,
      ) => {
        if (o.status && !SUBSCRIPTION_STATUSES.includes(o.status as SubscriptionStatus))
          throw new UsageError(`--status must be one of ${SUBSCRIPTION_STATUSES.join(', ')}`);
        if (o.channel && !CHANNELS.includes(o.channel as Channel))
          throw new UsageError(`--channel must be one of ${CHANNELS.join(', ')}`);
        await withStore(globals(), async ({ db }) => {
          const query = {
            listId: o.list ? intArg('--list', o.list) : undefined,
            status: o.status as SubscriptionStatus | undefined,
            channel: o.channel as Channel | undefined,
            search: o.search,
            limit: intArg('--limit', o.limit),
            afterId: o.after ? intArg('--after', o.after) : undefined,
          };
          let page = await listRecipients(db, account, query);
          // As the API's search: an email matches in any case when the exact form finds nobody.
          if (!page.length && o.search?.includes('@'))
            page = await listRecipients(db, account, {
              ...query,
              search: undefined,
              searchEmailAnyCase: o.search.trim(),
            });
          if (o.json) return printJson(page);
          printList(
            page.map((p) => ({
              ...p.recipient,
              subscriptions: p.subscriptions.map((s) => `${s.listId}/${s.channel}:${s.status}`).join(' '),
            })),
            ['id', 'email', 'mobile', 'subscriptions', 'updatedAt'],
            false,
          );
        });
      },
    );
  recipients
    .command('add <account>')
    .description('create or update one recipient (matched by email and mobile; never duplicated)')
    .option('--email <email>', 'email address')
    .option('--mobile <mobile>', 'mobile number (+39…, 0039…, or national with the list prefix)')
    .option('--list <listId>', 'subscribe to this list (new subscriptions only; existing ones are unchanged)')
    .option('--field <id=value...>', 'recipient field values, e.g. --field 1=Mario 2=Rossi')
    .option('--json', 'JSON output')
    .action(
      async (
        account: string,
        o: { email?: string; mobile?: string; list?: string; field?: string[] } & Json,
      ) => {
        if (!o.email && !o.mobile) throw new UsageError('give --email or --mobile (or both)');
        const fields: Record<number, string> = {};
        for (const f of o.field ?? []) {
          const m = /^([0-9]+)=(.*)$/s.exec(f);
          if (!m) throw new UsageError(`--field takes ID=VALUE, got "${f}"`);
          fields[Number(m[1])] = m[2]!;
        }
        await withStore(globals(), async ({ db }) => {
          const r = await db.transaction().execute((trx) =>
            upsertRecipient(trx, {
              accountId: account,
              email: o.email,
              mobile: o.mobile,
              fields,
              listId: o.list ? intArg('--list', o.list) : undefined,
            }),
          );
          if (o.json) printJson(r);
          else
            console.log(
              `recipient ${r.recipient.id} ${r.created ? 'created' : 'updated'}${r.subscribed.length ? `, subscribed (${r.subscribed.join(', ')})` : ''}`,
            );
        });
      },
    );
}
