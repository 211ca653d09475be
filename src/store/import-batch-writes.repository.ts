/**
 * The batched writes of imports (reference §2; ARCHITECTURE invariant 4): new recipients, changed ones,
 * subscription states, group memberships and unsubscribe events, all inside the caller's transaction together
 * with the job checkpoint. Multi-row statements chunked to the parameter limit with their SQL compiled once
 * (SQLite), `unnest` of array parameters (PostgreSQL); unchanged rows are never passed here.
 */
import { sql } from 'kysely';
import type { Db } from './accounts.js';
import type { StoreDialect } from './dialect.js';
import {
  chunks,
  execCached,
  fieldColumn,
  rowsPerStatement,
  supportsArrayParams,
  unnestFrom,
} from './import-batch-sql.js';
import type { Channel, SubscriptionStatus } from './tables.js';

export interface NewImportedRecipient {
  email: string | null;
  mobile: string | null;
  values: (string | null)[];
}

/**
 * Insert new recipients; returns their ids in input order. Ids are matched back by key (every new recipient
 * has an email or a mobile, both unique), because neither dialect promises RETURNING order.
 */
export async function insertImportedRecipients(
  db: Db,
  dialect: StoreDialect,
  accountId: string,
  fieldIds: number[],
  rows: NewImportedRecipient[],
  now: string,
): Promise<number[]> {
  const cols = fieldIds.map(fieldColumn);
  const per = 5 + cols.length;
  const ids: number[] = new Array(rows.length);
  const index = new Map<string, number>();
  rows.forEach((r, i) => index.set(r.email !== null ? `e:${r.email}` : `m:${r.mobile}`, i));
  if (supportsArrayParams(dialect)) {
    const res = await sql<{ id: number; email: string | null; mobile: string | null }>`
      insert into recipients (account_id, email, mobile, ${sql.raw(cols.map((c) => `${c}, `).join(''))}created_at, updated_at)
      select ${accountId}, u.email, u.mobile, ${sql.raw(cols.map((c) => `u.${c}, `).join(''))}${now}, ${now}
      from ${unnestFrom([
        { name: 'email', type: 'text', values: rows.map((r) => r.email) },
        { name: 'mobile', type: 'text', values: rows.map((r) => r.mobile) },
        ...cols.map((c, i) => ({ name: c, type: 'text' as const, values: rows.map((r) => r.values[i]) })),
      ])}
      returning id, email, mobile`.execute(db);
    for (const g of res.rows) {
      const i = index.get(g.email !== null ? `e:${g.email}` : `m:${g.mobile}`);
      if (i !== undefined) ids[i] = Number(g.id);
    }
    return ids;
  }
  const key = `ins-rec:${cols.join(',')}`;
  for (const part of chunks(rows, rowsPerStatement(dialect, per))) {
    const params: unknown[] = [];
    for (const r of part) {
      params.push(accountId, r.email, r.mobile);
      for (const v of r.values) params.push(v);
      params.push(now, now);
    }
    const build = (n: number) =>
      db
        .insertInto('recipients')
        .values(
          Array.from({ length: n }, () => {
            const v: Record<string, string> = { account_id: '', email: '', mobile: '' };
            for (const c of cols) v[c] = '';
            v.created_at = '';
            v.updated_at = '';
            return v as never;
          }),
        )
        .returning(['id', 'email', 'mobile']);
    const got = (await execCached(db, dialect, key, part.length, build, params)) as {
      id: number;
      email: string | null;
      mobile: string | null;
    }[];
    for (const g of got) {
      const i = index.get(g.email !== null ? `e:${g.email}` : `m:${g.mobile}`);
      if (i !== undefined) ids[i] = Number(g.id);
    }
  }
  return ids;
}

export interface ImportedRecipientUpdate extends NewImportedRecipient {
  id: number;
}

/** Write changed recipients (full rows of the mapped columns). Unchanged ones must not be passed. */
export async function updateImportedRecipients(
  db: Db,
  dialect: StoreDialect,
  accountId: string,
  fieldIds: number[],
  rows: ImportedRecipientUpdate[],
  now: string,
): Promise<void> {
  const cols = fieldIds.map(fieldColumn);
  const per = 6 + cols.length;
  const key = `upd-rec:${cols.join(',')}`;
  if (supportsArrayParams(dialect)) {
    // `insert … on conflict (id) do update`, like the SQLite branch below and the raw limit: each row is one
    // primary-key probe. `update … from unnest(…)` left the join to the planner, which hashed the whole account
    // (a seq scan, or a bitmap of every row when the table had no statistics yet) for every 5,000-row batch:
    // 461 ms against 116 ms a batch at 200,000 recipients, and growing with the table. Every id was just read in
    // this transaction, so the row conflicts (were it deleted meanwhile, the row is created again with its id,
    // as a later import of the same row would); the account check keeps another account's row untouched.
    await sql`
      insert into recipients (id, account_id, email, mobile, ${sql.raw(cols.map((c) => `${c}, `).join(''))}created_at, updated_at)
      select u.id, ${accountId}, u.email, u.mobile, ${sql.raw(cols.map((c) => `u.${c}, `).join(''))}${now}, ${now}
      from ${unnestFrom([
        { name: 'id', type: 'int4', values: rows.map((r) => r.id) },
        { name: 'email', type: 'text', values: rows.map((r) => r.email) },
        { name: 'mobile', type: 'text', values: rows.map((r) => r.mobile) },
        ...cols.map((c, i) => ({ name: c, type: 'text' as const, values: rows.map((r) => r.values[i]) })),
      ])}
      on conflict (id) do update
      set email = excluded.email, mobile = excluded.mobile, ${sql.raw(cols.map((c) => `${c} = excluded.${c}, `).join(''))}updated_at = excluded.updated_at
      where recipients.account_id = excluded.account_id`.execute(db);
    return;
  }
  for (const part of chunks(rows, rowsPerStatement(dialect, per))) {
    const params: unknown[] = [];
    for (const r of part) {
      params.push(r.id, accountId, r.email, r.mobile);
      for (const v of r.values) params.push(v);
      params.push(now, now);
    }
    const build = (n: number) =>
      db
        .insertInto('recipients')
        .values(
          Array.from({ length: n }, () => {
            const v: Record<string, string | number> = { id: 0, account_id: '', email: '', mobile: '' };
            for (const c of cols) v[c] = '';
            v.created_at = '';
            v.updated_at = '';
            return v as never;
          }),
        )
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => {
            const set: Record<string, unknown> = {
              email: eb.ref('excluded.email'),
              mobile: eb.ref('excluded.mobile'),
              updated_at: eb.ref('excluded.updated_at'),
            };
            for (const c of cols) set[c] = eb.ref(`excluded.${c}`);
            return set as never;
          }),
        );
    await execCached(db, dialect, key, part.length, build, params);
  }
}

export interface SubscriptionWrite {
  recipientId: number;
  listId: number;
  channel: Channel;
  status: SubscriptionStatus;
  subscribedAt: string | null;
  unsubscribedAt: string | null;
  optoutType: string | null;
}

/** Insert or replace subscription states (the engine computed each final state). */
export async function upsertImportedSubscriptions(
  db: Db,
  dialect: StoreDialect,
  accountId: string,
  rows: SubscriptionWrite[],
  now: string,
): Promise<void> {
  if (supportsArrayParams(dialect)) {
    if (rows.length === 0) return;
    await sql`
      insert into subscriptions (account_id, recipient_id, list_id, channel, status, subscribed_at, unsubscribed_at, optout_type, updated_at)
      select ${accountId}, u.recipient_id, u.list_id, u.channel, u.status, u.subscribed_at, u.unsubscribed_at, u.optout_type, ${now}
      from ${unnestFrom([
        { name: 'recipient_id', type: 'int4', values: rows.map((r) => r.recipientId) },
        { name: 'list_id', type: 'int4', values: rows.map((r) => r.listId) },
        { name: 'channel', type: 'text', values: rows.map((r) => r.channel) },
        { name: 'status', type: 'text', values: rows.map((r) => r.status) },
        { name: 'subscribed_at', type: 'text', values: rows.map((r) => r.subscribedAt) },
        { name: 'unsubscribed_at', type: 'text', values: rows.map((r) => r.unsubscribedAt) },
        { name: 'optout_type', type: 'text', values: rows.map((r) => r.optoutType) },
      ])}
      on conflict (recipient_id, list_id, channel) do update set
        status = excluded.status, subscribed_at = excluded.subscribed_at, unsubscribed_at = excluded.unsubscribed_at,
        optout_type = excluded.optout_type, optout_message_id = null, updated_at = excluded.updated_at`.execute(
      db,
    );
    return;
  }
  const per = 9;
  for (const part of chunks(rows, rowsPerStatement(dialect, per))) {
    const params: unknown[] = [];
    for (const r of part)
      params.push(
        accountId,
        r.recipientId,
        r.listId,
        r.channel,
        r.status,
        r.subscribedAt,
        r.unsubscribedAt,
        r.optoutType,
        now,
      );
    const build = (n: number) =>
      db
        .insertInto('subscriptions')
        .values(
          Array.from({ length: n }, () => ({
            account_id: '',
            recipient_id: 0,
            list_id: 0,
            channel: 'email' as Channel,
            status: 'subscribed' as SubscriptionStatus,
            subscribed_at: '',
            unsubscribed_at: '',
            optout_type: '',
            updated_at: '',
          })),
        )
        .onConflict((oc) =>
          oc.columns(['recipient_id', 'list_id', 'channel']).doUpdateSet((eb) => ({
            status: eb.ref('excluded.status'),
            subscribed_at: eb.ref('excluded.subscribed_at'),
            unsubscribed_at: eb.ref('excluded.unsubscribed_at'),
            optout_type: eb.ref('excluded.optout_type'),
            // A literal, not a parameter: the cached SQL must carry exactly one parameter per value.
            optout_message_id: sql<null>`null`,
            updated_at: eb.ref('excluded.updated_at'),
          })),
        );
    await execCached(db, dialect, 'subs', part.length, build, params);
  }
}

export async function addImportedGroupMembers(
  db: Db,
  dialect: StoreDialect,
  rows: { groupId: number; recipientId: number }[],
  now: string,
): Promise<void> {
  if (supportsArrayParams(dialect)) {
    if (rows.length === 0) return;
    await sql`
      insert into group_members (group_id, recipient_id, added_at)
      select u.group_id, u.recipient_id, ${now}
      from ${unnestFrom([
        { name: 'group_id', type: 'int4', values: rows.map((r) => r.groupId) },
        { name: 'recipient_id', type: 'int4', values: rows.map((r) => r.recipientId) },
      ])}
      on conflict (group_id, recipient_id) do nothing`.execute(db);
    return;
  }
  for (const part of chunks(rows, rowsPerStatement(dialect, 3))) {
    const params: unknown[] = [];
    for (const r of part) params.push(r.groupId, r.recipientId, now);
    const build = (n: number) =>
      db
        .insertInto('group_members')
        .values(Array.from({ length: n }, () => ({ group_id: 0, recipient_id: 0, added_at: '' })))
        .onConflict((oc) => oc.columns(['group_id', 'recipient_id']).doNothing());
    await execCached(db, dialect, 'gm', part.length, build, params);
  }
}

export async function removeImportedGroupMembers(
  db: Db,
  dialect: StoreDialect,
  groupId: number,
  recipientIds: number[],
): Promise<void> {
  for (const part of chunks(recipientIds, Math.max(1, dialect.maxParameters - 10)))
    await db
      .deleteFrom('group_members')
      .where('group_id', '=', groupId)
      .where('recipient_id', 'in', part)
      .execute();
}

export interface UnsubscribeEventWrite {
  recipientId: number;
  listId: number;
  channel: Channel;
  /** Unsubscribe type (reference §3.4.1): `4` for imports. */
  code: string;
}

/** Record unsubscriptions as `unsubscribe` events: the unsubscribers export reads them. */
export async function insertImportEvents(
  db: Db,
  dialect: StoreDialect,
  accountId: string,
  rows: UnsubscribeEventWrite[],
  now: string,
): Promise<void> {
  if (supportsArrayParams(dialect)) {
    if (rows.length === 0) return;
    await sql`
      insert into events (account_id, kind, channel, recipient_id, list_id, code, occurred_at, recorded_at)
      select ${accountId}, 'unsubscribe', u.channel, u.recipient_id, u.list_id, u.code, ${now}, ${now}
      from ${unnestFrom([
        { name: 'channel', type: 'text', values: rows.map((r) => r.channel) },
        { name: 'recipient_id', type: 'int4', values: rows.map((r) => r.recipientId) },
        { name: 'list_id', type: 'int4', values: rows.map((r) => r.listId) },
        { name: 'code', type: 'text', values: rows.map((r) => r.code) },
      ])}`.execute(db);
    return;
  }
  for (const part of chunks(rows, rowsPerStatement(dialect, 8))) {
    const params: unknown[] = [];
    for (const r of part)
      params.push(accountId, 'unsubscribe', r.channel, r.recipientId, r.listId, r.code, now, now);
    const build = (n: number) =>
      db.insertInto('events').values(
        Array.from({ length: n }, () => ({
          account_id: '',
          kind: 'unsubscribe' as const,
          channel: 'email' as Channel,
          recipient_id: 0,
          list_id: 0,
          code: '',
          occurred_at: '',
          recorded_at: '',
        })),
      );
    await execCached(db, dialect, 'ev', part.length, build, params);
  }
}
