/**
 * The batched write path of imports (reference §2; ARCHITECTURE invariant 4). The import engine decides
 * create / update / unchanged in memory for a batch of a few thousand rows; these functions do the set-based
 * reads and multi-row writes, all inside the caller's transaction together with the job checkpoint.
 *
 * Speed notes, measured on 1M-row files:
 * - multi-row statements, chunked to the dialect's parameter limit (`maxParameters`), never one per row;
 * - the SQL of a multi-row statement depends only on its row count and columns, so it is compiled once by
 *   Kysely and cached; later batches bind new parameters to the cached text (Kysely's compiler would otherwise
 *   walk ~40k AST nodes per statement);
 * - updates are `INSERT … ON CONFLICT (id) DO UPDATE` of full rows: one statement shape for both dialects;
 * - unchanged rows are never written (decided in memory), which is what spares PostgreSQL a new row version.
 */
import { CompiledQuery, sql, type Compilable } from 'kysely';
import type { Db } from './accounts.js';
import type { Subscription } from './recipients.js';
import type { StoreDialect } from './dialect.js';
import type { Channel, FieldColumns, SubscriptionStatus } from './tables.js';

/** Rows per multi-row statement, at most (fewer when the parameter limit requires). */
const MAX_ROWS_PER_STATEMENT = 500;

export type FieldColumn = keyof FieldColumns;
export const fieldColumn = (fieldId: number): FieldColumn => `f${fieldId}` as FieldColumn;

export interface KeyedRecipient {
  id: number;
  email: string | null;
  mobile: string | null;
  /** Values of the requested field ids, in their order. */
  values: (string | null)[];
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function rowsPerStatement(dialect: StoreDialect, paramsPerRow: number): number {
  return Math.max(1, Math.min(MAX_ROWS_PER_STATEMENT, Math.floor(dialect.maxParameters / paramsPerRow)));
}

/**
 * Whether the driver binds a JS array as one SQL array parameter (`= any($1)`, `unnest($1, $2…)`). With it,
 * PostgreSQL gets small constant statements instead of 5,000-value IN lists and 500-row VALUES, whose parse and
 * plan time dominated (measured: 3–5× slower). Data, not an `if`: this belongs on `StoreDialect`
 * (`supportsArrayParams`) once store/ adopts it.
 */
const ARRAY_PARAMS: Record<StoreDialect['name'], boolean> = { sqlite: false, postgres: true };
export const supportsArrayParams = (dialect: StoreDialect): boolean => ARRAY_PARAMS[dialect.name];

type ArrayType = 'text' | 'int4';
/** `unnest($1::text[], $2::int4[], …) as u(c1, c2, …)`: one row per index of the parallel arrays. */
function unnestFrom(cols: { name: string; type: ArrayType; values: unknown[] }[]) {
  return sql`unnest(${sql.join(cols.map((c) => sql`${c.values}::${sql.raw(c.type)}[]`))}) as u(${sql.join(cols.map((c) => sql.id(c.name)))})`;
}

/** Compiled SQL text cache: key → SQL. Bounded by (statement kinds × distinct row counts ≤ 500). */
const sqlCache = new Map<string, string>();

/**
 * Run a multi-row statement: `build(n)` makes the Kysely query for n placeholder rows (any values; its SQL is
 * cached by `key` and n), `params` are the real values in row-major column order.
 */
async function execCached(
  db: Db,
  dialect: StoreDialect,
  key: string,
  n: number,
  build: (n: number) => Compilable,
  params: unknown[],
): Promise<unknown[]> {
  // The dialect is part of the key: placeholders differ (`?` / `$1`) and one process may hold both stores.
  const k = `${dialect.name}:${key}#${n}`;
  let text = sqlCache.get(k);
  if (text === undefined) {
    const compiled = build(n).compile();
    if (compiled.parameters.length !== params.length)
      throw new Error(
        `import batch: ${key} compiled ${compiled.parameters.length} parameters for ${params.length} values`,
      );
    text = compiled.sql;
    if (sqlCache.size > 4000) sqlCache.clear();
    sqlCache.set(k, text);
  }
  const res = await db.executeQuery(CompiledQuery.raw(text, params));
  return res.rows as unknown[];
}

/** Existing recipients of the account having one of these emails or mobiles, with the given field values. */
export async function findRecipientsByKeys(
  db: Db,
  dialect: StoreDialect,
  accountId: string,
  emails: string[],
  mobiles: string[],
  fieldIds: number[],
): Promise<KeyedRecipient[]> {
  const cols = fieldIds.map(fieldColumn);
  const out = new Map<number, KeyedRecipient>();
  const size = Math.max(1, dialect.maxParameters - 10);
  const arrays = supportsArrayParams(dialect);
  const run = async (column: 'email' | 'mobile', keys: string[]) => {
    for (const part of arrays ? [keys] : chunks(keys, size)) {
      const rows = await db
        .selectFrom('recipients')
        .select(['id', 'email', 'mobile', ...cols])
        .where('account_id', '=', accountId)
        .where(column, arrays ? '=' : 'in', arrays ? sql<string>`any(${part}::text[])` : part)
        .execute();
      for (const r of rows) {
        const rec = r as unknown as Record<string, string | null> & { id: number };
        if (!out.has(rec.id))
          out.set(rec.id, {
            id: rec.id,
            email: rec.email ?? null,
            mobile: rec.mobile ?? null,
            values: cols.map((c) => rec[c] ?? null),
          });
      }
    }
  };
  if (emails.length > 0) await run('email', emails);
  if (mobiles.length > 0) await run('mobile', mobiles);
  return [...out.values()];
}

/** A subscription as the batch planner reads it: the same shape the recipients service returns. */
export type SubscriptionState = Subscription;

export async function findSubscriptionStates(
  db: Db,
  dialect: StoreDialect,
  recipientIds: number[],
  listIds: number[],
): Promise<SubscriptionState[]> {
  if (recipientIds.length === 0 || listIds.length === 0) return [];
  const out: SubscriptionState[] = [];
  const arrays = supportsArrayParams(dialect);
  for (const part of arrays
    ? [recipientIds]
    : chunks(recipientIds, Math.max(1, dialect.maxParameters - listIds.length - 10))) {
    const rows = await db
      .selectFrom('subscriptions')
      .select([
        'recipient_id',
        'list_id',
        'channel',
        'status',
        'subscribed_at',
        'unsubscribed_at',
        'optout_type',
      ])
      .where('recipient_id', arrays ? '=' : 'in', arrays ? sql<number>`any(${part}::int4[])` : part)
      .where('list_id', 'in', listIds)
      .execute();
    for (const r of rows)
      out.push({
        recipientId: r.recipient_id,
        listId: r.list_id,
        channel: r.channel,
        status: r.status,
        subscribedAt: r.subscribed_at,
        unsubscribedAt: r.unsubscribed_at,
        optoutType: r.optout_type,
      });
  }
  return out;
}

export async function findGroupMemberships(
  db: Db,
  dialect: StoreDialect,
  recipientIds: number[],
  groupIds: number[],
): Promise<{ groupId: number; recipientId: number }[]> {
  if (recipientIds.length === 0 || groupIds.length === 0) return [];
  const out: { groupId: number; recipientId: number }[] = [];
  for (const part of chunks(recipientIds, Math.max(1, dialect.maxParameters - groupIds.length - 10))) {
    const rows = await db
      .selectFrom('group_members')
      .select(['group_id', 'recipient_id'])
      .where('recipient_id', 'in', part)
      .where('group_id', 'in', groupIds)
      .execute();
    for (const r of rows) out.push({ groupId: r.group_id, recipientId: r.recipient_id });
  }
  return out;
}

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
    await sql`
      update recipients as r
      set email = u.email, mobile = u.mobile, ${sql.raw(cols.map((c) => `${c} = u.${c}, `).join(''))}updated_at = ${now}
      from ${unnestFrom([
        { name: 'id', type: 'int4', values: rows.map((r) => r.id) },
        { name: 'email', type: 'text', values: rows.map((r) => r.email) },
        { name: 'mobile', type: 'text', values: rows.map((r) => r.mobile) },
        ...cols.map((c, i) => ({ name: c, type: 'text' as const, values: rows.map((r) => r.values[i]) })),
      ])}
      where r.id = u.id and r.account_id = ${accountId}`.execute(db);
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

/** Job progress written in the same transaction as the batch it covers (invariant 4). */
export async function saveImportCheckpoint(
  db: Db,
  jobId: string,
  checkpoint: unknown,
  counters: unknown,
): Promise<void> {
  await db
    .updateTable('jobs')
    .set({ checkpoint_json: JSON.stringify(checkpoint), counters_json: JSON.stringify(counters) })
    .where('id', '=', jobId)
    .execute();
}

/**
 * One page of a list's recipients on some channels with some statuses, in recipient id order (keyset), for the
 * full-import missing rule: `afterId` exclusive.
 */
export async function pageListSubscribers(
  db: Db,
  accountId: string,
  listId: number,
  channels: Channel[],
  statuses: SubscriptionStatus[],
  afterId: number,
  limit: number,
): Promise<{ recipientId: number; channel: Channel }[]> {
  const rows = await db
    .selectFrom('subscriptions')
    .select(['recipient_id', 'channel'])
    .where('account_id', '=', accountId)
    .where('list_id', '=', listId)
    .where('channel', 'in', channels)
    .where('status', 'in', statuses)
    .where('recipient_id', '>', afterId)
    .orderBy('recipient_id')
    .orderBy('channel')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ recipientId: r.recipient_id, channel: r.channel }));
}

/** One page of a group's members in recipient id order (keyset), `afterId` exclusive. */
export async function pageGroupMembers(
  db: Db,
  groupId: number,
  afterId: number,
  limit: number,
): Promise<number[]> {
  const rows = await db
    .selectFrom('group_members')
    .select('recipient_id')
    .where('group_id', '=', groupId)
    .where('recipient_id', '>', afterId)
    .orderBy('recipient_id')
    .limit(limit)
    .execute();
  return rows.map((r) => r.recipient_id);
}

/** Unsubscribe (type `code`) the given recipients of a list on a channel, if still subscribed or pending. */
export async function unsubscribeMissing(
  db: Db,
  accountId: string,
  listId: number,
  channel: Channel,
  recipientIds: number[],
  code: string,
  now: string,
): Promise<void> {
  if (recipientIds.length === 0) return;
  await db
    .updateTable('subscriptions')
    .set({
      status: 'unsubscribed',
      unsubscribed_at: now,
      optout_type: code,
      optout_message_id: null,
      updated_at: now,
    })
    .where('account_id', '=', accountId)
    .where('list_id', '=', listId)
    .where('channel', '=', channel)
    .where('status', 'in', ['subscribed', 'pending'])
    .where('recipient_id', 'in', recipientIds)
    .execute();
}

export async function countListSubscribers(
  db: Db,
  accountId: string,
  listId: number,
  channels: Channel[],
  statuses: SubscriptionStatus[],
): Promise<number> {
  const r = await db
    .selectFrom('subscriptions')
    .select(sql<number>`count(*)`.as('n'))
    .where('account_id', '=', accountId)
    .where('list_id', '=', listId)
    .where('channel', 'in', channels)
    .where('status', 'in', statuses)
    .executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** Whether this instance already imported a file with this content. */
export async function isFileProcessed(db: Db, instanceId: string, sha256: string): Promise<string | null> {
  const r = await db
    .selectFrom('processed_files')
    .select('job_id')
    .where('instance_id', '=', instanceId)
    .where('sha256', '=', sha256)
    .executeTakeFirst();
  return r ? r.job_id : null;
}

export async function markFileProcessed(
  db: Db,
  input: { instanceId: string; sha256: string; accountId: string; jobId: string },
  now: string,
): Promise<void> {
  await db
    .insertInto('processed_files')
    .values({
      instance_id: input.instanceId,
      sha256: input.sha256,
      account_id: input.accountId,
      job_id: input.jobId,
      processed_at: now,
    })
    .onConflict((oc) =>
      oc.columns(['instance_id', 'sha256']).doUpdateSet({ job_id: input.jobId, processed_at: now }),
    )
    .execute();
}
