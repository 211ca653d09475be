/**
 * The duplicate counter's memory cap (issue 4): past its memory table the KeySet spills keys to a throwaway SQLite
 * file. With a tiny cap, every count must equal the unbounded set's — and a plain string set's — batch by batch;
 * the spill file goes when the set is closed, and a dead process's file goes with the next spill.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importFile } from '../../src/imports/index.js';
import { KeySet } from '../../src/imports/key-set.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { seedAccount, withInstance, writeTemp } from './helpers.js';

type Row = [string | null, string | null];

/** Rows with repeats within and across batches, keys of both kinds, either key missing. */
function rows(n: number, seed: number): Row[] {
  let s = seed;
  const rnd = (m: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % m;
  };
  const out: Row[] = [];
  for (let i = 0; i < n; i++) {
    const e = rnd(10) === 0 ? null : `u${rnd(n)}@example.com`;
    // The same digits as an email key must not collide with it (keys are hashed with their kind).
    const m = rnd(3) === 0 ? null : rnd(20) === 0 && e ? e : `+39${rnd(n * 2)}`;
    out.push([e, m]);
  }
  return out;
}

/** Duplicated rows per batch by the definition: a row with a key seen earlier in the file. */
function reference(all: Row[], batch: number): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  let d = 0;
  all.forEach(([e, m], i) => {
    const dupE = e !== null && seen.has(`e${e}`);
    const dupM = m !== null && seen.has(`m${m}`);
    if (e !== null) seen.add(`e${e}`);
    if (m !== null) seen.add(`m${m}`);
    if (dupE || dupM) d++;
    if ((i + 1) % batch === 0 || i === all.length - 1) {
      out.push(d);
      d = 0;
    }
  });
  return out;
}

function counts(set: KeySet, all: Row[], batch: number): number[] {
  const out: number[] = [];
  all.forEach(([e, m], i) => {
    set.addRow(e, m);
    if ((i + 1) % batch === 0 || i === all.length - 1) out.push(set.takeDuplicates());
  });
  return out;
}

describe('KeySet spill', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-keyset-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.each([
    [16, 7],
    [64, 100],
    [1024, 333],
  ])('memory cap %i slots, batches of %i rows: same counts as unbounded', (slots, batch) => {
    const all = rows(20_000, slots);
    const want = reference(all, batch);
    expect(want.reduce((a, b) => a + b, 0)).toBeGreaterThan(5000);
    const unbounded = new KeySet({ spillDir: dir });
    expect(counts(unbounded, all, batch)).toEqual(want);
    expect(unbounded.spillFile).toBeNull();
    unbounded.close();

    const capped = new KeySet({ memorySlots: slots, spillDir: dir });
    expect(counts(capped, all, batch)).toEqual(want);
    expect(capped.memorySize).toBe((slots * 3) / 4);
    const spill = capped.spillFile!;
    expect(fs.existsSync(spill)).toBe(true);
    capped.close();
    expect(fs.existsSync(spill)).toBe(false);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a row is counted once when both keys repeat; a new key of a duplicate row is remembered', () => {
    const set = new KeySet({ memorySlots: 16, spillDir: dir });
    // Fill the memory table (12 keys) so the rest spill.
    for (let i = 0; i < 12; i++) set.addRow(`fill${i}@x.it`, null);
    expect(set.takeDuplicates()).toBe(0);
    set.addRow('a@x.it', '+391'); // spilled, new
    set.addRow('a@x.it', '+391'); // both keys seen in this batch: one row
    set.addRow('fill0@x.it', '+392'); // email in memory, new mobile spilled
    expect(set.takeDuplicates()).toBe(2);
    set.addRow('b@x.it', '+392'); // mobile seen in the previous batch (on disk)
    set.addRow('c@x.it', '+393');
    set.addRow(null, '+391');
    expect(set.takeDuplicates()).toBe(2);
    set.close();
  });

  it("removes a dead process's spill file and keeps a live one's", () => {
    const dead = path.join(dir, '.ds-import-keys-999999999-abcdef.db');
    const live = path.join(dir, `.ds-import-keys-${process.ppid}-abcdef.db`);
    fs.writeFileSync(dead, 'x');
    fs.writeFileSync(live, 'x');
    const set = new KeySet({ memorySlots: 16, spillDir: dir });
    for (let i = 0; i < 20; i++) set.addRow(`k${i}@x.it`, null);
    set.takeDuplicates();
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
    set.close();
  });
});

describe.each(DIALECTS)('import with a spilling duplicate counter (%s)', (dialect) => {
  let store: TestStore;
  let dir: string;
  beforeEach(async () => {
    store = await freshStore(dialect);
    await seedAccount(store);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-keyspill-'));
  });
  afterEach(async () => {
    await store.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('same counters as in memory; the spill files (guard and apply passes) are removed', async () => {
    // A reject-ratio guard adds a validation pass over the whole file before the apply pass: two spills.
    const id = await withInstance(store, { guards: { maxRejectedRatio: 0.5 } });
    const lines = ['111;444;1'];
    for (let i = 0; i < 600; i++)
      lines.push(`r${(i * 7) % 250}@example.com;${i % 4 === 0 ? `+3934${10_000_000 + (i % 90)}` : ''};v${i}`);
    const file = writeTemp(dir, 'dups.csv', lines.join('\n'));
    const workDir = path.join(dir, 'work');
    const spilled = await importFile(store, {
      file,
      instanceId: id,
      batchSize: 50,
      dryRun: true,
      keyMemorySlots: 16,
      workDir,
    });
    const inMemory = await importFile(store, { file, instanceId: id, batchSize: 50, dryRun: true });
    expect(spilled.counters.duplicated).toBeGreaterThan(300);
    expect(spilled.counters).toEqual(inMemory.counters);
    const applied = await importFile(store, {
      file,
      instanceId: id,
      batchSize: 50,
      keyMemorySlots: 16,
      workDir,
    });
    expect(applied.counters.duplicated).toBe(inMemory.counters.duplicated);
    expect(applied.counters.processed).toBe(600);
    expect(fs.readdirSync(workDir)).toEqual([]);
  });
});
