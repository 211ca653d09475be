/**
 * `datasync tokens … --admin` and the CLI's audit entries, through the real CLI on both dialects: admin
 * tokens created (printed once, working), listed (no secret, no hash, no account token), revoked (refused at
 * once), the last one kept (DS_TOKEN_LAST_ADMIN); usage errors for a missing or doubled scope; and every
 * create and revoke, account or admin, in the audit log with the actor `cli` and never the secret.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiTokenRecord, listAdminTokens, verifyApiToken } from '../../src/http/index.js';
import { createAccount, listAuditEntries } from '../../src/store/index.js';
import { openCliWorkspace, type CliWorkspace } from '../helpers/cli.js';
import { DIALECTS } from '../helpers/store.js';

describe.each(DIALECTS)('datasync tokens: admin tokens and audit (%s)', (dialect) => {
  let ws: CliWorkspace;
  beforeEach(async () => {
    ws = await openCliWorkspace(dialect, { prefix: 'ds-cli-tokens-' });
    await createAccount(ws.store.db, { id: 'acme', name: 'Acme' });
  });
  afterEach(() => ws.close());

  it(
    'creates, lists and revokes admin tokens; the last one is kept; each step audited as cli',
    { timeout: 300_000 },
    async () => {
      const acct = await createApiTokenRecord(ws.store.db, { accountId: 'acme', name: 'crm' });
      const made = await ws.cli('tokens', 'create', '--admin', '--name', 'ops');
      expect(made.code, made.stderr).toBe(0);
      const token = made.stdout.trim();
      expect(token).toMatch(/^ds_adm_\S+$/);
      expect(made.stderr).toMatch(/admin token \d+ "ops": shown once/);
      const ops = (await verifyApiToken(ws.store.db, token))!;
      expect(ops.accountId).toBeNull();

      const json = await ws.cli('tokens', 'create', '--admin', '--name', 'spare', '--json');
      expect(json.code, json.stderr).toBe(0);
      const spare = JSON.parse(json.stdout) as { id: number; token: string; name: string };
      expect(spare).toEqual({
        id: expect.any(Number),
        token: expect.stringMatching(/^ds_adm_/),
        name: 'spare',
      });

      const list = await ws.cli('tokens', 'list', '--admin', '--json');
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout)).toEqual([
        { id: ops.id, name: 'ops', createdAt: expect.any(String), lastUsedAt: expect.any(String) },
        { id: spare.id, name: 'spare', createdAt: expect.any(String), lastUsedAt: null },
      ]);
      const hashes = await ws.store.db.selectFrom('api_tokens').select('token_hash').execute();
      for (const h of hashes) expect(list.stdout).not.toContain(h.token_hash);
      for (const t of [token, spare.token, acct.token]) expect(list.stdout).not.toContain(t);
      const human = await ws.cli('tokens', 'list', '--admin');
      expect(human.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+CREATEDAT\s+LASTUSEDAT$/);

      // An account token's id is no admin token.
      const wrong = await ws.cli('tokens', 'revoke', '--admin', String(acct.id));
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/^error DS_NOT_FOUND: /m);
      expect(await verifyApiToken(ws.store.db, acct.token)).toBeDefined();

      const revoked = await ws.cli('tokens', 'revoke', '--admin', String(ops.id));
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toContain(`revoked admin token ${ops.id} "ops"`);
      expect(await verifyApiToken(ws.store.db, token)).toBeUndefined();
      const last = await ws.cli('tokens', 'revoke', '--admin', String(spare.id));
      expect(last.code).toBe(1);
      expect(last.stderr).toMatch(/^error DS_TOKEN_LAST_ADMIN: .*tokens create --admin/m);
      expect((await listAdminTokens(ws.store.db)).map((t) => t.id)).toEqual([spare.id]);

      const audit = (await listAuditEntries(ws.store.db, { limit: 20 })).reverse();
      expect(audit.map((e) => [e.actor, e.action, e.accountId, e.target, e.details])).toEqual([
        ['cli', 'token.create', null, 'ops', { id: ops.id }],
        ['cli', 'token.create', null, 'spare', { id: spare.id }],
        ['cli', 'token.revoke', null, 'ops', { id: ops.id }],
      ]);
      expect(JSON.stringify(audit)).not.toContain(token);
      expect(JSON.stringify(audit)).not.toContain(spare.token);
    },
  );

  it(
    'audits account token creates and revokes as cli (refusals write nothing)',
    { timeout: 300_000 },
    async () => {
      const made = await ws.cli('tokens', 'create', 'acme', '--name', 'crm', '--json');
      expect(made.code, made.stderr).toBe(0);
      const crm = JSON.parse(made.stdout) as { id: number; token: string };
      const revoked = await ws.cli('tokens', 'revoke', 'acme', String(crm.id));
      expect(revoked.code, revoked.stderr).toBe(0);
      expect(revoked.stdout).toContain(`revoked token ${crm.id} "crm" of account acme`);
      expect((await ws.cli('tokens', 'revoke', 'acme', String(crm.id))).code).toBe(1);
      expect((await ws.cli('tokens', 'create', 'nobody', '--name', 'x')).code).toBe(1);

      const audit = (await listAuditEntries(ws.store.db, { accountId: 'acme', limit: 20 })).reverse();
      expect(audit.map((e) => [e.actor, e.action, e.target, e.details, e.requestId])).toEqual([
        ['cli', 'token.create', 'crm', { id: crm.id }, null],
        ['cli', 'token.revoke', 'crm', { id: crm.id }, null],
      ]);
      expect(await listAuditEntries(ws.store.db, { limit: 20 })).toHaveLength(2);
      expect(JSON.stringify(audit)).not.toContain(crm.token);
    },
  );
});

// Once, not per dialect: the scope is checked before the store is opened.
describe('datasync tokens: ACCOUNT or --admin', () => {
  let ws: CliWorkspace;
  beforeEach(async () => {
    ws = await openCliWorkspace('sqlite', { prefix: 'ds-cli-tokens-usage-' });
  });
  afterEach(() => ws.close());

  it('needs exactly one of ACCOUNT and --admin', { timeout: 300_000 }, async () => {
    for (const args of [
      ['tokens', 'list'],
      ['tokens', 'list', 'acme', '--admin'],
      ['tokens', 'create', '--name', 'x'],
      ['tokens', 'create', 'acme', '--admin'],
      ['tokens', 'revoke', '7'],
      ['tokens', 'revoke', '--admin', 'acme', '7'],
      ['tokens', 'revoke', '--admin', 'seven'],
    ]) {
      const r = await ws.cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^error DS_USAGE: /m);
    }
    expect(await ws.store.db.selectFrom('api_tokens').select('id').execute()).toEqual([]);
  });
});
