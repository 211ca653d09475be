import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAccount } from '../../src/store/index.js';
import {
  HttpProvider,
  LogProvider,
  createSmsProvider,
  handleDeliveryReport,
  parseSmsConfig,
  segmentText,
  type DeliveryReport,
  type SmsSubmit,
} from '../../src/sms/index.js';
import { DIALECTS, freshStore, type TestStore } from '../helpers/store.js';

const msg = (to: string, text: string): SmsSubmit => {
  const s = segmentText(text);
  return {
    to,
    from: 'Shop',
    senderKind: 'alphanumeric',
    text,
    encoding: s.encoding,
    segments: s.segments,
    reference: '7:9',
  };
};

/** A gateway on loopback: answers per `reply`, records the bodies. */
async function gateway(
  reply: (n: number) => { status: number; body: unknown; headers?: Record<string, string> },
) {
  const bodies: Record<string, unknown>[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(data) as Record<string, unknown>);
      headers.push(req.headers);
      const r = reply(bodies.length);
      res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
      res.end(JSON.stringify(r.body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, bodies, headers, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/send` };
}

let close: (() => Promise<void>) | null = null;
afterEach(async () => {
  await close?.();
  close = null;
});

describe('HTTP provider', () => {
  it('posts the configured JSON and reads the id; retries 429; refuses on 4xx; stops on 5xx', async () => {
    const g = await gateway((n) =>
      n === 1
        ? { status: 429, body: {}, headers: { 'retry-after': '0' } }
        : n === 2
          ? { status: 200, body: { data: { messageId: 'abc-1' } } }
          : n === 3
            ? { status: 400, body: { error: 'bad number' } }
            : { status: 500, body: {} },
    );
    close = () => new Promise((r) => g.server.close(() => r()));
    const p = new HttpProvider({
      url: g.url,
      headers: { authorization: 'Bearer t0k' },
      fields: { to: 'msisdn', from: 'sender', text: 'body', encoding: 'coding', reference: 'ref' },
      extraBody: { route: 'premium' },
      messageIdPath: 'data.messageId',
      throttleBaseMs: 1,
      throttleMaxMs: 5,
    });
    expect(await p.submit(msg('393331234567', 'Hi'))).toEqual({
      ok: true,
      providerMessageId: 'abc-1',
      partIds: ['abc-1'],
    });
    expect(g.bodies[1]).toEqual({
      route: 'premium',
      msisdn: '393331234567',
      sender: 'Shop',
      body: 'Hi',
      coding: 'gsm7',
      ref: '7:9',
    });
    expect(g.headers[1]!.authorization).toBe('Bearer t0k');
    expect(await p.submit(msg('1', 'x'))).toMatchObject({
      ok: false,
      code: 'DS_SMS_SUBMIT_REJECTED',
      status: 'HTTP_400',
    });
    await expect(p.submit(msg('2', 'y'))).rejects.toMatchObject({ code: 'DS_SMS_PROVIDER_UNAVAILABLE' });
  });

  it('builds providers from the sms config section and refuses incomplete ones', () => {
    expect(parseSmsConfig({}).provider).toBe('log');
    expect(parseSmsConfig({}).maxSegments).toBe(3);
    expect(() => createSmsProvider(parseSmsConfig({ provider: 'smpp' }), { dataDir: '/tmp' })).toThrow(
      expect.objectContaining({ code: 'DS_SMS_PROVIDER_CONFIG' }),
    );
    expect(() => createSmsProvider(parseSmsConfig({ provider: 'http' }), { dataDir: '/tmp' })).toThrow(
      expect.objectContaining({ code: 'DS_SMS_PROVIDER_CONFIG' }),
    );
    expect(
      createSmsProvider(parseSmsConfig({ provider: 'http', http: { url: 'http://x/y' } }), {
        dataDir: '/tmp',
      }).name,
    ).toBe('http');
  });
});

describe('log provider', () => {
  it('writes JSON lines and produces delivery reports', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-smslog-'));
    const p = new LogProvider({ file: path.join(dir, 'sms.jsonl') });
    const reports: DeliveryReport[] = [];
    p.onDeliveryReport((r) => reports.push(r));
    const done = new Promise<void>((resolve) => p.onDeliveryReport(() => reports.length === 2 && resolve()));
    const a = await p.submit(msg('393331234567', 'Hi'));
    await p.submit(msg('393330000000', 'Hi'));
    await done;
    await p.stop();
    const lines = fs
      .readFileSync(path.join(dir, 'sms.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ to: '393331234567', from: 'Shop', text: 'Hi', parts: 1 });
    expect(reports.map((r) => r.status)).toEqual(['DELIVERED', 'UNDELIV']);
    expect(a.ok && a.providerMessageId).toBe(reports[0]!.providerMessageId);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe.each(DIALECTS)('delivery-report webhook handler (%s)', (dialect) => {
  let store: TestStore;
  afterEach(async () => store.cleanup());

  it('records reports against their sent message, idempotently, and refuses unreadable bodies', async () => {
    store = await freshStore(dialect);
    await createAccount(store.db, { id: 'acme' });
    const now = '2026-03-01T10:00:00.000Z';
    await store.db
      .insertInto('events')
      .values({
        account_id: 'acme',
        kind: 'sent',
        channel: 'sms',
        recipient_id: 7,
        list_id: 5,
        message_id: 3,
        sending_id: 4,
        url: null,
        code: null,
        detail: 'gsm7:1',
        provider_message_id: 'abc-1',
        ip: null,
        user_agent: null,
        idempotency_key: 'sent:4:7',
        occurred_at: now,
        recorded_at: now,
      })
      .execute();
    const body = {
      reports: [
        { id: 'abc-1', status: 'delivered', doneAt: '2026-03-01T10:00:05Z' },
        { id: 'zzz', status: 'failed' },
      ],
    };
    expect(await handleDeliveryReport(store, 'http', body)).toEqual({
      recorded: 1,
      duplicates: 0,
      unknown: 1,
    });
    expect(await handleDeliveryReport(store, 'http', body)).toEqual({
      recorded: 0,
      duplicates: 1,
      unknown: 1,
    });
    const ev = await store.db.selectFrom('events').selectAll().where('kind', '=', 'sms_status').execute();
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({
      code: 'DELIVERED',
      recipient_id: 7,
      list_id: 5,
      sending_id: 4,
      occurred_at: '2026-03-01T10:00:05.000Z',
    });
    await expect(handleDeliveryReport(store, 'http', { status: 'x' })).rejects.toMatchObject({
      code: 'DS_SMS_DLR_INVALID',
    });
  });
});
