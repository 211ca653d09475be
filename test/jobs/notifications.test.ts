/** Notifications against a real SMTP server (smtp-server) and a real HTTP receiver on loopback. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notifier, listDeliveries, notifySchema, signBody } from '../../src/jobs/notifications.js';
import { findJob, insertJob, updateJob, type JobRecord } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { openJobsEnv, type JobsEnv } from './jobs-harness.js';

describe.each(DIALECTS)('notifications (%s)', (dialect) => {
  let env: JobsEnv;
  let smtp: SMTPServer;
  let smtpPort: number;
  const mails: string[] = [];
  let hook: http.Server;
  let hookUrl: string;
  let hookCalls: Array<{ body: string; signature: string; status: number }> = [];
  let failFirst = 0;

  beforeAll(async () => {
    env = await openJobsEnv(dialect);
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, _session, cb) {
        let data = '';
        stream.on('data', (c: Buffer) => (data += c.toString()));
        stream.on('end', () => {
          mails.push(data);
          cb();
        });
      },
    });
    await new Promise<void>((r) => smtp.listen(0, '127.0.0.1', r));
    smtpPort = (smtp.server.address() as AddressInfo).port;
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const status = failFirst-- > 0 ? 503 : 200;
        hookCalls.push({ body, signature: String(req.headers['x-datasync-signature']), status });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/datasync`;
  });
  afterAll(async () => {
    if (smtp) await new Promise<void>((r) => smtp.close(() => r()));
    if (hook) await new Promise<void>((r) => hook.close(() => r()));
    await env?.cleanup();
  });

  async function partialJob(): Promise<JobRecord> {
    const j = await insertJob(env.store.db, {
      accountId: 'acme',
      instanceId: 'rome-import',
      kind: 'import',
      trigger: 'schedule',
      inputName: 'contacts.csv',
    });
    await updateJob(env.store.db, j.id, {
      status: 'partial',
      counters_json: JSON.stringify({ rows: 3, valid: 2, rejected: 1 }),
      started_at: '2026-03-01T03:00:00.000Z',
      ended_at: '2026-03-01T03:00:02.000Z',
      attempts: 1,
    });
    return (await findJob(env.store.db, j.id))!;
  }

  it('emails the outcome in plain words with counters and the first rejected rows', async () => {
    const n = new Notifier({
      db: env.store.db,
      smtp: { host: '127.0.0.1', port: smtpPort, secure: false, from: 'datasync@test.local' },
    });
    const job = await partialJob();
    const [d] = await n.notify(job, notifySchema.parse({ email: ['ops@acme.example'] }), [
      { line: 3, code: 'DS_EMAIL_INVALID', reason: 'not an email: "bob@"' },
    ]);
    n.close();
    expect(d).toMatchObject({ channel: 'email', status: 'delivered' });
    const mail = mails.at(-1)!;
    expect(mail).toContain('some rows were rejected');
    expect(mail).toContain('rejected: 1');
    expect(mail).toContain('line 3: DS_EMAIL_INVALID');
  });

  it('delivers a webhook once, signed, to a receiver that fails twice then succeeds', async () => {
    hookCalls = [];
    failFirst = 2;
    const waits: number[] = [];
    const n = new Notifier({
      db: env.store.db,
      smtp: { host: '127.0.0.1', port: smtpPort, secure: false, from: 'x@y' },
      wait: async (ms) => void waits.push(ms),
    });
    const job = await partialJob();
    const secret = 'a-long-shared-secret-123';
    const [d] = await n.notify(job, notifySchema.parse({ webhooks: [{ url: hookUrl, secret }] }));
    n.close();
    expect(hookCalls.map((c) => c.status)).toEqual([503, 503, 200]);
    expect(hookCalls.filter((c) => c.status === 200)).toHaveLength(1);
    const ok = hookCalls[2]!;
    expect(ok.signature).toBe(signBody(ok.body, secret));
    expect(JSON.parse(ok.body)).toMatchObject({ event: 'partial', job: { id: job.id, status: 'partial' } });
    expect(waits).toEqual([2000, 4000]);
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, response_status: 200 });
    expect(await listDeliveries(env.store.db, job.id)).toHaveLength(1);
  });
});
