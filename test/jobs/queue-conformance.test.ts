/** One conformance suite for every `JobQueue` backend (CONVENTIONS #13). */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_BACKENDS, openHarness, type QueueHarness } from './queue-harness.js';

const qname = () => `t_${randomBytes(4).toString('hex')}`;

describe.each(QUEUE_BACKENDS)('JobQueue conformance: %s', (backend) => {
  let h: QueueHarness;
  beforeAll(async () => {
    h = await openHarness(backend);
  });
  afterAll(async () => h?.cleanup());

  it('sends, leases once, completes with output', async () => {
    const q = qname();
    const id = await h.queue.send(q, { accountId: 'a', n: 1 });
    expect(id).toBeTruthy();
    const job = await h.queue.fetch(q, 'w1');
    expect(job).toMatchObject({ id, data: { accountId: 'a', n: 1 }, state: 'active', attempts: 1 });
    expect(await h.queue.fetch(q, 'w2')).toBeNull();
    await h.queue.complete(q, id!, { rows: 3 });
    expect(await h.queue.getJob(q, id!)).toMatchObject({ state: 'completed', output: { rows: 3 } });
    expect(await h.queue.fetch(q, 'w1')).toBeNull();
  });

  it('retries a retryable failure, then records it failed with the last error', async () => {
    const q = qname();
    const id = (await h.queue.send(
      q,
      { n: 1 },
      { retryLimit: 1, retryDelaySeconds: 0, retryBackoff: false },
    ))!;
    const first = await h.queue.fetch(q, 'w1');
    await h.queue.fail(
      q,
      first!.id,
      { code: 'DS_DB_UNAVAILABLE', message: 'lost connection' },
      { retryable: true },
    );
    expect(await h.queue.getJob(q, id)).toMatchObject({ state: 'retry', attempts: 1 });
    const second = await h.fetchAfter(q, 'w1', 0);
    expect(second).toMatchObject({ id, attempts: 2 });
    await h.queue.fail(q, id, { code: 'DS_DB_UNAVAILABLE', message: 'still lost' }, { retryable: true });
    const final = await h.queue.getJob(q, id);
    expect(final).toMatchObject({ state: 'failed', attempts: 2 });
    expect(final!.lastError).toEqual({ code: 'DS_DB_UNAVAILABLE', message: 'still lost' });
  });

  it('backs off before a retry', async () => {
    const q = qname();
    const id = (await h.queue.send(q, {}, { retryLimit: 2, retryDelaySeconds: 30, retryBackoff: true }))!;
    await h.queue.fetch(q, 'w1');
    const before = Date.now();
    await h.queue.fail(q, id, { code: 'DS_INTERNAL', message: 'x' }, { retryable: true });
    const j = await h.queue.getJob(q, id);
    expect(j!.state).toBe('retry');
    expect(await h.queue.fetch(q, 'w1')).toBeNull();
    // Table queue: ManualClock time; pg-boss: database time. Both are at least the base delay ahead.
    if (backend === 'pg-boss on postgres') expect(j!.startAfter.getTime()).toBeGreaterThan(before + 29_000);
  });

  it('fails an unrecoverable error at once, without retries', async () => {
    const q = qname();
    const id = (await h.queue.send(q, {}, { retryLimit: 5, retryDelaySeconds: 0, retryBackoff: false }))!;
    await h.queue.fetch(q, 'w1');
    await h.queue.fail(
      q,
      id,
      { code: 'DS_IMPORT_HEADER_MISSING', message: 'no header' },
      { retryable: false },
    );
    const j = await h.queue.getJob(q, id);
    expect(j).toMatchObject({
      state: 'failed',
      attempts: 1,
      lastError: { code: 'DS_IMPORT_HEADER_MISSING' },
    });
    expect(await h.queue.fetch(q, 'w1')).toBeNull();
  });

  it('drops a second send with the same dedupe key', async () => {
    const q = qname();
    const a = await h.queue.send(q, { slot: 1 }, { dedupeKey: 'inst-1@2026-03-01T04:00Z' });
    const b = await h.queue.send(q, { slot: 1 }, { dedupeKey: 'inst-1@2026-03-01T04:00Z' });
    const c = await h.queue.send(q, { slot: 2 }, { dedupeKey: 'inst-1@2026-03-02T04:00Z' });
    expect(a).toBeTruthy();
    expect(b).toBeNull();
    expect(c).toBeTruthy();
  });

  it('runs one job of a group at a time, without blocking other groups', async () => {
    const q = qname();
    const a1 = (await h.queue.send(q, { n: 'a1' }, { group: 'acct-a' }))!;
    const a2 = (await h.queue.send(q, { n: 'a2' }, { group: 'acct-a' }))!;
    const b1 = (await h.queue.send(q, { n: 'b1' }, { group: 'acct-b' }))!;
    expect((await h.queue.fetch(q, 'w1'))!.id).toBe(a1);
    expect((await h.queue.fetch(q, 'w2'))!.id).toBe(b1);
    expect(await h.queue.fetch(q, 'w3')).toBeNull();
    await h.queue.complete(q, a1);
    const next = await h.fetchAfter(q, 'w3', 3);
    expect(next!.id).toBe(a2);
    expect(next!.attempts).toBe(1);
  });

  it('offers a job again when its lease runs out (worker died), counting the attempt', async () => {
    const q = qname();
    const id = (await h.queue.send(
      q,
      { n: 1 },
      { leaseSeconds: 1, retryDelaySeconds: 0, retryBackoff: false },
    ))!;
    const first = await h.queue.fetch(q, 'dead-worker');
    expect(first!.id).toBe(id);
    const taken = await h.fetchAfterLeaseExpiry(q, 'w2');
    expect(taken).toMatchObject({ id, attempts: 2 });
    expect(await h.queue.heartbeat(q, id)).toBe(true);
    await h.queue.complete(q, id);
    expect((await h.queue.getJob(q, id))!.state).toBe('completed');
    expect(await h.queue.heartbeat(q, id)).toBe(false);
  });

  it('cancels a queued job and retries a failed one', async () => {
    const q = qname();
    const id = (await h.queue.send(q, {}))!;
    expect(await h.queue.cancel(q, id)).toBe(true);
    expect((await h.queue.getJob(q, id))!.state).toBe('cancelled');
    expect(await h.queue.fetch(q, 'w1')).toBeNull();
    expect(await h.queue.cancel(q, id)).toBe(false);
    const f = (await h.queue.send(q, {}, { retryLimit: 0 }))!;
    await h.queue.fetch(q, 'w1');
    await h.queue.fail(q, f, { code: 'DS_INTERNAL', message: 'boom' }, { retryable: true });
    expect((await h.queue.getJob(q, f))!.state).toBe('failed');
    expect(await h.queue.retry(q, f)).toBe(true);
    expect((await h.fetchAfter(q, 'w1', 0))!.id).toBe(f);
    expect(await h.queue.retry(q, f)).toBe(false);
  });
});
