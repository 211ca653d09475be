/**
 * CSV2SMS benchmark: N messages (default 50,000) to a loopback SMSC (the `smpp` package's server side).
 *
 *   node --import tsx bench/sms.ts [--messages N] [--window W]
 *
 * Measured in one run, against the same SMSC, with the same window and receipts requested:
 * - raw: a plain loop of submit_sm on one bound session (the limit: no database, no bookkeeping);
 * - datasync send: `sendScheduledSms` of a prepared CSV2SMS job — SmppProvider, windowed submits, `sent` events
 *   committed in batches, delivery receipts recorded as events (SQLite);
 * - datasync intake: `runCsv2Sms` of the file up to the scheduled send (parse, import, campaign), for context.
 * Prints msgs/s and the ratio send / raw (target ≥ 0.6).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import smpp, { type PDU } from 'smpp';
import { ManualClock } from '../src/clock.js';
import { createLogger } from '../src/logger.js';
import { HostedSpaces } from '../src/spaces/index.js';
import { addList, createAccount, openStore } from '../src/store/index.js';
import { attachDeliveryReports, runCsv2Sms, sendScheduledSms, SmppProvider } from '../src/sms/index.js';
import { TestSmsc } from '../test/sms/smsc-harness.js';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg('messages', 50_000);
const WINDOW = arg('window', 50);

async function rawLoop(port: number, n: number): Promise<number> {
  const session = smpp.connect({ host: '127.0.0.1', port });
  session.socket.setNoDelay(true);
  session.on('error', () => {});
  await new Promise<void>((resolve, reject) =>
    session.on('connect', () =>
      session.bind_transceiver({ system_id: 'datasync', password: 'secret' }, (p: PDU) =>
        p.command_status === 0 ? resolve() : reject(new Error('bind')),
      ),
    ),
  );
  session.on('deliver_sm', (p: PDU) => session.send(p.response()));
  const body = Buffer.from('Hello Peter, your code is A12');
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let sent = 0;
    let done = 0;
    const next = () => {
      while (sent < n && sent - done < WINDOW) {
        const i = sent++;
        session.submit_sm(
          {
            source_addr: 'MailUp',
            source_addr_ton: 5,
            destination_addr: String(393300000000 + i),
            dest_addr_ton: 1,
            dest_addr_npi: 1,
            registered_delivery: 1,
            data_coding: 0,
            short_message: body,
          },
          () => {
            done++;
            if (done === n) resolve();
            else next();
          },
        );
      }
    };
    next();
  });
  const secs = (performance.now() - t0) / 1000;
  await new Promise<void>((r) => session.close(() => r()));
  return n / secs;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-bench-sms-'));
  const smsc = await new TestSmsc().start();
  const store = await openStore({ database: `sqlite:${path.join(dir, 'bench.db')}` });
  try {
    const raw = await rawLoop(smsc.port, N);
    smsc.submits.length = 0;

    const clock = new ManualClock('2026-03-01T10:00:00.000Z');
    await createAccount(store.db, { id: 'bench', timeZone: 'Europe/Rome' });
    await addList(store.db, { accountId: 'bench', listId: 5, name: 'Bench', mobilePrefix: '39' });
    const spaces = new HostedSpaces(path.join(dir, 'spaces'));
    await spaces.ensureAccount('bench');
    const lines = [
      '#bench@example.com',
      '#2026-03-01 12:00',
      '#I',
      '#MailUp',
      '#5',
      '#Bench',
      '#B1',
      'MOBILE NUMBER;TEXT;Field1;Field2;UNICODE',
    ];
    for (let i = 0; i < N; i++)
      lines.push(`${393300000000 + i};Hello [Field1], your code is [Field2];Peter;A12;0`);
    fs.writeFileSync(spaces.resolve('bench', '/sms/bench.csv'), '\ufeff' + lines.join('\r\n') + '\r\n');

    const provider = new SmppProvider({
      host: '127.0.0.1',
      port: smsc.port,
      systemId: 'datasync',
      password: 'secret',
      windowSize: WINDOW,
    });
    const { recorder, detach } = attachDeliveryReports(store, provider, clock);
    const deps = { store, spaces, clock, logger: createLogger('warn'), provider, reports: recorder };

    let t0 = performance.now();
    const intake = await runCsv2Sms({ ...deps, file: '/sms/bench.csv', accountId: 'bench' });
    const intakeSecs = (performance.now() - t0) / 1000;
    if (intake.send !== 'scheduled') throw new Error(`intake: ${JSON.stringify(intake.error)}`);

    clock.set('2026-03-01T11:00:00.000Z');
    await provider.start();
    t0 = performance.now();
    const sent = await sendScheduledSms({ ...deps, jobId: intake.jobId });
    const sendSecs = (performance.now() - t0) / 1000;
    await smsc.until(() => smsc.receiptsAcked >= 2 * N, 'receipts', 120_000);
    await recorder.flush();
    await recorder.flush();
    const receipts = await store.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('kind', '=', 'sms_status')
      .executeTakeFirst();
    detach();
    await provider.stop();

    const send = sent.counters.sent / sendSecs;
    const out = [
      `messages ${N}, window ${WINDOW}, SQLite, loopback SMSC, receipts requested`,
      `raw submit_sm loop (one bound session): ${Math.round(raw)} msgs/s`,
      `datasync send (sendScheduledSms):       ${Math.round(send)} msgs/s  (${sendSecs.toFixed(2)} s, sent ${sent.counters.sent})`,
      `ratio send / raw:                       ${(send / raw).toFixed(2)}`,
      `datasync intake (parse+import+campaign): ${Math.round(N / intakeSecs)} rows/s (${intakeSecs.toFixed(2)} s)`,
      `delivery receipts recorded as events:   ${Number(receipts?.n ?? 0)}`,
    ];
    console.log(out.join('\n'));
  } finally {
    await store.close();
    await smsc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
