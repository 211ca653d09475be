/**
 * Tracking throughput: autocannon against the open pixel and the click redirect of the real app (SQLite
 * store, group-committed event writes), and against a bare fastify route returning the same GIF — the raw
 * limit of this machine in the same run. autocannon runs as a child process so it does not share the
 * server's event loop.
 *
 *   node --import tsx bench/tracking.ts [--seconds 30] [--connections 50]
 *
 * Target (issue 7): ratio ≥ 0.5 of the bare route and p99 ≤ 20 ms. Results go to bench/RESULTS.md.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { buildApp, createTrackingLinks, loadTrackingKey } from '../src/http/index.js';
import { PIXEL_GIF } from '../src/http/tracking.routes.js';
import { createLogger } from '../src/logger.js';
import { createMessage, createSending } from '../src/store/engagement-messages.repository.js';
import { addList, createAccount, openStore, upsertRecipient } from '../src/store/index.js';

const run = promisify(execFile);
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const seconds = arg('seconds', 30);
const connections = arg('connections', 50);
const AUTOCANNON = path.resolve(import.meta.dirname, '../node_modules/autocannon/autocannon.js');

interface Figures {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(name: string, url: string): Promise<Figures> {
  const { stdout } = await run(
    process.execPath,
    [AUTOCANNON, '--json', '-c', String(connections), '-d', String(seconds), url],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const r = JSON.parse(stdout) as {
    requests: { average: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  };
  return {
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-bench-tracking-'));
const store = await openStore({ database: `sqlite:${path.join(dir, 'bench.db')}` });
try {
  const db = store.db;
  await createAccount(db, { id: 'bench', name: 'bench' });
  await addList(db, { accountId: 'bench', listId: 1, name: 'L' });
  const r = await upsertRecipient(db, { accountId: 'bench', email: 'r@example.com', listId: 1 });
  const m = await createMessage(db, {
    accountId: 'bench',
    channel: 'email',
    subject: 's',
    text: 't',
    senderEmail: 'a@b.co',
  });
  const sending = await createSending(db, {
    accountId: 'bench',
    channel: 'email',
    messageNumber: m.number,
    listId: 1,
  });

  const key = loadTrackingKey(dir);
  const app = await buildApp({
    logger: createLogger('warn'),
    bodyLimitBytes: 1024 * 1024,
    registry: new Registry(),
    db,
    maxParameters: store.dialect.maxParameters,
    trackingKey: key,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const links = createTrackingLinks(base, key);

  const bare = Fastify({ logger: false });
  bare.get('/pixel.gif', (_req, reply) => {
    void reply
      .headers({
        'content-type': 'image/gif',
        'cache-control': 'no-store, no-cache, must-revalidate, max-age=0, private',
      })
      .send(PIXEL_GIF);
  });
  await bare.listen({ host: '127.0.0.1', port: 0 });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as { port: number }).port}/pixel.gif`;

  console.log(
    `tracking bench: ${seconds} s per run, ${connections} connections, loopback, ${os.cpus().length} cores`,
  );
  const results: Figures[] = [];
  results.push(await load('bare fastify GIF (raw limit)', bareUrl));
  results.push(await load('open pixel /t/o', links.openUrl(sending.id, r.recipient.id)));
  results.push(
    await load(
      'click redirect /t/c',
      links.clickUrl(sending.id, r.recipient.id, 'https://example.com/landing?utm=x'),
    ),
  );
  await app.close();
  await bare.close();

  const events = await db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  const raw = results[0]!.rps;
  console.log('\n| endpoint | req/s | p50 ms | p99 ms | ratio to raw | errors |');
  console.log('|---|---|---|---|---|---|');
  for (const f of results)
    console.log(
      `| ${f.name} | ${Math.round(f.rps)} | ${f.p50} | ${f.p99} | ${(f.rps / raw).toFixed(2)} | ${f.errors} |`,
    );
  console.log(`\nevents written: ${Number(events.n)}`);
} finally {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
