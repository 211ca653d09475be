/**
 * Plans of the reads of one sending's events (migration 0011, `events_sending_ix`), on both dialects: each
 * must find the sending's events through the index, never scan the events of every sending. Checked on the
 * statements the repository functions actually run (captured from the real store), with the plans each
 * database picks: SQLite's `explain query plan`, and PostgreSQL's plan before and after `analyze` (a bulk
 * load leaves it without statistics).
 */
import {
  sql,
  type CompiledQuery,
  type Kysely,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
} from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countSendingOutcomes, handledRecipientIds } from '../../src/store/email-sendings.repository.js';
import { createAccount, type Database } from '../../src/store/index.js';
import { countSmsSendingOutcomes, listSmsSendingEvents } from '../../src/store/sms-campaigns.repository.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';

/** Sendings 1..100 are email, 101..200 SMS; each has EVENTS / SENDINGS events. */
const SENDINGS = 200;
const EVENTS = 200_000;

/**
 * Records the SQL of every statement run through it, compiled as the store compiles it. Kysely hands a
 * plugin every subquery too (when it is built into its parent), so only the statements that returned a
 * result are kept.
 */
class CaptureSql implements KyselyPlugin {
  private readonly compiled = new Map<object, CompiledQuery>();
  readonly queries: CompiledQuery[] = [];
  constructor(private readonly db: Kysely<Database>) {}
  transformQuery({ node, queryId }: PluginTransformQueryArgs) {
    this.compiled.set(queryId, this.db.getExecutor().compileQuery(node, queryId));
    return node;
  }
  async transformResult({ result, queryId }: PluginTransformResultArgs) {
    const q = this.compiled.get(queryId);
    if (q) this.queries.push(q);
    return result;
  }
}

/** The reads under test, each on a sending of its channel. */
const READS: [string, (db: Kysely<Database>) => Promise<unknown>][] = [
  ['handledRecipientIds', (db) => handledRecipientIds(db, 42)],
  ['countSendingOutcomes', (db) => countSendingOutcomes(db, 42)],
  ['countSmsSendingOutcomes', (db) => countSmsSendingOutcomes(db, 142)],
  ['listSmsSendingEvents', (db) => listSmsSendingEvents(db, 142)],
];

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** Every scan of `events` in a PostgreSQL plan: its type and index (its own or its bitmap's). */
function eventScans(node: PlanNode, out: { type: string; index: string | undefined }[] = []) {
  if (node['Relation Name'] === 'events') {
    const bitmap = node.Plans?.find((p) => p['Node Type'] === 'Bitmap Index Scan');
    out.push({ type: node['Node Type'], index: node['Index Name'] ?? bitmap?.['Index Name'] });
  }
  for (const p of node.Plans ?? []) eventScans(p, out);
  return out;
}

describe.each(DIALECTS)('plans of the per-sending event reads (%s)', (dialect) => {
  let store: TestStore;

  beforeAll(async () => {
    store = await freshStore(dialect);
    await createAccount(store.db, { id: 'a' });
    // Email sendings: sent, some bounces and opens; SMS sendings: sent, NACKs and delivery reports.
    const select = `select 'a', s, case when s <= 100 then 'email' else 'sms' end,
        case when r % 10 = 0 then (case when s <= 100 then 'bounce' else 'sms_status' end)
             when r % 10 = 1 then (case when s <= 100 then 'open' else 'sms_status' end) else 'sent' end,
        case when s > 100 and r % 10 = 0 then 'NACK' when s > 100 and r % 10 = 1 then 'DELIVRD' end,
        case when s > 100 and r % 10 > 1 then 'gsm7:1' end,
        r, '2026-11-28T08:00:00.000Z', '2026-11-28T08:00:00.000Z'`;
    const columns = `insert into events (account_id, sending_id, channel, kind, code, detail, recipient_id,
        occurred_at, recorded_at)`;
    await sql
      .raw(
        dialect === 'postgres'
          ? `${columns} ${select} from (select n % ${SENDINGS} + 1 as s, n / ${SENDINGS} + 1 as r from generate_series(1, ${EVENTS}) n) g`
          : `with recursive t(n) as (select 1 union all select n + 1 from t where n < ${EVENTS})
             ${columns} ${select} from (select n % ${SENDINGS} + 1 as s, n / ${SENDINGS} + 1 as r from t) g`,
      )
      .execute(store.db);
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  /** The statements a read runs. */
  async function statements(read: (db: Kysely<Database>) => Promise<unknown>) {
    const capture = new CaptureSql(store.db);
    await read(store.db.withPlugin(capture));
    expect(capture.queries.length).toBeGreaterThan(0);
    return capture.queries;
  }

  async function expectIndexed() {
    for (const [what, read] of READS)
      for (const q of await statements(read)) {
        if (dialect === 'sqlite') {
          const { rows } = await store.db.executeQuery<{ detail: string }>({
            ...q,
            sql: `explain query plan ${q.sql}`,
          });
          // Every table access (SCAN / SEARCH, named by the query's alias) is of events here.
          const scans = rows.map((r) => r.detail).filter((d) => /^(SCAN|SEARCH) /.test(d));
          expect(scans.length, what).toBeGreaterThan(0);
          for (const d of scans)
            expect(d, `${what}: ${q.sql}`).toMatch(/USING (COVERING )?INDEX events_sending_ix/);
        } else {
          const { rows } = await store.db.executeQuery<{ 'QUERY PLAN': { Plan: PlanNode }[] }>({
            ...q,
            sql: `explain (format json) ${q.sql}`,
          });
          const found = eventScans(rows[0]!['QUERY PLAN'][0]!.Plan);
          expect(found.length, what).toBeGreaterThan(0);
          for (const s of found) {
            expect(s.type, `${what}: ${JSON.stringify(found)}`).not.toBe('Seq Scan');
            expect(s.index, `${what}: ${JSON.stringify(found)}`).toBe('events_sending_ix');
          }
        }
      }
  }

  it('reads one sending through events_sending_ix (as loaded, no statistics)', async () => {
    await expectIndexed();
  });

  it('reads one sending through events_sending_ix (analyzed)', async () => {
    await sql.raw('analyze events').execute(store.db);
    await expectIndexed();
  });

  it('reads the right events (the plans answer what the functions promise)', async () => {
    // Every sending has recipients 1..1000 once; recipient r's event is a bounce / NACK when r % 10 = 0, an
    // open / delivery report when r % 10 = 1, and a sent otherwise.
    expect((await handledRecipientIds(store.db, 42)).size).toBe(900);
    expect(await countSendingOutcomes(store.db, 42)).toEqual({ sent: 800, bounced: 100 });
    expect(await countSmsSendingOutcomes(store.db, 142)).toEqual({ sent: 800, refused: 100, parts: 800 });
    expect(await listSmsSendingEvents(store.db, 142)).toHaveLength(1000);
  });
});
