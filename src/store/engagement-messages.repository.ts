/**
 * Messages (email `idNl`, SMS `idSMS`) and sendings (`idInvio`): the numbers customers see are per account
 * and handed out by `engagement_counters`; internal ids (`messages.id`, `sendings.id`) are global and are
 * what tracking tokens and `events.message_id` / `events.sending_id` carry. Numbers an external platform
 * used reach the counters through engagement-refs.repository.ts, so they are never handed out again.
 */
import { sql } from 'kysely';
import { NotFoundError, ValidationError } from '../errors.js';
import type { Db } from './accounts.js';
import { findGroup, getList } from './accounts.js';
import type { Channel, MessageRow, SendingRow } from './tables.js';

/** Counter names, also the API's field names for the numbers. */
export type EngagementNumberName = 'idNl' | 'idSMS' | 'idInvio';

/** An attachment of an email message; the content is stored inline (base64) with the message. */
export interface MessageAttachment {
  filename: string;
  contentType: string;
  /** Base64 content. */
  content: string;
}

export interface Message {
  /** Internal id (global). */
  id: number;
  accountId: string;
  channel: Channel;
  /** `idNl` for email, `idSMS` for SMS. */
  number: number;
  listId: number | null;
  subject: string | null;
  html: string | null;
  text: string | null;
  senderEmail: string | null;
  senderName: string | null;
  replyTo: string | null;
  attachments: MessageAttachment[];
  campaignCode: string | null;
  createdAt: string;
}

export const SENDING_STATUSES = ['queued', 'running', 'sent', 'failed', 'cancelled'] as const;
export type SendingStatus = (typeof SENDING_STATUSES)[number];

export interface Sending {
  /** Internal id (global): what tracking tokens carry. */
  id: number;
  accountId: string;
  /** `idInvio`. */
  number: number;
  /** Internal id of the message. */
  messageId: number;
  channel: Channel;
  /** `idNl` / `idSMS` of the message. */
  messageNumber: number;
  listId: number | null;
  groupId: number | null;
  status: string;
  scheduledAt: string | null;
  createdAt: string;
}

export function messageRowToMessage(r: MessageRow): Message {
  return {
    id: r.id,
    accountId: r.account_id,
    channel: r.channel,
    number: r.message_number,
    listId: r.list_id,
    subject: r.subject,
    html: r.html,
    text: r.text,
    senderEmail: r.sender_email,
    senderName: r.sender_name,
    replyTo: r.reply_to,
    attachments: r.attachments_json ? (JSON.parse(r.attachments_json) as MessageAttachment[]) : [],
    campaignCode: r.campaign_code,
    createdAt: r.created_at,
  };
}

type SendingJoinRow = SendingRow & { channel: Channel; message_number: number };

function sendingRowToSending(r: SendingJoinRow): Sending {
  return {
    id: r.id,
    accountId: r.account_id,
    number: r.sending_number,
    messageId: r.message_id,
    channel: r.channel,
    messageNumber: r.message_number,
    listId: r.list_id,
    groupId: r.group_id,
    status: r.status,
    scheduledAt: r.scheduled_at,
    createdAt: r.created_at,
  };
}

/**
 * Hand out the next number of a per-account counter, or raise the counter to `atLeast` when the caller
 * brings its own number. One statement, so concurrent callers never get the same number.
 */
export async function nextEngagementNumber(
  db: Db,
  accountId: string,
  name: EngagementNumberName,
  atLeast?: number,
): Promise<number> {
  const row = await db
    .insertInto('engagement_counters')
    .values({ account_id: accountId, name, value: atLeast ?? 1 })
    .onConflict((oc) =>
      oc.columns(['account_id', 'name']).doUpdateSet({
        value:
          atLeast === undefined
            ? sql<number>`engagement_counters.value + 1`
            : sql<number>`case when engagement_counters.value < ${atLeast} then ${atLeast} else engagement_counters.value end`,
      }),
    )
    .returning('value')
    .executeTakeFirstOrThrow();
  return Number(row.value);
}

export interface NewMessageInput {
  accountId: string;
  channel: Channel;
  /** Bring your own number (e.g. a message id given by an FTPZIP archive); default: the next one. */
  number?: number;
  listId?: number | null;
  subject?: string | null;
  html?: string | null;
  text?: string | null;
  senderEmail?: string | null;
  senderName?: string | null;
  replyTo?: string | null;
  attachments?: MessageAttachment[];
  campaignCode?: string | null;
}

/**
 * Run `fn` in a transaction unless `db` already is one. Number allocation needs it: the counter upsert
 * row-locks the counter until commit, which is what serialises it against ingestion creating messages and
 * sendings for numbers an external platform used (engagement-refs.repository.ts).
 */
async function inTransaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : db.transaction().execute(fn);
}

/** Create a message with the next `idNl` / `idSMS` of the account (a duplicate own number → DS_DUPLICATE). */
export async function createMessage(db: Db, input: NewMessageInput, at = new Date()): Promise<Message> {
  return inTransaction(db, (trx) => insertMessage(trx, input, at));
}

async function insertMessage(db: Db, input: NewMessageInput, at: Date): Promise<Message> {
  if (input.listId !== undefined && input.listId !== null) await getList(db, input.accountId, input.listId);
  const counter: EngagementNumberName = input.channel === 'email' ? 'idNl' : 'idSMS';
  const number = input.number ?? (await nextEngagementNumber(db, input.accountId, counter));
  if (input.number !== undefined) await nextEngagementNumber(db, input.accountId, counter, input.number);
  const row = await db
    .insertInto('messages')
    .values({
      account_id: input.accountId,
      message_number: number,
      channel: input.channel,
      list_id: input.listId ?? null,
      subject: input.subject ?? null,
      html: input.html ?? null,
      text: input.text ?? null,
      sender_email: input.senderEmail ?? null,
      sender_name: input.senderName ?? null,
      reply_to: input.replyTo ?? null,
      attachments_json: input.attachments?.length ? JSON.stringify(input.attachments) : null,
      campaign_code: input.campaignCode ?? null,
      created_at: at.toISOString(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return messageRowToMessage(row);
}

export async function findMessage(
  db: Db,
  accountId: string,
  channel: Channel,
  number: number,
): Promise<Message | undefined> {
  const row = await db
    .selectFrom('messages')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('channel', '=', channel)
    .where('message_number', '=', number)
    .executeTakeFirst();
  return row && messageRowToMessage(row);
}

export async function getMessage(
  db: Db,
  accountId: string,
  channel: Channel,
  number: number,
): Promise<Message> {
  const m = await findMessage(db, accountId, channel, number);
  if (!m)
    throw new NotFoundError(
      `${channel === 'email' ? 'idNl' : 'idSMS'} ${number} does not exist in ${accountId}`,
      {
        code: 'DS_MESSAGE_UNKNOWN',
      },
    );
  return m;
}

/** Messages of one channel, newest first; keyset page on the number. */
export async function listMessages(
  db: Db,
  accountId: string,
  channel: Channel,
  q: { limit?: number; beforeNumber?: number } = {},
): Promise<Message[]> {
  let query = db
    .selectFrom('messages')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('channel', '=', channel);
  if (q.beforeNumber !== undefined) query = query.where('message_number', '<', q.beforeNumber);
  const rows = await query
    .orderBy('message_number', 'desc')
    .limit(Math.min(Math.max(q.limit ?? 100, 1), 1000))
    .execute();
  return rows.map(messageRowToMessage);
}

export interface NewSendingInput {
  accountId: string;
  channel: Channel;
  /** `idNl` / `idSMS` of the message to send. */
  messageNumber: number;
  /** Target: a list, a group (its list is recorded too), or explicit recipients (internal ids). */
  listId?: number;
  groupId?: number;
  recipientIds?: number[];
  scheduledAt?: string | null;
}

/** Create a sending (`idInvio`) in status `queued`; the email/SMS engines pick it up. */
export async function createSending(db: Db, input: NewSendingInput, at = new Date()): Promise<Sending> {
  return inTransaction(db, (trx) => insertSending(trx, input, at));
}

async function insertSending(db: Db, input: NewSendingInput, at: Date): Promise<Sending> {
  const message = await getMessage(db, input.accountId, input.channel, input.messageNumber);
  const targets = [input.listId, input.groupId, input.recipientIds].filter((t) => t !== undefined);
  if (targets.length !== 1)
    throw new ValidationError('a sending goes to exactly one of: a list, a group, or explicit recipients');
  let listId = input.listId ?? null;
  if (input.listId !== undefined) await getList(db, input.accountId, input.listId);
  if (input.groupId !== undefined) {
    const g = await findGroup(db, input.accountId, input.groupId);
    if (!g) throw new NotFoundError(`group ${input.groupId} does not exist`, { code: 'DS_GROUP_UNKNOWN' });
    listId = g.listId;
  }
  const recipientIds = [...new Set(input.recipientIds ?? [])];
  if (input.recipientIds) {
    if (recipientIds.length === 0)
      throw new ValidationError('a sending to explicit recipients needs at least one');
    const found = new Set<number>();
    for (let i = 0; i < recipientIds.length; i += 1000) {
      const rows = await db
        .selectFrom('recipients')
        .select('id')
        .where('account_id', '=', input.accountId)
        .where('id', 'in', recipientIds.slice(i, i + 1000))
        .execute();
      for (const r of rows) found.add(r.id);
    }
    const missing = recipientIds.filter((id) => !found.has(id));
    if (missing.length)
      throw new NotFoundError(`recipients ${missing.slice(0, 10).join(', ')} do not exist`, {
        code: 'DS_RECIPIENT_UNKNOWN',
        details: { missing: missing.slice(0, 100) },
      });
    listId ??= message.listId;
  }
  const number = await nextEngagementNumber(db, input.accountId, 'idInvio');
  const row = await db
    .insertInto('sendings')
    .values({
      account_id: input.accountId,
      sending_number: number,
      message_id: message.id,
      list_id: listId,
      group_id: input.groupId ?? null,
      status: 'queued',
      scheduled_at: input.scheduledAt ?? null,
      started_at: null,
      ended_at: null,
      counters_json: null,
      created_at: at.toISOString(),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  for (let i = 0; i < recipientIds.length; i += 1000)
    await db
      .insertInto('sending_recipients')
      .values(recipientIds.slice(i, i + 1000).map((rid) => ({ sending_id: row.id, recipient_id: rid })))
      .execute();
  return sendingRowToSending({ ...row, channel: message.channel, message_number: message.number });
}

function sendingQuery(db: Db) {
  return db
    .selectFrom('sendings')
    .innerJoin('messages', 'messages.id', 'sendings.message_id')
    .selectAll('sendings')
    .select(['messages.channel', 'messages.message_number']);
}

/** A sending by its `idInvio`. */
export async function findSending(db: Db, accountId: string, number: number): Promise<Sending | undefined> {
  const row = await sendingQuery(db)
    .where('sendings.account_id', '=', accountId)
    .where('sendings.sending_number', '=', number)
    .executeTakeFirst();
  return row && sendingRowToSending(row);
}

export async function getSending(db: Db, accountId: string, number: number): Promise<Sending> {
  const s = await findSending(db, accountId, number);
  if (!s)
    throw new NotFoundError(`idInvio ${number} does not exist in ${accountId}`, {
      code: 'DS_SENDING_UNKNOWN',
    });
  return s;
}

/** A sending by its internal id (what a tracking token carries). */
export async function findSendingById(db: Db, id: number): Promise<Sending | undefined> {
  const row = await sendingQuery(db).where('sendings.id', '=', id).executeTakeFirst();
  return row && sendingRowToSending(row);
}

/** Sendings of an account, newest first; keyset page on `idInvio`. */
export async function listSendings(
  db: Db,
  accountId: string,
  q: { limit?: number; beforeNumber?: number; messageId?: number } = {},
): Promise<Sending[]> {
  let query = sendingQuery(db).where('sendings.account_id', '=', accountId);
  if (q.beforeNumber !== undefined) query = query.where('sendings.sending_number', '<', q.beforeNumber);
  if (q.messageId !== undefined) query = query.where('sendings.message_id', '=', q.messageId);
  const rows = await query
    .orderBy('sendings.sending_number', 'desc')
    .limit(Math.min(Math.max(q.limit ?? 100, 1), 1000))
    .execute();
  return rows.map(sendingRowToSending);
}

/** Internal ids of a sending's explicit recipients (empty for list/group sendings). */
export async function listSendingRecipientIds(db: Db, sendingId: number): Promise<number[]> {
  const rows = await db
    .selectFrom('sending_recipients')
    .select('recipient_id')
    .where('sending_id', '=', sendingId)
    .orderBy('recipient_id')
    .execute();
  return rows.map((r) => r.recipient_id);
}
