/**
 * `recordEvents()`: the one write path for engagement events from outside (HTTP ingestion, `datasync
 * events add`, SMS delivery reports). Each event is validated on its own, so one bad line is reported
 * and the rest are recorded. Per chunk of events, one transaction claims the idempotency keys, writes the
 * events and applies the status rules: a retried batch is recognised by its keys and changes nothing.
 *
 * Events name the customer's numbers (`idNl` / `idSMS`, `idInvio`); rows store internal ids
 * (`messages.id`, `sendings.id`). Before each chunk's transaction, `resolveEngagementRefs` maps the numbers
 * in a few batched queries and creates the messages and sendings an external platform sent (so the exports
 * can name them); the rows it creates are kept even when the chunk's transaction fails, which is harmless:
 * they are what a retry resolves to.
 */
import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '../clock.js';
import { DatasyncError, type ErrorCode } from '../errors.js';
import {
  claimEventKeys,
  countConsecutiveSoftBounces,
  getAccount,
  insertEvents,
  messageRefKey,
  normalizeEmail,
  normalizeMobile,
  resolveEngagementRefs,
  resolveRecipientIds,
  unsubscribeFromLists,
  type Channel,
  type Database,
  type Db,
  type MessageNumberRef,
  type NewEventRow,
  type ResolvedRefs,
  type SendingNumberRef,
} from '../store/index.js';
import { ingestEventSchema, type IngestEvent } from './engagement-event.js';
import { normalizeSmsStatus } from './sms-status.js';
import { DEFAULT_SOFT_BOUNCE_THRESHOLD, OPTOUT, hardBounceType } from './status-rules.js';

export interface RecordEventsOptions {
  /**
   * A key for the whole batch (the `Idempotency-Key` header; the CLI uses the file's hash): event `i`
   * without its own `idempotencyKey` gets `<batchKey>:<i>`.
   */
  batchKey?: string;
  /** Added to indexes in results and batch keys (callers that stream a file in chunks). */
  indexOffset?: number;
  /** Consecutive soft bounces that opt a recipient out with type 512. Default 5. */
  softBounceThreshold?: number;
  clock?: Clock;
}

export interface RejectedEvent {
  /** Position in the input (0-based, plus indexOffset). */
  index: number;
  code: ErrorCode;
  message: string;
}

export interface RecordEventsResult {
  received: number;
  /** Events written (or applied, for `unsubscribe`). */
  recorded: number;
  /** Events skipped because their idempotency key was already seen. */
  duplicates: number;
  rejected: RejectedEvent[];
  /** Subscriptions changed to unsubscribed by the status rules. */
  unsubscribed: number;
}

/** Events per transaction: big enough to amortise commits, small enough to keep locks short. */
const CHUNK = 500;

interface Prepared {
  index: number;
  event: IngestEvent;
  channel: Channel;
  recipientId: number;
  key?: string;
  email?: string;
  mobile?: string;
}

/**
 * Record engagement events for one account. `events` are plain objects (validated here against
 * `ingestEventSchema`); invalid ones are listed in `rejected`, the others are recorded.
 */
export async function recordEvents(
  store: { db: Kysely<Database>; dialect?: { maxParameters: number } },
  accountId: string,
  events: readonly unknown[],
  opts: RecordEventsOptions = {},
): Promise<RecordEventsResult> {
  const clock = opts.clock ?? systemClock;
  const offset = opts.indexOffset ?? 0;
  const result: RecordEventsResult = {
    received: events.length,
    recorded: 0,
    duplicates: 0,
    rejected: [],
    unsubscribed: 0,
  };
  await getAccount(store.db, accountId);
  const reject = (index: number, code: ErrorCode, message: string) =>
    result.rejected.push({ index, code, message });

  const prepared: Omit<Prepared, 'recipientId'>[] = [];
  events.forEach((raw, i) => {
    const index = offset + i;
    const parsed = ingestEventSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
      return reject(index, 'DS_EVENT_INVALID', `${where}${issue.message}`);
    }
    const e = parsed.data;
    const channel: Channel = e.kind === 'sms_status' ? 'sms' : (e.channel ?? 'email');
    const p: Omit<Prepared, 'recipientId'> = { index, event: e, channel };
    if (e.email !== undefined) {
      const email = normalizeEmail(e.email);
      if (!email)
        return reject(index, 'DS_EMAIL_INVALID', `"${e.email.slice(0, 80)}" is not a valid email address`);
      p.email = email;
    }
    if (e.mobile !== undefined) {
      const mobile = normalizeMobile({ number: e.mobile });
      if (!mobile)
        return reject(index, 'DS_MOBILE_INVALID', `"${e.mobile}" is not an international mobile number`);
      p.mobile = mobile;
    }
    if (e.kind === 'click' && e.url && !/^https?:\/\//i.test(e.url))
      return reject(index, 'DS_EVENT_INVALID', 'url: only http and https URLs');
    p.key = e.idempotencyKey ?? (opts.batchKey !== undefined ? `${opts.batchKey}:${index}` : undefined);
    prepared.push(p);
  });

  for (let i = 0; i < prepared.length; i += CHUNK) {
    const chunk = prepared.slice(i, i + CHUNK);
    const found = await resolveRecipientIds(store.db, accountId, {
      emails: chunk.flatMap((p) => (p.email ? [p.email] : [])),
      mobiles: chunk.flatMap((p) => (p.mobile ? [p.mobile] : [])),
      ids: chunk.flatMap((p) => (p.event.recipientId ? [p.event.recipientId] : [])),
    });
    const ready: Prepared[] = [];
    for (const p of chunk) {
      const rid = p.email
        ? found.byEmail.get(p.email)
        : p.mobile
          ? found.byMobile.get(p.mobile)
          : found.ids.has(p.event.recipientId!)
            ? p.event.recipientId
            : undefined;
      if (rid === undefined) {
        reject(
          p.index,
          'DS_RECIPIENT_UNKNOWN',
          `no recipient ${p.email ?? p.mobile ?? `#${p.event.recipientId}`} in ${accountId}`,
        );
        continue;
      }
      ready.push({ ...p, recipientId: rid });
    }
    const now = clock.now().toISOString();
    const refs = await resolveEngagementRefs(store.db, accountId, numberRefs(ready), now);
    await store.db.transaction().execute(async (trx) => {
      const keys = ready.flatMap((p) => (p.key ? [p.key] : []));
      const fresh = keys.length ? await claimEventKeys(trx, accountId, keys, now) : new Set<string>();
      const todo = ready.filter((p) => {
        if (!p.key) return true;
        // The same key twice in one batch: the first one counts.
        if (!fresh.delete(p.key)) {
          result.duplicates++;
          return false;
        }
        return true;
      });
      const rows: NewEventRow[] = [];
      for (const p of todo) if (p.event.kind !== 'unsubscribe') rows.push(eventRow(accountId, p, refs, now));
      await insertEvents(trx, rows, store.dialect?.maxParameters);
      for (const p of todo)
        result.unsubscribed += await applyStatusRules(trx, accountId, p, refs, now, opts.softBounceThreshold);
      result.recorded += todo.length;
    });
  }
  result.rejected.sort((a, b) => a.index - b.index);
  return result;
}

const iso = (t: string) => new Date(t).toISOString();

/** The message number an event names itself: `idNl` for email, `idSMS` for SMS. */
const ownNumber = (p: Prepared): number | undefined => (p.channel === 'email' ? p.event.idNl : p.event.idSMS);

/** The numbers a chunk names, for one batched resolution. */
function numberRefs(ready: Prepared[]): { messages: MessageNumberRef[]; sendings: SendingNumberRef[] } {
  const messages: MessageNumberRef[] = [];
  const sendings: SendingNumberRef[] = [];
  for (const p of ready) {
    const own = ownNumber(p);
    const message = own !== undefined ? { channel: p.channel, number: own } : undefined;
    if (message) messages.push(message);
    if (p.event.idInvio !== undefined)
      sendings.push({
        number: p.event.idInvio,
        message,
        listId: p.event.idList ?? null,
        startedAt: p.event.kind === 'sent' && p.event.occurredAt ? iso(p.event.occurredAt) : null,
      });
  }
  return { messages, sendings };
}

/**
 * Internal ids of an event's list, message and sending. A datasync sending it names fills in the list and,
 * when the event names no message of its own, the sending's message (same channel only). An unknown
 * `idInvio` named without `idNl` / `idSMS` has no row (a sending needs its message): the event is recorded
 * without it.
 */
function idsOf(p: Prepared, refs: ResolvedRefs) {
  const s = p.event.idInvio !== undefined ? refs.sendings.get(p.event.idInvio) : undefined;
  const own = ownNumber(p);
  const messageId =
    own !== undefined
      ? (refs.messages.get(messageRefKey(p.channel, own)) ?? null)
      : s && s.channel === p.channel
        ? s.messageId
        : null;
  return { listId: p.event.idList ?? s?.listId ?? null, messageId, sendingId: s?.id ?? null };
}

function eventRow(accountId: string, p: Prepared, refs: ResolvedRefs, now: string): NewEventRow {
  const e = p.event;
  const n = idsOf(p, refs);
  let code = e.code ?? null;
  let detail: string | null = null;
  if (e.kind === 'bounce') detail = e.bounceType!;
  if (e.kind === 'sms_status') {
    detail = normalizeSmsStatus(e.status!);
    code = e.code ?? e.status!;
  }
  return {
    account_id: accountId,
    kind: e.kind as NewEventRow['kind'],
    channel: p.channel,
    recipient_id: p.recipientId,
    list_id: n.listId,
    message_id: n.messageId,
    sending_id: n.sendingId,
    url: e.kind === 'click' ? e.url! : null,
    code,
    detail,
    provider_message_id: e.providerMessageId ?? null,
    ip: e.ip ?? null,
    user_agent: e.userAgent ?? null,
    idempotency_key: p.key ?? null,
    occurred_at: e.occurredAt ? iso(e.occurredAt) : now,
    recorded_at: now,
  };
}

/** Apply reference §1.5 to one recorded event; returns how many subscriptions changed. */
async function applyStatusRules(
  trx: Db,
  accountId: string,
  p: Prepared,
  refs: ResolvedRefs,
  now: string,
  softBounceThreshold = DEFAULT_SOFT_BOUNCE_THRESHOLD,
): Promise<number> {
  const e = p.event;
  const n = idsOf(p, refs);
  const base = {
    accountId,
    recipientId: p.recipientId,
    messageId: n.messageId,
    sendingId: n.sendingId,
    ip: e.ip ?? null,
    userAgent: e.userAgent ?? null,
    occurredAt: e.occurredAt ? iso(e.occurredAt) : now,
    recordedAt: now,
  };
  const thisListOrAll = n.listId !== null ? [n.listId] : ('all' as const);
  let changed: number[] = [];
  if (e.kind === 'bounce' && e.bounceType === 'hard') {
    const type = e.optoutType && /^8/.test(e.optoutType) ? e.optoutType : hardBounceType(e.code);
    changed = await unsubscribeFromLists(trx, { ...base, channel: 'email', lists: 'all', optoutType: type });
  } else if (e.kind === 'bounce') {
    if ((await countConsecutiveSoftBounces(trx, p.recipientId)) >= softBounceThreshold)
      changed = await unsubscribeFromLists(trx, {
        ...base,
        channel: 'email',
        lists: 'all',
        optoutType: e.optoutType && /^512/.test(e.optoutType) ? e.optoutType : OPTOUT.softBounces,
      });
  } else if (e.kind === 'complaint') {
    const type = e.optoutType && /^16/.test(e.optoutType) ? e.optoutType : OPTOUT.complaint;
    changed = await unsubscribeFromLists(trx, {
      ...base,
      channel: 'email',
      lists: thisListOrAll,
      optoutType: type,
    });
  } else if (e.kind === 'unsubscribe') {
    changed = await unsubscribeFromLists(trx, {
      ...base,
      channel: p.channel,
      lists: thisListOrAll,
      optoutType: e.optoutType ?? OPTOUT.link,
    });
  }
  return changed.length;
}

/** Parse a request or file body: a JSON array, one JSON object, or JSON lines (blank lines skipped). */
export function parseEventsText(text: string): unknown[] {
  const t = text.trim();
  if (!t) return [];
  if (t.startsWith('[')) {
    const v = parseJson(t, 1);
    if (!Array.isArray(v)) throw new DatasyncError('DS_VALIDATION', 'the body is not a JSON array');
    return v;
  }
  const out: unknown[] = [];
  const lines = t.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim()) out.push(parseJson(line, i + 1));
  });
  return out;
}

function parseJson(s: string, line: number): unknown {
  try {
    return JSON.parse(s);
  } catch {
    throw new DatasyncError('DS_VALIDATION', `line ${line} is not valid JSON`, { details: { line } });
  }
}
