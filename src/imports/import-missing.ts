/**
 * The full import's missing rule (reference §2.9): recipients of the lists the import owns that the file did
 * not name are unsubscribed (type 4, with an event) or removed from the fixed group, page by page in recipient
 * id order, each page in its own transaction with the checkpoint so a resumed job continues where it stopped.
 * Recipients of rejected rows are protected: a bad row never unsubscribes anyone. The guard
 * `maxFullUnsubscribeRatio` walks the same pages read-only before anything is applied.
 */
import type { Clock } from '../clock.js';
import { ImportFileError } from '../errors.js';
import {
  countListSubscribers,
  insertImportEvents,
  pageGroupMembers,
  pageListSubscribers,
  removeImportedGroupMembers,
  saveImportCheckpoint,
  unsubscribeMissing,
} from '../store/import-batch.repository.js';
import type { Channel, Store } from '../store/index.js';
import type { PassState } from './batch-apply.js';
import { IMPORT_OPTOUT_TYPE } from './batch-planner.js';
import type { AccountContext } from './import-context.js';
import type { ImportCounters } from './import-counters.js';
import type { ImportCheckpoint } from './import-engine.js';
import type { ImportInstance } from './import-instance.js';
import { IdBitset } from './key-set.js';

const MISSING_PAGE = 2000;

export interface MissingRuleContext {
  store: Store;
  instance: ImportInstance;
  account: AccountContext;
  clock: Clock;
}

interface Target {
  listId: number;
  channel: Channel | null;
  groupId: number | null;
}

/** Lists a full import owns: the fixed list, or those its rows named. */
function scopeLists(instance: ImportInstance, state: PassState): number[] {
  return instance.destination.listId !== undefined
    ? [instance.destination.listId]
    : [...state.listsSeen].sort((a, b) => a - b);
}

/** Walk the missing recipients of a full import; `act` receives each page's missing ids. */
async function walkMissing(
  ctx: MissingRuleContext,
  state: PassState,
  from: ImportCheckpoint['missing'],
  act: (
    target: Target,
    ids: number[],
    afterId: number,
    pos: { listIndex: number; channelIndex: number },
  ) => Promise<void>,
): Promise<void> {
  const { instance, account } = ctx;
  const db = ctx.store.db;
  const lists = scopeLists(instance, state);
  const byGroup = instance.fullMissingRule === 'removeFromGroup';
  const channels: (Channel | null)[] = byGroup ? [null] : instance.channels;
  for (let li = from?.listIndex ?? 0; li < lists.length; li++) {
    const listId = lists[li]!;
    if (byGroup && account.fixedGroup?.listId !== listId) continue;
    const seen = state.seen.get(listId) ?? new IdBitset();
    for (let ci = li === from?.listIndex ? from.channelIndex : 0; ci < channels.length; ci++) {
      const channel = channels[ci]!;
      let afterId = li === from?.listIndex && ci === from.channelIndex ? from.afterId : 0;
      for (;;) {
        const ids = byGroup
          ? await pageGroupMembers(db, account.fixedGroup!.id, afterId, MISSING_PAGE)
          : (
              await pageListSubscribers(
                db,
                account.accountId,
                listId,
                [channel!],
                ['subscribed', 'pending'],
                afterId,
                MISSING_PAGE,
              )
            ).map((r) => r.recipientId);
        if (ids.length === 0) break;
        afterId = ids[ids.length - 1]!;
        const missing = ids.filter((id) => !seen.has(id) && !state.protect.has(id));
        await act({ listId, channel, groupId: byGroup ? account.fixedGroup!.id : null }, missing, afterId, {
          listIndex: li,
          channelIndex: ci,
        });
      }
    }
  }
}

/** Full-import guard: would the missing rule touch more than the allowed share of a list? */
export async function checkFullGuard(
  ctx: MissingRuleContext,
  state: PassState,
  counters: ImportCounters,
): Promise<void> {
  const { instance, account } = ctx;
  const db = ctx.store.db;
  const max = instance.guards.maxFullUnsubscribeRatio;
  const missingByList = new Map<number, number>();
  await walkMissing(ctx, state, undefined, async (t, ids) => {
    missingByList.set(t.listId, (missingByList.get(t.listId) ?? 0) + ids.length);
  });
  let total = 0;
  for (const [listId, missing] of missingByList) {
    total += missing;
    const population =
      instance.fullMissingRule === 'removeFromGroup'
        ? (await pageGroupMembers(db, account.fixedGroup!.id, 0, Number.MAX_SAFE_INTEGER)).length
        : await countListSubscribers(db, account.accountId, listId, instance.channels, [
            'subscribed',
            'pending',
          ]);
    if (population > 0 && missing / population > max)
      throw new ImportFileError(
        'DS_IMPORT_FULL_GUARD',
        `the full import would remove ${missing} of ${population} recipients of list ${listId} (more than ${Math.round(max * 100)}%); nothing was applied`,
        { details: { listId, missing, population, maxFullUnsubscribeRatio: max, counters } },
      );
  }
  if (instance.fullMissingRule !== 'none') counters.missingHandled = total;
}

/** Apply the missing rule, resuming at `cp.missing`; each page commits with the checkpoint. */
export async function applyMissingRule(
  ctx: MissingRuleContext,
  state: PassState,
  cp: ImportCheckpoint,
  counters: ImportCounters,
  jobId: string,
  onPage: () => void,
): Promise<void> {
  const { account, clock } = ctx;
  const { db, dialect } = ctx.store;
  await walkMissing(ctx, state, cp.missing, async (t, ids, afterId, pos) => {
    const now = clock.now().toISOString();
    await db.transaction().execute(async (trx) => {
      if (ids.length > 0) {
        if (t.groupId !== null) {
          await removeImportedGroupMembers(trx, dialect, t.groupId, ids);
          counters.groupsRemoved += ids.length;
        } else {
          await unsubscribeMissing(
            trx,
            account.accountId,
            t.listId,
            t.channel!,
            ids,
            IMPORT_OPTOUT_TYPE,
            now,
          );
          await insertImportEvents(
            trx,
            dialect,
            account.accountId,
            ids.map((id) => ({
              recipientId: id,
              listId: t.listId,
              channel: t.channel!,
              code: IMPORT_OPTOUT_TYPE,
            })),
            now,
          );
          counters.unsubscribed += ids.length;
        }
        counters.missingHandled += ids.length;
      }
      cp.missing = { ...pos, afterId };
      await saveImportCheckpoint(trx, jobId, cp, counters);
    });
    onPage();
  });
}
