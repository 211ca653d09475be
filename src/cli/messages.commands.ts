/**
 * CLI parity with the admin API for messages (tokens: tokens.commands.ts):
 * - `messages list ACCOUNT [--channel email|sms]`: email (idNl) and SMS (idSMS) messages, newest first
 *   (`GET /accounts/{id}/messages/{channel}`);
 * - `messages summary ACCOUNT CHANNEL NUMBER`: the events summary of one message, the same figures as
 *   `GET /accounts/{id}/messages/{channel}/{n}/summary` and the dashboard's message page.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { getAccount, listMessages, type Channel } from '../store/index.js';
import { withStore, type GlobalOptions } from './context.js';
import { intArg, printJson, printList } from './output.js';

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const http = () => import('../http/index.js');

function channelArg(name: string, v: string): Channel {
  if (v !== 'email' && v !== 'sms') throw new UsageError(`${name} must be email or sms, got "${v}"`);
  return v;
}

export function registerMessagesCommands(program: Command, globals: () => GlobalOptions): void {
  const messages = program.command('messages').description('email and SMS messages and their events');
  messages
    .command('list <account>')
    .description('messages, newest first (email then SMS unless --channel)')
    .option('--channel <channel>', 'email or sms')
    .option('--limit <n>', 'per channel (max 1000)', '50')
    .option('--before <n>', 'only numbers below this (next page)')
    .option('--json', 'JSON output')
    .action(
      async (account: string, o: { channel?: string; limit: string; before?: string; json?: boolean }) => {
        const channels: Channel[] = o.channel ? [channelArg('--channel', o.channel)] : ['email', 'sms'];
        const limit = intArg('--limit', o.limit);
        const before = o.before === undefined ? undefined : intArg('--before', o.before);
        const rows = await withStore(globals(), async ({ db }) => {
          await getAccount(db, account);
          const out = [];
          for (const channel of channels)
            for (const m of await listMessages(db, account, channel, { limit, beforeNumber: before }))
              out.push({
                channel,
                number: m.number,
                listId: m.listId,
                subject: channel === 'email' ? m.subject : null,
                text: channel === 'sms' ? m.text : null,
                sender: m.senderEmail ?? m.senderName,
                campaignCode: m.campaignCode,
                createdAt: m.createdAt,
              });
          return out;
        });
        const cut = (s: string | null) => (s && s.length > 40 ? `${s.slice(0, 39)}…` : s);
        printList(
          o.json ? rows : rows.map((r) => ({ ...r, subject: cut(r.subject ?? r.text) })),
          ['channel', 'number', 'listId', 'subject', 'sender', 'createdAt'],
          o.json,
        );
      },
    );
  messages
    .command('summary <account> <channel> <number>')
    .description('events summary of one message (idNl for email, idSMS for sms)')
    .option('--json', 'JSON output')
    .action(async (account: string, channel: string, number: string, o: { json?: boolean }) => {
      const ch = channelArg('channel', channel);
      const n = intArg('number', number);
      const s = await withStore(globals(), async (store) =>
        (await http()).messageSummary(store, account, ch, n),
      );
      if (o.json) return printJson(s);
      console.log(`${ch === 'email' ? 'idNl' : 'idSMS'} ${s.number}${s.subject ? ` — ${s.subject}` : ''}`);
      const kinds = Object.entries(s.events).filter(([, v]) => v > 0);
      console.log(`events: ${kinds.length ? kinds.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`);
      console.log(`unique opens ${s.uniqueOpens}, unique clicks ${s.uniqueClicks}`);
      console.log(
        `bounces hard ${s.bounces.hard}, soft ${s.bounces.soft}; unsubscribes ${s.unsubscribes}; complaints ${s.complaints}`,
      );
      for (const l of s.links) console.log(`  link ${l.url}: ${l.clicks} clicks, ${l.recipients} recipients`);
      for (const x of s.sms) console.log(`  sms ${x.status}: ${x.reports}`);
    });
}
