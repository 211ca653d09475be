/**
 * Recipients and their subscriptions: single-row upsert with the default rules of reference §2.4 (the import
 * engine has its own batched write path for speed, with the same rules).
 */
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { Db } from './accounts.js';
import { getAccount, getList } from './accounts.js';
import { FIELD_VALUE_MAX_BYTES, requireEmail, requireMobile } from './recipient-keys.js';
import type { Channel, FieldColumns, RecipientRow, SubscriptionRow, SubscriptionStatus } from './tables.js';

export interface Recipient {
  id: number;
  accountId: string;
  email: string | null;
  mobile: string | null;
  /** Field id → value, only fields that have a value. */
  fields: Record<number, string>;
  createdAt: string;
  updatedAt: string;
}

export interface Subscription {
  recipientId: number;
  listId: number;
  channel: Channel;
  status: SubscriptionStatus;
  subscribedAt: string | null;
  unsubscribedAt: string | null;
  optoutType: string | null;
}

export function recipientRowToRecipient(r: RecipientRow): Recipient {
  const fields: Record<number, string> = {};
  for (let f = 1; f <= 39; f++) {
    const v = r[`f${f}` as keyof FieldColumns];
    if (v !== null && v !== undefined && v !== '') fields[f] = v;
  }
  return {
    id: r.id,
    accountId: r.account_id,
    email: r.email,
    mobile: r.mobile,
    fields,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export const subscriptionRowToSubscription = (r: SubscriptionRow): Subscription => ({
  recipientId: r.recipient_id,
  listId: r.list_id,
  channel: r.channel,
  status: r.status,
  subscribedAt: r.subscribed_at,
  unsubscribedAt: r.unsubscribed_at,
  optoutType: r.optout_type,
});

export interface UpsertRecipientInput {
  accountId: string;
  email?: string | null;
  mobile?: string | null;
  /** Prefix for `mobile` when it is given without one (`222` column); else the list's default prefix is used. */
  mobilePrefix?: string | null;
  /** Field id (1..39) → value. Empty values keep the stored value unless `overwriteEmpty`. */
  fields?: Record<number, string | null>;
  overwriteEmpty?: boolean;
  /** List to subscribe to, on `channels` (default: the channels whose key is given). */
  listId?: number;
  channels?: Channel[];
  groupIds?: number[];
}

export interface UpsertRecipientResult {
  recipient: Recipient;
  created: boolean;
  /** Subscriptions created by this call (existing ones are left unchanged: reference §2.4 default rule 2). */
  subscribed: Channel[];
}

/**
 * Create or update one recipient, matched by email and by mobile; never creates a duplicate.
 * New recipients (and existing ones new to the list) are subscribed; existing subscriptions are unchanged.
 */
export async function upsertRecipient(
  db: Db,
  input: UpsertRecipientInput,
  at = new Date(),
): Promise<UpsertRecipientResult> {
  const account = await getAccount(db, input.accountId);
  const list = input.listId !== undefined ? await getList(db, input.accountId, input.listId) : undefined;
  const email = input.email ? requireEmail(input.email) : null;
  const mobile = input.mobile
    ? requireMobile({
        number: input.mobile,
        prefix: input.mobilePrefix,
        defaultPrefix: list?.mobilePrefix,
        defaultCountry: account.defaultCountry,
      })
    : null;
  if (!email && !mobile)
    throw new ValidationError('a recipient needs an email address or a mobile number', {
      code: 'DS_RECIPIENT_KEY_MISSING',
    });

  const values: Partial<FieldColumns> = {};
  for (const [k, v] of Object.entries(input.fields ?? {})) {
    const id = Number(k);
    if (!Number.isInteger(id) || id < 1 || id > 39)
      throw new ValidationError(`field id ${k} is outside 1..39`, { code: 'DS_FIELD_UNKNOWN' });
    if (v !== null && Buffer.byteLength(v, 'utf8') > FIELD_VALUE_MAX_BYTES)
      throw new ValidationError(`field ${id} is longer than ${FIELD_VALUE_MAX_BYTES} bytes`, {
        code: 'DS_FIELD_TOO_LONG',
      });
    if ((v === null || v === '') && !input.overwriteEmpty) continue;
    values[`f${id}` as keyof FieldColumns] = v === '' ? null : v;
  }

  const byEmail = email
    ? await db
        .selectFrom('recipients')
        .selectAll()
        .where('account_id', '=', input.accountId)
        .where('email', '=', email)
        .executeTakeFirst()
    : undefined;
  const byMobile = mobile
    ? await db
        .selectFrom('recipients')
        .selectAll()
        .where('account_id', '=', input.accountId)
        .where('mobile', '=', mobile)
        .executeTakeFirst()
    : undefined;
  if (byEmail && byMobile && byEmail.id !== byMobile.id)
    throw new ConflictError(`email ${email} and mobile ${mobile} belong to two different recipients`, {
      code: 'DS_RECIPIENT_KEY_CONFLICT',
      details: { emailRecipientId: byEmail.id, mobileRecipientId: byMobile.id },
    });
  const existing = byEmail ?? byMobile;
  const now = at.toISOString();
  let row: RecipientRow;
  if (!existing) {
    row = await db
      .insertInto('recipients')
      .values({
        account_id: input.accountId,
        email,
        mobile,
        ...values,
        created_at: now,
        updated_at: now,
        erased_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } else {
    const update: Partial<RecipientRow> = { ...values };
    if (email && !existing.email) update.email = email;
    if (mobile && !existing.mobile) update.mobile = mobile;
    const changed = Object.entries(update).some(([k, v]) => existing[k as keyof RecipientRow] !== v);
    row = changed
      ? await db
          .updateTable('recipients')
          .set({ ...update, updated_at: now })
          .where('id', '=', existing.id)
          .returningAll()
          .executeTakeFirstOrThrow()
      : existing;
  }

  const subscribed: Channel[] = [];
  if (list) {
    const channels =
      input.channels ?? ([email ? 'email' : null, mobile ? 'sms' : null].filter(Boolean) as Channel[]);
    for (const channel of channels) {
      if (channel === 'email' && !row.email) continue;
      if (channel === 'sms' && !row.mobile) continue;
      const res = await db
        .insertInto('subscriptions')
        .values({
          account_id: input.accountId,
          recipient_id: row.id,
          list_id: list.listId,
          channel,
          status: 'subscribed',
          subscribed_at: now,
          unsubscribed_at: null,
          optout_type: null,
          optout_message_id: null,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(['recipient_id', 'list_id', 'channel']).doNothing())
        .executeTakeFirst();
      if (Number(res.numInsertedOrUpdatedRows ?? 0) > 0) subscribed.push(channel);
    }
  }
  for (const groupId of input.groupIds ?? []) {
    const g = await db
      .selectFrom('groups')
      .select(['id', 'list_id'])
      .where('account_id', '=', input.accountId)
      .where('id', '=', groupId)
      .executeTakeFirst();
    if (!g) throw new NotFoundError(`group ${groupId} does not exist`, { code: 'DS_GROUP_UNKNOWN' });
    await db
      .insertInto('group_members')
      .values({ group_id: groupId, recipient_id: row.id, added_at: now })
      .onConflict((oc) => oc.columns(['group_id', 'recipient_id']).doNothing())
      .execute();
  }
  return { recipient: recipientRowToRecipient(row), created: !existing, subscribed };
}

/** Unsubscribe types that an opt-in can never override (bounces `8x`, complaints `16x`; reference §1.5, §6.5). */
export function isLockedOptoutType(code: string | null): boolean {
  return code !== null && (/^8/.test(code) || /^16/.test(code));
}

/**
 * Change one subscription's status and record the change as an event (the unsubscribers export reads them).
 * Forcing `subscribed` over a bounce or complaint unsubscription is refused with DS_SUBSCRIPTION_LOCKED.
 */
export async function setSubscriptionStatus(
  db: Db,
  input: {
    accountId: string;
    recipientId: number;
    listId: number;
    channel: Channel;
    status: SubscriptionStatus;
    optoutType?: string | null;
    optoutMessageId?: number | null;
  },
  at = new Date(),
): Promise<Subscription> {
  const now = at.toISOString();
  const current = await db
    .selectFrom('subscriptions')
    .selectAll()
    .where('recipient_id', '=', input.recipientId)
    .where('list_id', '=', input.listId)
    .where('channel', '=', input.channel)
    .executeTakeFirst();
  if (
    current &&
    input.status === 'subscribed' &&
    current.status === 'unsubscribed' &&
    isLockedOptoutType(current.optout_type)
  )
    throw new ConflictError(
      `recipient ${input.recipientId} was unsubscribed by a bounce or complaint (type ${current.optout_type}); an opt-in cannot be forced`,
      { code: 'DS_SUBSCRIPTION_LOCKED' },
    );
  const unsub = input.status === 'unsubscribed';
  const values = {
    account_id: input.accountId,
    recipient_id: input.recipientId,
    list_id: input.listId,
    channel: input.channel,
    status: input.status,
    subscribed_at: input.status === 'subscribed' ? now : (current?.subscribed_at ?? null),
    unsubscribed_at: unsub ? now : null,
    optout_type: unsub ? (input.optoutType ?? null) : null,
    optout_message_id: unsub ? (input.optoutMessageId ?? null) : null,
    updated_at: now,
  };
  if (current?.status === input.status) return subscriptionRowToSubscription(current);
  await db
    .insertInto('subscriptions')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['recipient_id', 'list_id', 'channel']).doUpdateSet({
        status: values.status,
        subscribed_at: values.subscribed_at,
        unsubscribed_at: values.unsubscribed_at,
        optout_type: values.optout_type,
        optout_message_id: values.optout_message_id,
        updated_at: now,
      }),
    )
    .execute();
  await db
    .insertInto('events')
    .values({
      account_id: input.accountId,
      kind: unsub ? 'unsubscribe' : 'subscribe',
      channel: input.channel,
      recipient_id: input.recipientId,
      list_id: input.listId,
      message_id: input.optoutMessageId ?? null,
      sending_id: null,
      url: null,
      code: unsub ? (input.optoutType ?? null) : input.status,
      detail: null,
      provider_message_id: null,
      ip: null,
      user_agent: null,
      idempotency_key: null,
      occurred_at: now,
      recorded_at: now,
    })
    .execute();
  return subscriptionRowToSubscription(values as SubscriptionRow);
}

export interface RecipientListing {
  recipient: Recipient;
  subscriptions: Subscription[];
}

export interface ListRecipientsQuery {
  listId?: number;
  status?: SubscriptionStatus;
  channel?: Channel;
  /** Exact email or mobile (normalised by the caller or matched as given). */
  search?: string;
  /**
   * An email compared without regard to case (`ZED@example.com` finds `zed@example.com`: imports keep the
   * local part's case). Not served by the unique index: callers try the exact `search` first.
   */
  searchEmailAnyCase?: string;
  /** Page size, default 100, at most 1000. */
  limit?: number;
  /** Keyset cursor: return recipients with id greater than this. */
  afterId?: number;
}

/** One page of recipients (keyset pagination on id, so page N costs the same as page 1). */
export async function listRecipients(
  db: Db,
  accountId: string,
  q: ListRecipientsQuery = {},
): Promise<RecipientListing[]> {
  const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
  let query = db
    .selectFrom('recipients')
    .selectAll('recipients')
    .where('recipients.account_id', '=', accountId);
  if (q.afterId !== undefined) query = query.where('recipients.id', '>', q.afterId);
  if (q.search)
    query = query.where((eb) =>
      eb.or([eb('recipients.email', '=', q.search!), eb('recipients.mobile', '=', q.search!)]),
    );
  if (q.searchEmailAnyCase)
    query = query.where((eb) =>
      eb(eb.fn<string>('lower', ['recipients.email']), '=', q.searchEmailAnyCase!.toLowerCase()),
    );
  if (q.listId !== undefined || q.status || q.channel) {
    query = query.where((eb) => {
      let sub = eb
        .selectFrom('subscriptions')
        .select('subscriptions.recipient_id')
        .whereRef('subscriptions.recipient_id', '=', 'recipients.id');
      if (q.listId !== undefined) sub = sub.where('subscriptions.list_id', '=', q.listId);
      if (q.status) sub = sub.where('subscriptions.status', '=', q.status);
      if (q.channel) sub = sub.where('subscriptions.channel', '=', q.channel);
      return eb.exists(sub);
    });
  }
  const rows = await query.orderBy('recipients.id').limit(limit).execute();
  if (rows.length === 0) return [];
  const subs = await db
    .selectFrom('subscriptions')
    .selectAll()
    .where(
      'recipient_id',
      'in',
      rows.map((r) => r.id),
    )
    .orderBy('list_id')
    .orderBy('channel')
    .execute();
  const byRecipient = new Map<number, Subscription[]>();
  for (const s of subs) {
    const arr = byRecipient.get(s.recipient_id) ?? [];
    arr.push(subscriptionRowToSubscription(s));
    byRecipient.set(s.recipient_id, arr);
  }
  return rows.map((r) => ({
    recipient: recipientRowToRecipient(r),
    subscriptions: byRecipient.get(r.id) ?? [],
  }));
}
