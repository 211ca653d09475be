/**
 * The seed's example, end to end on a real `datasync serve` (in-process `startServer`: SFTP, HTTP, worker and
 * scheduler over a fresh data dir, first start with the demo account and its instances), with time injected:
 * a CSV dropped over OpenSSH `sftp` at 04:00 Europe/Rome is imported at once, and at 05:00 Europe/Rome the
 * unsubscribers and statistics files appear in `/export`, where the customer downloads them.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { ROLES } from '../../src/cli/roles.js';
import { startServer, type RunningServer } from '../../src/cli/server.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/logger.js';
import { listJobs, listRecipients } from '../../src/store/index.js';
import { runSftp } from '../sftp/sftp-harness.js';

/** Poll until `fn` returns a value (the work runs in the server's workers; bounded wait). */
async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('the seed example on sqlite: 04:00 upload imported at once, 05:00 Europe/Rome exports in /export', () => {
  let dir: string;
  let server: RunningServer;
  // 10 March 2026: Rome is on CET (UTC+1), so 04:00 Rome = 03:00Z and 05:00 Rome = 04:00Z.
  const clock = new ManualClock('2026-03-10T02:59:00Z');
  const api = (method: string, url: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${server.httpPort}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${server.secrets.adminToken}`,
        ...(body ? { 'content-type': 'application/json' } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
  const sftp = (commands: string[]) =>
    runSftp({ port: server.sftpPort!, dir }, 'demo', commands, {
      password: server.secrets.demo!.password,
      cwd: dir,
    });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-seed-'));
    const config = loadConfig({
      env: {
        DATASYNC_DATA_DIR: path.join(dir, 'data'),
        DATASYNC_HTTP__HOST: '127.0.0.1',
        DATASYNC_HTTP__PORT: '0',
        DATASYNC_SFTP__HOST: '127.0.0.1',
        DATASYNC_SFTP__PORT: '0',
        DATASYNC_LOG__LEVEL: 'silent',
      },
    });
    server = await startServer(config, new Set(ROLES), createLogger('silent'), { clock });
    expect(server.jobs?.scheduler).toBeDefined();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(
    'imports the 04:00 file at once and writes both export files at 05:00 Rome time',
    { timeout: 180_000 },
    async () => {
      const db = server.store.db;
      // Nothing is due before 05:00: a tick at 03:59 Rome runs no export.
      expect(await server.jobs!.scheduler!.tick()).toEqual([]);

      // 04:00 Rome: the customer's CRM drops its file.
      clock.set('2026-03-10T03:00:00Z');
      fs.writeFileSync(
        path.join(dir, 'customers.csv'),
        '111;1;2\nanna@example.com;Anna;Rossi\nbruno@example.com;Bruno;Bianchi\nnot-an-email;X;Y\n',
      );
      const put = await sftp(['put customers.csv /import/customers.csv']);
      expect(put.code, put.stderr).toBe(0);
      const imported = await waitFor('import job ended', async () => {
        const [job] = await listJobs(db, { accountId: 'demo', kind: 'import' });
        return job && job.status !== 'queued' && job.status !== 'running' ? job : undefined;
      });
      expect(imported.status).toBe('partial'); // one row rejected, two imported
      expect(imported.createdAt).toBe('2026-03-10T03:00:00.000Z');
      const emails = (await listRecipients(db, 'demo', { listId: 1 })).map((r) => r.recipient.email).sort();
      expect(emails).toEqual(['anna@example.com', 'bruno@example.com']);
      const done = await sftp(['ls -1 /import/done']);
      expect(done.stdout).toMatch(/customers\.csv\.result\.json/);
      expect(done.stdout).toMatch(/customers\.csv\.rejected\.csv/);

      // During the night: a campaign is sent, Anna opens and clicks, Bruno unsubscribes.
      const msg = (await (
        await api('POST', '/api/v1/accounts/demo/messages/email', {
          subject: 'Spring sale',
          text: 'hi',
          senderEmail: 'news@demo.test',
        })
      ).json()) as { idNl: number };
      const at = (hhmm: string) => `2026-03-10T${hhmm}:00Z`;
      const events = await api('POST', '/api/v1/accounts/demo/events', [
        { kind: 'sent', email: 'anna@example.com', idNl: msg.idNl, idList: 1, occurredAt: at('03:10') },
        { kind: 'sent', email: 'bruno@example.com', idNl: msg.idNl, idList: 1, occurredAt: at('03:10') },
        { kind: 'open', email: 'anna@example.com', idNl: msg.idNl, idList: 1, occurredAt: at('03:20') },
        {
          kind: 'click',
          email: 'anna@example.com',
          idNl: msg.idNl,
          idList: 1,
          url: 'https://shop.example.com/spring',
          occurredAt: at('03:21'),
        },
        {
          kind: 'unsubscribe',
          email: 'bruno@example.com',
          idNl: msg.idNl,
          idList: 1,
          occurredAt: at('03:30'),
        },
      ]);
      expect(events.status).toBe(200);
      expect(((await events.json()) as { rejected: unknown[] }).rejected).toEqual([]);

      // 05:00 Rome: both daily exports fire, once each.
      clock.set('2026-03-10T04:00:05Z');
      const fired = await server.jobs!.scheduler!.tick();
      expect(fired.map((f) => f.instanceId).sort()).toEqual(['demo-statistics', 'demo-unsubscribers']);
      expect(await server.jobs!.scheduler!.tick()).toEqual([]);
      const exportDir = path.join(dir, 'data', 'spaces', 'demo', 'export');
      const files = await waitFor('two export files', async () => {
        const names = fs.existsSync(exportDir)
          ? fs.readdirSync(exportDir).filter((n) => n.endsWith('.csv'))
          : [];
        return names.length === 2 ? names.sort() : undefined;
      });
      // File names carry Rome's date and time, not UTC's.
      for (const f of files) expect(f).toContain('20260310');

      // The customer downloads them over SFTP.
      const get = await sftp(files.map((f) => `get /export/${f} ${f}`));
      expect(get.code, get.stderr).toBe(0);
      const read = (kind: string) => {
        const name = files.find((f) => f.startsWith(kind));
        expect(name, `${kind} file among ${files.join(', ')}`).toBeDefined();
        return fs.readFileSync(path.join(dir, name!), 'utf8');
      };
      expect(read('unsubscribers')).toBe(
        'email;mobile;idList;OptOut_Date;Subscription_Date;optout_nl;optout_type\r\n' +
          `bruno@example.com;;1;20260310T043000;20260310T040000;${msg.idNl};2\r\n`,
      );
      const stats = read('statistics').split('\r\n');
      expect(stats[0]).toBe('idList;idInvio;idNl;email;subject;statusType;details;statusChange;sentDate');
      // Anna: open then click → one CLK row (the latest action); Bruno: sent only → no row unless SNT is asked for.
      expect(stats.filter((l) => l.includes('anna@example.com'))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^1;\\d*;${msg.idNl};anna@example.com;Spring sale;CLK;https://shop.example.com/spring;20260310T042100;`,
          ),
        ),
      ]);
    },
  );
});
