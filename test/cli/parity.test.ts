/**
 * CLI parity with the admin API, through the real `datasync` CLI on both dialects: `instances validate`
 * (the API's validation, nothing saved, exit 1 with every problem), `tokens create` (a working account token,
 * printed once; `tokens list` and `tokens revoke`), `messages list` and `messages summary` (the same figures as
 * the summary route).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adminApiRoutes,
  buildApp,
  createApiToken,
  createApiTokenRecord,
  listApiTokens,
  recordEvents,
  verifyApiToken,
} from '../../src/http/index.js';
import { createLogger } from '../../src/logger.js';
import { HostedSpaces } from '../../src/spaces/index.js';
import {
  addList,
  createAccount,
  createMessage,
  listInstances,
  upsertRecipient,
  type Store,
} from '../../src/store/index.js';
import { openCliWorkspace, type CliWorkspace } from '../helpers/cli.js';
import { DIALECTS } from '../helpers/store.js';

const GOOD = `
- id: acme-import
  accountId: acme
  fileMatch: { glob: "*.csv" }
  destination: { listId: 1 }
- id: acme-unsubs
  accountId: acme
  kind: export
  type: unsubscribers
  lists: [1]
  schedule: { cron: "0 4 * * *", timeZone: Europe/Rome }
- id: acme-sms
  accountId: acme
  kind: csv2sms
`;
const BAD = `
instances:
  - id: imp
    accountId: acme
    kind: import
    mapping: { style: nope }
  - id: unsubs
    accountId: acme
    kind: export
    type: unsubscribers
    lists: [7]
  - id: sms
    accountId: acme
    kind: csv2sms
    schedule: { cron: never }
  - id: ghost
    accountId: nobody
    kind: csv2sms
  - id: odd
    accountId: acme
    kind: other
  - accountId: acme
    kind: csv2sms
`;

describe.each(DIALECTS)('CLI parity with the admin API (%s)', (dialect) => {
  let w: CliWorkspace;
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    w = await openCliWorkspace(dialect, { prefix: 'ds-parity-' });
    ({ dir, store } = w);
    await createAccount(store.db, { id: 'acme', name: 'Acme' });
    await addList(store.db, { accountId: 'acme', listId: 1, name: 'News' });
  });
  afterEach(() => w?.close());

  const cli = (...args: string[]) => w.cli(...args);

  it(
    'instances validate: every document through the API validation, nothing saved',
    { timeout: 120_000 },
    async () => {
      fs.writeFileSync(path.join(dir, 'good.yaml'), GOOD);
      fs.writeFileSync(path.join(dir, 'bad.yaml'), BAD);
      const ok = await cli('instances', 'validate', 'good.yaml');
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('valid acme-import (import, account acme)');
      expect(ok.stdout).toContain('valid acme-unsubs (export, account acme)');
      expect(ok.stdout).toContain('valid acme-sms (csv2sms, account acme)');

      const bad = await cli('instances', 'validate', 'bad.yaml');
      expect(bad.code).toBe(1);
      const lines = bad.stderr.split('\n');
      const line = (prefix: string) => lines.find((l) => l.startsWith(prefix)) ?? '';
      expect(line('instances[0] imp:')).toContain('DS_IMPORT_INSTANCE_INVALID');
      expect(line('instances[1] unsubs:')).toContain('DS_LIST_UNKNOWN');
      expect(line('instances[2] sms:')).toContain('DS_INSTANCE_INVALID');
      expect(line('instances[3] ghost:')).toContain('DS_NOT_FOUND');
      expect(line('instances[4] odd:')).toContain('DS_INSTANCE_INVALID');
      expect(line('instances[5]:')).toContain('id:');
      expect(bad.stderr).toMatch(/^error DS_INSTANCE_INVALID: 6 problem\(s\) in bad\.yaml/m);
      expect(await listInstances(store.db, {})).toEqual([]);

      const json = await cli('instances', 'validate', 'bad.yaml', '--json');
      expect(json.code).toBe(1);
      const r = JSON.parse(json.stdout) as { valid: unknown[]; problems: { code: string }[] };
      expect(r.problems.map((p) => p.code)).toEqual([
        'DS_IMPORT_INSTANCE_INVALID',
        'DS_LIST_UNKNOWN',
        'DS_INSTANCE_INVALID',
        'DS_NOT_FOUND',
        'DS_INSTANCE_INVALID',
        'DS_INSTANCE_INVALID',
      ]);
      expect((await cli('instances', 'validate', 'missing.yaml')).code).toBe(2);

      // apply takes what validate accepts, CSV2SMS/FTPZIP instances included, and refuses a bad file whole.
      expect((await cli('instances', 'apply', 'bad.yaml')).code).not.toBe(0);
      expect(await listInstances(store.db, {})).toEqual([]);
      const applied = await cli('instances', 'apply', 'good.yaml');
      expect(applied.code, applied.stderr).toBe(0);
      expect((await listInstances(store.db, {})).map((i) => `${i.id}:${i.kind}`).sort()).toEqual([
        'acme-import:import',
        'acme-sms:csv2sms',
        'acme-unsubs:export',
      ]);
    },
  );

  it(
    "tokens list shows an account's tokens without secrets; tokens revoke refuses the token at once",
    { timeout: 120_000 },
    async () => {
      await createAccount(store.db, { id: 'other', name: 'Other' });
      const otherToken = await createApiToken(store.db, { accountId: 'other', name: 'other-ci' });
      const r = await cli('tokens', 'create', 'acme', '--name', 'crm', '--json');
      expect(r.code, r.stderr).toBe(0);
      const crm = JSON.parse(r.stdout) as { id: number; token: string; name: string };
      const backup = await createApiTokenRecord(store.db, { accountId: 'acme', name: 'backup' });
      expect(await verifyApiToken(store.db, crm.token)).toEqual({ id: crm.id, accountId: 'acme' });

      const list = await cli('tokens', 'list', 'acme', '--json');
      expect(list.code, list.stderr).toBe(0);
      const rows = JSON.parse(list.stdout) as Record<string, unknown>[];
      expect(rows).toEqual([
        {
          id: crm.id,
          accountId: 'acme',
          name: 'crm',
          createdAt: expect.any(String),
          lastUsedAt: expect.any(String),
        },
        { id: backup.id, accountId: 'acme', name: 'backup', createdAt: expect.any(String), lastUsedAt: null },
      ]);
      const hashes = await store.db.selectFrom('api_tokens').select('token_hash').execute();
      for (const h of hashes) expect(list.stdout).not.toContain(h.token_hash);
      expect(list.stdout).not.toContain(crm.token);
      const human = await cli('tokens', 'list', 'acme');
      expect(human.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+CREATEDAT\s+LASTUSEDAT$/);
      expect(human.stdout).toContain('backup');

      // Another account's token is not this account's to revoke: not found, and it still works.
      const otherId = (await verifyApiToken(store.db, otherToken))!.id;
      const cross = await cli('tokens', 'revoke', 'acme', String(otherId));
      expect(cross.code).toBe(1);
      expect(cross.stderr).toMatch(/^error DS_NOT_FOUND: /m);
      expect(await verifyApiToken(store.db, otherToken)).toBeDefined();

      const revoked = await cli('tokens', 'revoke', 'acme', String(crm.id));
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toContain(`revoked token ${crm.id} "crm"`);
      expect(await verifyApiToken(store.db, crm.token)).toBeUndefined();
      expect(await verifyApiToken(store.db, backup.token)).toBeDefined();
      expect((await listApiTokens(store.db, 'acme')).map((t) => t.id)).toEqual([backup.id]);
      const again = await cli('tokens', 'revoke', 'acme', String(crm.id));
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^error DS_NOT_FOUND: /m);
      expect((await cli('tokens', 'revoke', 'acme', 'crm')).code).toBe(2);
    },
  );

  it(
    'tokens create prints a working account token once; messages list and summary match the API',
    { timeout: 120_000 },
    async () => {
      const t = await cli('tokens', 'create', 'acme', '--name', 'ci');
      expect(t.code, t.stderr).toBe(0);
      const token = t.stdout.trim();
      expect(token).toMatch(/^ds_acc_\S+$/);
      expect(t.stderr).toContain('shown once');
      expect(await verifyApiToken(store.db, token)).toEqual({ id: expect.any(Number), accountId: 'acme' });
      const none = await cli('tokens', 'create', 'nobody');
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/^error DS_NOT_FOUND: /m);

      await upsertRecipient(store.db, { accountId: 'acme', email: 'anna@example.com', listId: 1 });
      await upsertRecipient(store.db, { accountId: 'acme', email: 'bruno@example.com', listId: 1 });
      const email = await createMessage(store.db, {
        accountId: 'acme',
        channel: 'email',
        subject: 'Spring sale',
        text: 'hi',
        senderEmail: 'news@acme.test',
      });
      await createMessage(store.db, { accountId: 'acme', channel: 'sms', text: 'Sale today' });
      const rec = await recordEvents(store, 'acme', [
        { kind: 'open', email: 'anna@example.com', idNl: email.number },
        { kind: 'open', email: 'anna@example.com', idNl: email.number },
        { kind: 'open', email: 'bruno@example.com', idNl: email.number },
        { kind: 'click', email: 'bruno@example.com', idNl: email.number, url: 'https://shop.example.com/x' },
      ]);
      expect(rec.rejected).toEqual([]);

      const found = await cli('recipients', 'list', 'acme', '--search', 'ANNA@example.com', '--json');
      expect(JSON.parse(found.stdout)).toEqual([
        expect.objectContaining({ recipient: expect.objectContaining({ email: 'anna@example.com' }) }),
      ]);

      const list = await cli('messages', 'list', 'acme', '--json');
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([
        expect.objectContaining({ channel: 'email', number: email.number, subject: 'Spring sale' }),
        expect.objectContaining({ channel: 'sms', number: 1, text: 'Sale today' }),
      ]);
      const smsOnly = await cli('messages', 'list', 'acme', '--channel', 'sms');
      expect(smsOnly.stdout).toContain('Sale today');
      expect(smsOnly.stdout).not.toContain('Spring sale');
      expect((await cli('messages', 'list', 'acme', '--channel', 'fax')).code).toBe(2);

      // The summary route over the same store, for comparison.
      const app: FastifyInstance = await buildApp({
        logger: createLogger('silent'),
        bodyLimitBytes: 1024 * 1024,
        registry: new Registry(),
        db: store.db,
      });
      await app.register(adminApiRoutes, {
        store,
        dataDir: dir,
        spaces: new HostedSpaces(path.join(dir, 's')),
      });
      try {
        const admin = await createApiToken(store.db, { accountId: null, name: 'a' });
        const api = await app.inject({
          method: 'GET',
          url: `/api/v1/accounts/acme/messages/email/${email.number}/summary`,
          headers: { authorization: `Bearer ${admin}` },
        });
        const summary = await cli('messages', 'summary', 'acme', 'email', String(email.number), '--json');
        expect(summary.code, summary.stderr).toBe(0);
        expect(JSON.parse(summary.stdout)).toEqual(api.json());
        expect(api.json()).toMatchObject({ uniqueOpens: 2, uniqueClicks: 1, events: { open: 3, click: 1 } });
      } finally {
        await app.close();
      }
      const human = await cli('messages', 'summary', 'acme', 'email', String(email.number));
      expect(human.stdout).toContain('unique opens 2, unique clicks 1');
      expect(human.stdout).toContain('link https://shop.example.com/x: 1 clicks, 1 recipients');
      const missing = await cli('messages', 'summary', 'acme', 'sms', '99');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^error DS_MESSAGE_UNKNOWN: /m);
    },
  );
});
