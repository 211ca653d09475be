import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

describe('datasync CLI', () => {
  let cwd: string;
  const env = { DATASYNC_DEMO: 'false' };
  beforeAll(() => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-cli-'));
  });

  it('config check lists three mistakes on three lines and exits 2', async () => {
    fs.writeFileSync(
      path.join(cwd, 'bad.yaml'),
      'sftp:\n  port: -1\n  idleTimeoutSeconds: soon\nhttp:\n  hots: x\n',
    );
    const r = await runCli(['--config', 'bad.yaml', 'config', 'check'], { cwd, env });
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter((l) => /^\s+(sftp|http)/.test(l));
    expect(lines).toHaveLength(3);
    expect(r.stderr).toContain('DS_CONFIG_INVALID');
  });

  it('config check passes on defaults', async () => {
    const r = await runCli(['config', 'check'], { cwd, env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('configuration OK');
  });

  it('a missing argument prints usage and exits 2', async () => {
    const r = await runCli(['lists', 'add', 'acme'], { cwd, env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing required argument/);
    expect(r.stderr).toMatch(/--help/);
  });

  it('an unknown command exits 2', async () => {
    const r = await runCli(['frobnicate'], { cwd, env });
    expect(r.code).toBe(2);
  });

  // A dozen CLI processes in a row: generous on a loaded 2-core machine.
  it(
    'creates accounts, lists, fields, groups and recipients, with DS_* errors for bad input',
    { timeout: 300_000 },
    async () => {
      expect((await runCli(['accounts', 'add', 'acme', '--name', 'ACME Ltd'], { cwd, env })).code).toBe(0);
      const dup = await runCli(['accounts', 'add', 'acme'], { cwd, env });
      expect(dup.code).toBe(1);
      expect(dup.stderr).toMatch(/^error DS_DUPLICATE: /m);
      expect(
        (await runCli(['lists', 'add', 'acme', '1', 'Newsletter', '--mobile-prefix', '39'], { cwd, env }))
          .code,
      ).toBe(0);
      expect((await runCli(['fields', 'set', 'acme', '1', 'First name'], { cwd, env })).code).toBe(0);
      expect((await runCli(['groups', 'add', 'acme', '1', 'VIP'], { cwd, env })).code).toBe(0);
      const badList = await runCli(['lists', 'add', 'acme', 'one', 'x'], { cwd, env });
      expect(badList.code).toBe(2);
      expect(badList.stderr).toContain('DS_USAGE');

      const bad = await runCli(['recipients', 'add', 'acme', '--email', 'nobody-at-example.com'], {
        cwd,
        env,
      });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(
        /^error DS_EMAIL_INVALID: "nobody-at-example.com" is not a valid email address/m,
      );
      const ok = await runCli(
        [
          'recipients',
          'add',
          'acme',
          '--email',
          'mario@example.com',
          '--mobile',
          '3471234567',
          '--list',
          '1',
          '--field',
          '1=Mario',
        ],
        {
          cwd,
          env,
        },
      );
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/created, subscribed \(email, sms\)/);
      await runCli(['recipients', 'add', 'acme', '--email', 'luigi@example.com', '--list', '1'], {
        cwd,
        env,
      });
      const conflict = await runCli(
        ['recipients', 'add', 'acme', '--email', 'luigi@example.com', '--mobile', '+393471234567'],
        { cwd, env },
      );
      expect(conflict.code).toBe(1);
      expect(conflict.stderr).toContain('DS_RECIPIENT_KEY_CONFLICT');

      const list = await runCli(['recipients', 'list', 'acme', '--list', '1', '--json'], { cwd, env });
      expect(list.code).toBe(0);
      const rows = JSON.parse(list.stdout) as {
        recipient: { email: string; mobile: string; fields: Record<string, string> };
      }[];
      expect(rows.map((r) => r.recipient.email)).toEqual(['mario@example.com', 'luigi@example.com']);
      expect(rows[0]!.recipient).toMatchObject({ mobile: '393471234567', fields: { 1: 'Mario' } });
      const accounts = JSON.parse((await runCli(['accounts', 'list', '--json'], { cwd, env })).stdout) as {
        id: string;
        name: string;
      }[];
      expect(accounts).toEqual([expect.objectContaining({ id: 'acme', name: 'ACME Ltd' })]);
    },
  );
});
