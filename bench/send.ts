/**
 * Email sending throughput: N personalised messages (default 20,000) with link tracking, open pixel and
 * List-Unsubscribe headers to a loopback SMTP sink, against the raw limit of the same machine in the same run.
 *
 *   node --import tsx bench/send.ts [--messages N] [--connections C] [--inflight F] [--runs R] [--only raw|datasync]
 *
 * - raw: nodemailer (the same pooled transport, same `maxConnections` / `maxMessages`, the same number of
 *   messages in flight) sending ONE pre-rendered message N times — no database, no rendering, no events;
 * - datasync: `sendCampaign` of a sending to N subscribed recipients (SQLite): pages of targets, per-recipient
 *   rendering (dynamic fields, signed click/open/unsubscribe tokens), `sent` events committed per page.
 * The sink (bench/send.server.ts) runs in a child process and only counts what it accepts.
 * Prints messages/s per run, medians and the ratio datasync / raw (target ≥ 0.6, issue 8).
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  createEmailTransport,
  recipientValues,
  renderMessage,
  sendCampaign,
  type MessageTemplate,
  type RenderedMessage,
} from '../src/email/index.js';
import { createTrackingLinks, loadTrackingKey } from '../src/http/index.js';
import { createMessage, createSending } from '../src/store/engagement-messages.repository.js';
import { addList, createAccount, openStore, setField, upsertRecipient } from '../src/store/index.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('messages', 20_000);
const CONNECTIONS = arg('connections', 5);
/** Messages in flight (both sides); default one per pooled connection, as sendCampaign's default. */
const INFLIGHT = arg('inflight', CONNECTIONS);
const RUNS = arg('runs', 3);
/** `--only raw|datasync`: one side alone (for profiling with --cpu-prof). */
const ONLY = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;

interface Figure {
  /** Messages per second (wall clock). */
  rate: number;
  /** CPU time of this process per message, µs (user + system): less sensitive to a noisy machine. */
  cpuUs: number;
}

async function measure(body: () => Promise<void>): Promise<Figure> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await body();
  const s = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { rate: N / s, cpuUs: (used.user + used.system) / N };
}

const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>Spring offers</title></head>
<body style="font-family:Arial,sans-serif;margin:0;padding:0">
<table width="600" align="center" cellpadding="0" cellspacing="0">
<tr><td><a href="https://shop.example.com/?src=header"><img src="https://cdn.example.com/logo.png" alt="Acme" width="200"></a></td></tr>
<tr><td><h1>Hello [FirstName] [LastName],</h1>
<p>${'Our spring collection is here, with new colours and the fabrics you asked for. '.repeat(12)}</p>
<p>Your personal code is <b>[Code]</b>, valid in every store in [City].</p></td></tr>
<tr><td><a href="https://shop.example.com/spring?utm_campaign=spring&amp;c=[Code]">Shop the collection</a></td></tr>
<tr><td><a href="https://shop.example.com/men">Men</a> | <a href="https://shop.example.com/women">Women</a> |
<a href="https://shop.example.com/kids">Kids</a> | <a href="https://shop.example.com/stores?city=[City]">Stores</a></td></tr>
<tr><td><p>${'Free returns within 30 days. Prices include VAT. '.repeat(6)}</p>
<p><a href="mailto:help@acme.test">Write to us</a> — <a href="[unsubscribe]">unsubscribe</a></p></td></tr>
</table></body></html>`;
const SUBJECT = '[FirstName], the spring collection is here';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function startSink(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(path.join(import.meta.dirname, 'send.server.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once('exit', (code) => reject(new Error(`sink exited (${code})`)));
  });
}

function sinkCount(child: ChildProcess): Promise<{ accepted: number; bytes: number }> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as { accepted: number; bytes: number }));
    child.send('count');
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-bench-send-'));
const store = await openStore({ database: `sqlite:${path.join(dir, 'bench.db')}` });
const { child, port } = await startSink();
const smtp = { host: '127.0.0.1', port, secure: false, maxConnections: CONNECTIONS };
try {
  const db = store.db;
  await createAccount(db, { id: 'bench', name: 'bench' });
  await addList(db, { accountId: 'bench', listId: 1, name: 'L' });
  for (const [id, name] of [
    [1, 'FirstName'],
    [2, 'LastName'],
    [3, 'Code'],
    [4, 'City'],
  ] as const)
    await setField(db, 'bench', id, name);
  const t0 = performance.now();
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < N; i++)
      await upsertRecipient(trx, {
        accountId: 'bench',
        email: `r${i}@example.com`,
        listId: 1,
        fields: {
          1: `Name${i}`,
          2: `Surname${i}`,
          3: `C${(i * 7919) % 100000}`,
          4: i % 2 ? 'Milano' : 'Roma',
        },
      });
  });
  console.log(`seeded ${N} recipients in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const message = await createMessage(db, {
    accountId: 'bench',
    channel: 'email',
    listId: 1,
    subject: SUBJECT,
    html: HTML,
    senderEmail: 'news@acme.test',
    senderName: 'Acme News',
  });
  const links = createTrackingLinks('https://track.example.com', loadTrackingKey(dir));

  // The raw limit's message: one recipient's rendering, sent N times as is.
  const template: MessageTemplate = {
    subject: SUBJECT,
    html: HTML,
    text: null,
    senderEmail: 'news@acme.test',
    senderName: 'Acme News',
    replyTo: null,
    attachments: [],
  };
  const names = new Map<number, string>([
    [1, 'FirstName'],
    [2, 'LastName'],
    [3, 'Code'],
    [4, 'City'],
  ]);
  const one: RenderedMessage = renderMessage(
    template,
    {
      id: 1,
      email: 'r0@example.com',
      values: recipientValues(
        { email: 'r0@example.com', mobile: null, fields: { 1: 'Name0', 2: 'Surname0', 3: 'C0', 4: 'Roma' } },
        names,
      ),
    },
    1,
    links,
  );

  async function raw(): Promise<Figure> {
    const transport = createEmailTransport(smtp);
    let next = 0;
    const worker = async () => {
      while (next < N) {
        next++;
        await transport.sendMail(one);
      }
    };
    const f = await measure(async () => {
      await Promise.all(Array.from({ length: INFLIGHT }, worker));
    });
    transport.close();
    return f;
  }

  async function datasync(): Promise<Figure> {
    const sending = await createSending(db, {
      accountId: 'bench',
      channel: 'email',
      messageNumber: message.number,
      listId: 1,
    });
    const transport = createEmailTransport(smtp);
    let sent = 0;
    const f = await measure(async () => {
      sent = (
        await sendCampaign({
          store,
          sendingId: sending.id,
          transport,
          links,
          rate: { concurrency: INFLIGHT },
        })
      ).sent;
    });
    transport.close();
    if (sent !== N) throw new Error(`datasync sent ${sent} of ${N}`);
    return f;
  }

  console.log(
    `send bench: ${N} messages per run, ${RUNS} runs, ${CONNECTIONS} pooled connections, ${INFLIGHT} in flight, loopback sink, ` +
      `${os.cpus().length} cores, load ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  // Warm-up (JIT, first connections), not measured: the first side to run would otherwise pay for it.
  {
    const transport = createEmailTransport(smtp);
    await Promise.all(Array.from({ length: 1000 }, () => transport.sendMail(one)));
    transport.close();
  }
  const raws: Figure[] = [];
  const ours: Figure[] = [];
  const show = (f: Figure | undefined) =>
    f ? `${Math.round(f.rate)} msg/s (${Math.round(f.cpuUs)} µs CPU/msg)` : '-';
  for (let i = 0; i < RUNS; i++) {
    if (ONLY !== 'datasync') raws.push(await raw());
    if (ONLY !== 'raw') ours.push(await datasync());
    const [r, o] = [raws[i], ours[i]];
    console.log(
      `run ${i + 1}: raw ${show(r)}, datasync ${show(o)}` +
        (r && o ? `, ratio ${(o.rate / r.rate).toFixed(2)}` : ''),
    );
  }
  if (!ONLY) {
    const rate = (fs: Figure[]) => median(fs.map((f) => f.rate));
    const cpu = (fs: Figure[]) => median(fs.map((f) => f.cpuUs));
    const sink = await sinkCount(child);
    const events = await db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('kind', '=', 'sent')
      .executeTakeFirstOrThrow();
    console.log('\n| path | messages/s (median) | ratio to raw | CPU µs/msg (median) |');
    console.log('|---|---|---|---|');
    console.log(
      `| raw nodemailer, one pre-rendered message | ${Math.round(rate(raws))} | 1.00 | ${Math.round(cpu(raws))} |`,
    );
    console.log(
      `| datasync sendCampaign (render + tracking + events) | ${Math.round(rate(ours))} | ${(rate(ours) / rate(raws)).toFixed(2)} | ${Math.round(cpu(ours))} |`,
    );
    console.log(
      `\nsink accepted ${sink.accepted} messages (${(sink.bytes / sink.accepted / 1024).toFixed(1)} KiB each on average); sent events ${Number(events.n)}`,
    );
  }
} finally {
  child.kill('SIGTERM');
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
