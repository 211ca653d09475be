/**
 * PostgreSQL plans of the import batch reads (store/import-batch.repository.ts `importReadSql`): a batch's keys
 * must drive one index probe each, never a scan of the account. The `= any($1)` form they replaced let the
 * planner hash or bitmap-scan every recipient of the account for each 5,000-key batch — right after a bulk load
 * (no statistics yet) as well as analyzed — so each batch cost O(table) and a 1M-row all-updates import ran at a
 * third of the raw limit (bench/RESULTS.md, import). Checked on the plans PostgreSQL actually picks for the real
 * statement text and parameters, in both statistics states.
 */
import { CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importReadSql } from '../../src/store/import-batch.repository.js';
import { addGroup, addList, createAccount } from '../../src/store/index.js';
import { DATABASE_URL, freshStore, type TestStore } from '../helpers/store.js';

const RECIPIENTS = 6000;
/** A sixth of the table: enough for the old form to prefer a scan of the account. */
const KEYS = 1000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Cond'?: string;
  Plans?: PlanNode[];
}

/** Every scan of `tables` in the plan: its type and the condition it probes with (its own or its bitmap's). */
function scans(node: PlanNode, tables: string[], out: { type: string; cond: string }[] = []) {
  if (node['Relation Name'] && tables.includes(node['Relation Name'])) {
    const bitmap = node.Plans?.find((p) => p['Node Type'] === 'Bitmap Index Scan');
    out.push({ type: node['Node Type'], cond: node['Index Cond'] ?? bitmap?.['Index Cond'] ?? '' });
  }
  for (const p of node.Plans ?? []) scans(p, tables, out);
  return out;
}

describe.skipIf(!DATABASE_URL)('import batch read plans (postgres)', () => {
  let store: TestStore;
  let groupId: number;

  beforeAll(async () => {
    store = await freshStore('postgres');
    await createAccount(store.db, { id: 'a' });
    await addList(store.db, { accountId: 'a', listId: 1, name: 'one' });
    groupId = (await addGroup(store.db, { accountId: 'a', listId: 1, name: 'g' })).id;
    // A bulk load, as an import leaves it: the tables have no statistics until (auto)analyze.
    const run = (text: string) => store.db.executeQuery(CompiledQuery.raw(text, []));
    await run(
      `insert into recipients (account_id, email, mobile, f1, f2, f3, f4, created_at, updated_at)
       select 'a', 'u' || g || '@example.com', '3934' || (10000000 + g), 'first' || g, 'last' || g,
         'street ' || g, 'note ' || g, '2026-11-28T08:00:00.000Z', '2026-11-28T08:00:00.000Z'
       from generate_series(1, ${RECIPIENTS}) g`,
    );
    await run(
      `insert into subscriptions (account_id, recipient_id, list_id, channel, status, updated_at)
       select account_id, id, 1, ch, 'subscribed', 'now' from recipients cross join (values ('email'), ('sms')) c(ch)`,
    );
    await run(
      `insert into group_members (group_id, recipient_id, added_at) select ${groupId}, id, 'now' from recipients`,
    );
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  async function plan(text: string, params: unknown[]): Promise<PlanNode> {
    const res = await store.db.executeQuery<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
      CompiledQuery.raw(`explain (format json) ${text}`, params),
    );
    return res.rows[0]!['QUERY PLAN'][0]!.Plan;
  }

  async function expectProbes() {
    const d = store.dialect;
    const emails = Array.from({ length: KEYS }, (_, i) => `u${i * 3 + 1}@example.com`);
    const mobiles = Array.from({ length: KEYS }, (_, i) => `3934${10000000 + i * 3 + 2}`);
    const ids = (
      await store.db.executeQuery<{ id: number }>(
        CompiledQuery.raw('select id from recipients where id % 3 = 0 order by id', []),
      )
    ).rows.map((r) => r.id);
    const reads: [string, PlanNode, string][] = [
      ['by email', await plan(importReadSql.recipientsByKey(d, 'email', [1]), ['a', emails]), 'recipients'],
      [
        'by mobile',
        await plan(importReadSql.recipientsByKey(d, 'mobile', [1]), ['a', mobiles]),
        'recipients',
      ],
      ['subscriptions', await plan(importReadSql.subscriptions(d), [ids, [1]]), 'subscriptions'],
      ['memberships', await plan(importReadSql.memberships(d), [ids, [groupId]]), 'group_members'],
    ];
    for (const [what, p, table] of reads) {
      const found = scans(p, [table]);
      expect(found.length, what).toBeGreaterThan(0);
      for (const s of found) {
        expect(s.type, `${what}: ${JSON.stringify(found)}`).not.toBe('Seq Scan');
        // Probed with the key of the outer row, not with the account or list (a scan of all of them).
        expect(s.cond, `${what}: ${JSON.stringify(found)}`).toContain('k.key');
      }
    }
  }

  // Below ~40 pages without statistics the planner may still scan the account per key (importReadSql notes it).
  it('probes an index per key on tables without statistics (right after a bulk load)', async () => {
    await expectProbes();
  });

  it('probes an index per key on analyzed tables', async () => {
    await store.db.executeQuery(CompiledQuery.raw('analyze recipients, subscriptions, group_members', []));
    await expectProbes();
  });
});
