/** Event ingestion over HTTP (JSON array, JSON lines, idempotency) and `datasync events add`. */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { addEventsFile, registerEventsCommands } from '../../src/cli/events.commands.js';
import { DIALECTS } from '../helpers/store.js';
import {
  eventsOf,
  seedAccount,
  startHarness,
  subscriptionsOf,
  type Harness,
  type Seed,
} from './http-harness.js';

describe.each(DIALECTS)('event ingestion (%s)', (dialect) => {
  let h: Harness;
  let s: Seed;
  const post = (payload: string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: 'POST',
      url: '/api/v1/accounts/acme/events',
      headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json', ...headers },
      payload,
    });
  beforeEach(async () => {
    h = await startHarness(dialect, { listen: false });
    s = await seedAccount(h);
  });
  afterEach(() => h.close());

  const batch = () => [
    {
      kind: 'open',
      email: 'alice@example.com',
      idInvio: s.sending.number,
      occurredAt: '2026-02-01T10:00:00Z',
    },
    { kind: 'click', email: 'alice@example.com', idInvio: s.sending.number, url: 'https://acme.test/a' },
    { kind: 'bounce', bounceType: 'hard', code: '5.1.1', email: 'bob@example.com' },
  ];

  it('records a JSON array once when the same batch is sent twice with an Idempotency-Key', async () => {
    const first = await post(JSON.stringify(batch()), { 'idempotency-key': 'batch-42' });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toEqual({ received: 3, recorded: 3, duplicates: 0, rejected: [], unsubscribed: 2 });
    const again = await post(JSON.stringify(batch()), { 'idempotency-key': 'batch-42' });
    expect(again.json()).toEqual({ received: 3, recorded: 0, duplicates: 3, rejected: [], unsubscribed: 0 });
    expect(await eventsOf(h, s.alice)).toHaveLength(2);
    expect(await eventsOf(h, s.bob, 'bounce')).toHaveLength(1);
    expect(await eventsOf(h, s.bob, 'unsubscribe')).toHaveLength(2);
    expect(await subscriptionsOf(h, s.bob)).toEqual({
      '1/email': 'unsubscribed:83',
      '2/email': 'unsubscribed:83',
    });
    const open = (await eventsOf(h, s.alice, 'open'))[0]!;
    // idInvio 1 is a datasync sending: its message and list fill in what the event left out; the row holds
    // internal ids.
    expect(open).toMatchObject({
      sending_id: s.sending.id,
      message_id: s.sending.messageId,
      list_id: 1,
      occurred_at: '2026-02-01T10:00:00.000Z',
    });
  });

  it('accepts JSON lines, uses per-event keys, and reports bad lines without failing the others', async () => {
    const lines = [
      JSON.stringify({ kind: 'open', email: 'alice@EXAMPLE.com', idempotencyKey: 'e1' }),
      '',
      JSON.stringify({ kind: 'open', email: 'nobody@example.com' }),
      JSON.stringify({ kind: 'click', email: 'alice@example.com' }),
      JSON.stringify({ kind: 'teleport', email: 'alice@example.com' }),
      JSON.stringify({ kind: 'open', email: 'not an email' }),
      JSON.stringify({ kind: 'open', email: 'alice@example.com', idempotencyKey: 'e1' }),
      JSON.stringify({ kind: 'click', email: 'alice@example.com', url: 'javascript:alert(1)' }),
    ].join('\n');
    const res = await post(lines, { 'content-type': 'application/x-ndjson' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ received: 7, recorded: 1, duplicates: 1, unsubscribed: 0 });
    expect(body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, 'DS_RECIPIENT_UNKNOWN'],
      [2, 'DS_EVENT_INVALID'],
      [3, 'DS_EVENT_INVALID'],
      [4, 'DS_EMAIL_INVALID'],
      [6, 'DS_EVENT_INVALID'],
    ]);
    expect(await eventsOf(h, s.alice, 'open')).toHaveLength(1);
  });

  it('answers DS_VALIDATION for a body that is not JSON, and DS_NOT_FOUND for an unknown account', async () => {
    const bad = await post('{"kind": "open",', { 'content-type': 'application/x-ndjson' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error.code).toBe('DS_VALIDATION');
    const res = await h.app.inject({
      method: 'POST',
      url: '/api/v1/accounts/ghost/events',
      headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json' },
      payload: '[]',
    });
    expect(res.statusCode).toBe(404);
  });

  it('`datasync events add` records a file once, however many times it is added', async () => {
    const file = path.join(h.dataDir, 'events.jsonl');
    fs.writeFileSync(
      file,
      '\uFEFF' +
        batch()
          .map((e) => JSON.stringify(e))
          .join('\r\n') +
        '\r\n',
    );
    const logs: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void logs.push(a.join(' ')));
    try {
      if (dialect === 'sqlite') {
        // The whole command, through its config file.
        const config = path.join(h.dataDir, 'datasync.yaml');
        fs.writeFileSync(
          config,
          `dataDir: ${JSON.stringify(h.dataDir)}\ndatabase: ${JSON.stringify(h.store.database)}\n`,
        );
        for (let i = 0; i < 2; i++) {
          const program = new Command('datasync').option('-c, --config <file>').exitOverride();
          registerEventsCommands(program, () => program.opts());
          await program.parseAsync(['node', 'datasync', '--config', config, 'events', 'add', 'acme', file]);
        }
        expect(logs).toEqual([
          '3 recorded, 0 already recorded, 0 rejected, 2 unsubscribed',
          '0 recorded, 3 already recorded, 0 rejected, 0 unsubscribed',
        ]);
      } else {
        // The command's body on this test's PostgreSQL schema (the CLI opens the configured database).
        expect(await addEventsFile(h.store, 'acme', file)).toMatchObject({ recorded: 3, unsubscribed: 2 });
        expect(await addEventsFile(h.store, 'acme', file)).toMatchObject({ recorded: 0, duplicates: 3 });
      }
    } finally {
      spy.mockRestore();
    }
    expect(await eventsOf(h, s.alice)).toHaveLength(2);
    expect(await subscriptionsOf(h, s.bob)).toEqual({
      '1/email': 'unsubscribed:83',
      '2/email': 'unsubscribed:83',
    });
  });

  it('`datasync events add` takes a JSON array file too', async () => {
    const file = path.join(h.dataDir, 'events.json');
    fs.writeFileSync(file, JSON.stringify(batch(), null, 2));
    expect(await addEventsFile(h.store, 'acme', file)).toMatchObject({
      received: 3,
      recorded: 3,
      rejected: [],
    });
  });
});
