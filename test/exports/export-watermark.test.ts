/**
 * Windows and watermarks with an injected clock (invariant 5): a failed run followed by a good one, two runs in
 * the same second, events arriving during a run, manual windows, the empty-window policy.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostedExportDestination, type ExportDestination } from '../../src/exports/index.js';
import { getExportWatermark } from '../../src/store/exports-files.repository.js';
import { findJob } from '../../src/store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { buildDataSet, envFor, insertEvent, type DataSet, type Env } from './export-fixtures.js';

// idList and subject are mandatory statistics columns: always written.
const lines = (b: Buffer) => b.toString('utf8').trimEnd().split('\r\n');

describe.each(DIALECTS)('export windows and watermarks (%s)', (dialect) => {
  let store: TestStore;
  let env: Env;
  let d: DataSet;
  const open = (recipientId: number, at: string, recordedAt = at) =>
    insertEvent(store.db, {
      kind: 'open',
      recipientId,
      messageId: d.messageId,
      sendingId: d.sendingId,
      at,
      recordedAt,
    });

  beforeEach(async () => {
    store = await freshStore(dialect);
    env = envFor(store);
    d = await buildDataSet(store.db);
    await env.define({
      id: 'st',
      type: 'statistics',
      columns: ['email', 'statusChange'],
      window: { settleSeconds: 0 },
    });
  });
  afterEach(async () => {
    await store.cleanup();
  });

  it('a failed run leaves the watermark; the next good run covers its events, the one after does not repeat them', async () => {
    await open(d.ids.anna, '2026-03-11T03:00:00.000Z');
    const failing = async (): Promise<ExportDestination> => {
      const real = new HostedExportDestination(env.spaces.fs('acme'), '/export');
      await env.spaces.ensureAccount('acme');
      return Object.assign(Object.create(real) as HostedExportDestination, {
        rename: () => Promise.reject(Object.assign(new Error('disk gone'), { code: 'EIO' })),
      });
    };
    await expect(env.run('st', { destinations: failing })).rejects.toMatchObject({
      code: 'DS_EXPORT_DESTINATION',
    });
    expect(await getExportWatermark(store.db, 'st')).toBeUndefined();
    expect(await env.files()).toEqual([]); // the temporary file was removed
    const failedJob = (
      await store.db.selectFrom('jobs').select('id').where('status', '=', 'failed').executeTakeFirstOrThrow()
    ).id;
    expect(await findJob(store.db, failedJob)).toMatchObject({
      status: 'failed',
      error: { code: 'DS_EXPORT_DESTINATION' },
    });

    env.clock.set('2026-03-11T05:00:00.000Z');
    await open(d.ids.bob, '2026-03-11T04:30:00.000Z');
    const good = await env.run('st');
    expect(lines(await env.read(good.file!))).toEqual([
      'idList;subject;email;statusChange',
      '1;Spring sale;anna@example.com;20260311T040000',
      '1;Spring sale;bob@example.com;20260311T053000',
    ]);
    expect(await getExportWatermark(store.db, 'st')).toBe('2026-03-11T05:00:00.000Z');

    env.clock.set('2026-03-11T06:00:00.000Z');
    await open(d.ids.zoe, '2026-03-11T05:10:00.000Z');
    const next = await env.run('st');
    expect(lines(await env.read(next.file!))).toEqual([
      'idList;subject;email;statusChange',
      '1;Spring sale;zoe@example.com;20260311T061000',
    ]);
  });

  it('two runs in the same second: the second file is header-only, keeps its own name, and no event is in both', async () => {
    await open(d.ids.anna, '2026-03-11T03:59:59.000Z');
    const a = await env.run('st');
    // Recorded at exactly the first run's end: the window is [from, to), so it belongs to the next window.
    await open(d.ids.bob, '2026-03-11T04:00:00.000Z');
    const b = await env.run('st');
    expect(a.file).toBe('statistics_1_20260311050000.csv');
    expect(b.file).toBe('statistics_1_20260311050000_2.csv');
    expect(lines(await env.read(a.file!))).toEqual([
      'idList;subject;email;statusChange',
      '1;Spring sale;anna@example.com;20260311T045959',
    ]);
    expect(lines(await env.read(b.file!))).toEqual(['idList;subject;email;statusChange']);
    env.clock.advance(1000);
    const c = await env.run('st');
    expect(lines(await env.read(c.file!))).toEqual([
      'idList;subject;email;statusChange',
      '1;Spring sale;bob@example.com;20260311T050000',
    ]);
  });

  it('events arriving during a run go to the next file, also one recorded just before the run but committed during it', async () => {
    await env.define({ id: 'st', type: 'statistics', columns: ['email', 'statusChange'] }); // settle 5 s (default)
    await open(d.ids.anna, '2026-03-11T03:00:00.000Z');
    let inserted = false;
    const first = await env.run('st', {
      onRow: async () => {
        if (inserted) return;
        inserted = true;
        // A slow transaction recorded its event 2 s before the run started and commits only now.
        await open(d.ids.bob, '2026-03-11T03:59:58.000Z');
        await open(d.ids.zoe, '2026-03-11T04:00:00.000Z');
      },
    });
    expect(inserted).toBe(true);
    expect(lines(await env.read(first.file!))).toEqual([
      'idList;subject;email;statusChange',
      '1;Spring sale;anna@example.com;20260311T040000',
    ]);
    env.clock.set('2026-03-11T05:00:00.000Z');
    const second = await env.run('st');
    expect(lines(await env.read(second.file!))).toEqual([
      'idList;subject;email;statusChange',
      '1;Spring sale;bob@example.com;20260311T045958',
      '1;Spring sale;zoe@example.com;20260311T050000',
    ]);
  });

  it('latest action across windows: an action reported in an earlier file hides an older one recorded late, never a newer one', async () => {
    const click = (recipientId: number, at: string, recordedAt = at) =>
      insertEvent(store.db, {
        kind: 'click',
        recipientId,
        messageId: d.messageId,
        sendingId: d.sendingId,
        url: 'https://example.com/a',
        at,
        recordedAt,
      });
    await click(d.ids.anna, '2026-03-11T03:00:00.000Z');
    await click(d.ids.bob, '2026-03-11T03:10:00.000Z');
    env.clock.set('2026-03-11T04:00:00.000Z');
    const first = await env.run('st');
    expect(lines(await env.read(first.file!))).toHaveLength(3);

    // Anna's open and an older click on the same link reach us late (recorded in the next window, occurred
    // before the click already reported): not reported again. Bob clicks the link again: a newer action.
    await open(d.ids.anna, '2026-03-11T02:59:00.000Z', '2026-03-11T04:30:00.000Z');
    await click(d.ids.anna, '2026-03-11T02:58:00.000Z', '2026-03-11T04:31:00.000Z');
    await click(d.ids.bob, '2026-03-11T04:40:00.000Z');
    env.clock.set('2026-03-11T05:00:00.000Z');
    const second = await env.run('st');
    expect(lines(await env.read(second.file!))).toEqual([
      'idList;subject;email;statusChange',
      '1;Spring sale;bob@example.com;20260311T054000',
    ]);
    // A manual window over the first hour only still reports anna's first click: the late events were
    // recorded after that window's end.
    const manual = await env.run('st', {
      window: { from: '2026-03-11T02:00:00.000Z', to: '2026-03-11T04:00:00.000Z' },
    });
    expect(lines(await env.read(manual.file!))).toEqual([
      'idList;subject;email;statusChange',
      '1;Spring sale;anna@example.com;20260311T040000',
      '1;Spring sale;bob@example.com;20260311T041000',
    ]);
  });

  it('a manual window does not move the watermark; emptyFile skip writes nothing but moves it', async () => {
    await open(d.ids.anna, '2026-03-10T12:00:00.000Z');
    const manual = await env.run('st', {
      window: { from: '2026-03-10T00:00:00Z', to: '2026-03-11T00:00:00Z' },
    });
    expect(manual.window.mode).toBe('manual');
    expect(lines(await env.read(manual.file!))).toHaveLength(2);
    expect(await getExportWatermark(store.db, 'st')).toBeUndefined();
    await expect(
      env.run('st', { window: { from: '2026-03-12T00:00:00Z', to: '2026-03-11T00:00:00Z' } }),
    ).rejects.toMatchObject({
      code: 'DS_EXPORT_WINDOW_INVALID',
    });

    await env.define({
      id: 'st',
      type: 'statistics',
      emptyFile: 'skip',
      window: { firstRunFrom: '2026-03-11T00:00:00Z' },
    });
    const skipped = await env.run('st');
    expect(skipped.status).toBe('skipped');
    expect(skipped.job.status).toBe('skipped');
    expect(await env.files()).toEqual([manual.file]);
    expect(await getExportWatermark(store.db, 'st')).toBe('2026-03-11T03:59:55.000Z');
  });

  it('retention keeps the newest files of the instance and never touches other files in the folder', async () => {
    await env.define({
      id: 'st',
      type: 'statistics',
      fileName: '{instance}_{seq}.csv',
      retention: { keepFiles: 2 },
    });
    await fs.mkdir(env.exportDir, { recursive: true });
    await fs.writeFile(path.join(env.exportDir, 'st_000000.csv'), 'customer file');
    for (let i = 0; i < 4; i++) {
      await env.run('st');
      env.clock.advance(60_000);
    }
    expect(await env.files()).toEqual(['st_000000.csv', 'st_000003.csv', 'st_000004.csv']);
  });
});
