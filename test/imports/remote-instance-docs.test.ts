/**
 * The `remote` + `schedule` blocks of import instances: the complete example of docs/jobs.md ("import from my
 * SFTP every day at 04:00 Europe/Rome") is applied verbatim, as `datasync instances apply` does, and the
 * combinations that cannot work are refused with a clear message.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  applyInstances,
  parseImportInstance,
  parseInstancesYaml,
  type ImportInstanceInput,
} from '../../src/imports/index.js';
import { nextRunTimes, scheduleSchema } from '../../src/jobs/index.js';
import { findInstance } from '../../src/store/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';
import { seedAccount } from './helpers.js';

const JOBS_MD = fs.readFileSync(path.resolve(import.meta.dirname, '../../docs/jobs.md'), 'utf8');

/** The first ```yaml block after `heading` in docs/jobs.md. */
function yamlAfter(heading: string): string {
  const at = JOBS_MD.indexOf(heading);
  expect(at, `docs/jobs.md has "${heading}"`).toBeGreaterThanOrEqual(0);
  const m = /```yaml\n([\s\S]*?)```/.exec(JOBS_MD.slice(at));
  expect(m, `a yaml block after "${heading}"`).not.toBeNull();
  return m![1]!;
}

const EXAMPLE = yamlAfter('## Complete example');
const README = fs.readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8');

const base = (over: Record<string, unknown> = {}) => ({
  id: 'r',
  accountId: 'acme',
  destination: { listId: 1 },
  schedule: { cron: '0 4 * * *' },
  remote: {
    host: 'sftp.customer.example',
    username: 'mailup',
    password: 'secret',
    hostKeyFingerprint: 'SHA256:7dvV0wKj0b1q6m5cXl2r0aH8Zq2m3yq8Zq1b3Yt1Y0s',
  },
  ...over,
});
const problemsOf = (input: unknown): string => {
  try {
    parseImportInstance(input);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
};

describe('remote import instance schema', () => {
  it('the README carries the same complete example as docs/jobs.md (a newcomer needs only the README)', () => {
    const at = README.indexOf('every day at 04:00 Europe/Rome');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(/```yaml\n([\s\S]*?)```/.exec(README.slice(at))?.[1]).toBe(EXAMPLE);
  });

  it('the complete example of docs/jobs.md parses to the documented values', () => {
    const { imports, others } = parseInstancesYaml(EXAMPLE);
    expect(others).toEqual([]);
    expect(imports).toHaveLength(1);
    const d = imports[0]!;
    expect(d).toMatchObject({
      id: 'rome-import',
      fileMatch: { glob: 'contacts_*.csv' },
      schedule: { cron: '0 4 * * *', timeZone: 'Europe/Rome', catchUp: 'once' },
      remote: {
        port: 22,
        folder: '/outgoing',
        completeness: 'trigger',
        triggerSuffixes: ['.done', '.ok'],
        afterImport: 'move',
        moveTo: '/outgoing/imported',
      },
    });
    // The scheduler reads the same block with its own schema: 04:00 in Rome is 03:00 UTC in winter.
    const s = scheduleSchema.parse(d.schedule);
    expect(nextRunTimes(s.cron, s.timeZone, new Date('2026-03-01T12:00:00Z'))[0]?.toISOString()).toBe(
      '2026-03-02T03:00:00.000Z',
    );
  });

  it('the remote block shown in docs/jobs.md is valid as written', () => {
    const block = yamlAfter('## Remote spaces');
    const text = `id: r\naccountId: acme\nschedule: { cron: '0 4 * * *' }\n${block}`;
    expect(parseInstancesYaml(text).imports[0]!.remote).toMatchObject({ afterImport: 'move', port: 22 });
  });

  it('applies defaults: port 22, folder /, stable, delete; a padded fingerprint loses its "="', () => {
    const d = parseImportInstance(
      base({
        remote: { ...base().remote, hostKeyFingerprint: `${base().remote.hostKeyFingerprint}=` },
      }),
    );
    expect(d.remote).toMatchObject({
      port: 22,
      folder: '/',
      completeness: 'stable',
      afterImport: 'delete',
      hostKeyFingerprint: 'SHA256:7dvV0wKj0b1q6m5cXl2r0aH8Zq2m3yq8Zq1b3Yt1Y0s',
    });
    expect(d.schedule).toEqual({ cron: '0 4 * * *', timeZone: 'Europe/Rome', catchUp: 'once' });
  });

  it('refuses what cannot work, naming the problem', () => {
    expect(problemsOf(base({ schedule: undefined }))).toContain('a remote import needs a schedule');
    expect(problemsOf(base({ remote: undefined }))).toContain('a schedule needs a remote block');
    expect(problemsOf(base({ remote: { ...base().remote, afterImport: 'move' } }))).toContain(
      'remote.moveTo: afterImport: move needs moveTo',
    );
    expect(problemsOf(base({ remote: { ...base().remote, password: undefined } }))).toContain(
      'give password or privateKeyFile',
    );
    expect(problemsOf(base({ remote: { ...base().remote, hostKeyFingerprint: 'MD5:aa:bb' } }))).toContain(
      'remote.hostKeyFingerprint',
    );
    expect(problemsOf(base({ remote: { ...base().remote, folder: 'outgoing' } }))).toContain(
      'remote.folder: folder is an absolute path',
    );
    expect(problemsOf(base({ remote: { ...base().remote, privateKeyFile: 'id_ed25519' } }))).toContain(
      'remote.privateKeyFile',
    );
    expect(problemsOf(base({ remote: { ...base().remote, hostname: 'x' } }))).toContain('hostname');
  });
});

describe.each(DIALECTS)('the docs example applies (%s)', (dialect) => {
  let store: TestStore;
  beforeEach(async () => {
    store = await freshStore(dialect);
    await seedAccount(store);
  });
  afterEach(async () => {
    await store?.cleanup();
  });

  it('datasync instances apply stores it, with the resolved schedule the scheduler reads', async () => {
    const { imports } = parseInstancesYaml(EXAMPLE);
    expect(await applyInstances(store, imports as ImportInstanceInput[])).toEqual({
      created: ['rome-import'],
      updated: [],
    });
    const rec = await findInstance(store.db, 'rome-import');
    expect(rec).toMatchObject({ kind: 'import', enabled: true, accountId: 'acme' });
    const def = rec!.definition as { schedule: unknown; remote: { hostKeyFingerprint: string } };
    expect(scheduleSchema.safeParse(def.schedule).success).toBe(true);
    expect(def.remote.hostKeyFingerprint).toBe('SHA256:7dvV0wKj0b1q6m5cXl2r0aH8Zq2m3yq8Zq1b3Yt1Y0s');
  });
});
