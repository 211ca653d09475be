/** Shared set-up of the CSV2SMS job tests: a fresh store, an account space, a loopback SMSC and a provider. */
import fs from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import { HostedSpaces } from '../../src/spaces/index.js';
import { addList, createAccount } from '../../src/store/index.js';
import { attachDeliveryReports, SmppProvider, type Csv2SmsDeps } from '../../src/sms/index.js';
import { freshStore, type DialectName, type TestStore } from '../helpers/store.js';
import { TestSmsc, type SmscOptions } from './smsc-harness.js';

export const SAMPLE_HEADER = [
  '#name.surname@myprovider.com',
  '#2012-03-01 14:30',
  '#I',
  '#MailUp',
  '#5',
  '#Special offers',
  '#COD1234567',
];
export const SAMPLE_BODY = [
  'MOBILE NUMBER;TEXT;Field1;Field2;Field3;Field4;UNICODE',
  '393331234567;Hello [Field1], your code is [Field2];Peter;A12;;;0',
  '393339876543;Hello [Field1], your code is [Field2];Maria;B34;;;0',
  '#end of file',
];

export interface Fixture {
  store: TestStore;
  spaces: HostedSpaces;
  smsc: TestSmsc;
  provider: SmppProvider;
  clock: ManualClock;
  deps: Csv2SmsDeps;
  recorder: ReturnType<typeof attachDeliveryReports>['recorder'];
  /** Write `/sms/<name>` (UTF-8 with BOM, CRLF) and return its space path. */
  drop(name: string, header?: string[], body?: string[]): string;
  /** Absolute disk path of a space path. */
  disk(spacePath: string): string;
  close(): Promise<void>;
}

export async function openFixture(dialect: DialectName, smscOpts: SmscOptions = {}): Promise<Fixture> {
  const store = await freshStore(dialect);
  const clock = new ManualClock('2026-03-01T10:00:00.000Z');
  await createAccount(store.db, { id: 'acme', timeZone: 'Europe/Rome' });
  await addList(store.db, { accountId: 'acme', listId: 5, name: 'Offers', mobilePrefix: '39' });
  const spaces = new HostedSpaces(path.join(store.dir, 'spaces'));
  await spaces.ensureAccount('acme');
  const smsc = await new TestSmsc(smscOpts).start();
  const provider = new SmppProvider({
    host: '127.0.0.1',
    port: smsc.port,
    systemId: 'datasync',
    password: 'secret',
    reconnectBaseMs: 10,
    reconnectMaxMs: 50,
    throttleBaseMs: 5,
    throttleMaxMs: 20,
  });
  const { recorder, detach } = attachDeliveryReports(store, provider, clock);
  const deps: Csv2SmsDeps = {
    store,
    spaces,
    clock,
    logger: createLogger('silent'),
    provider,
    reports: recorder,
    options: { commitEvery: 2 },
  };
  return {
    store,
    spaces,
    smsc,
    provider,
    clock,
    deps,
    recorder,
    drop(name, header = SAMPLE_HEADER, body = SAMPLE_BODY) {
      const p = spaces.resolve('acme', `/sms/${name}`);
      fs.writeFileSync(
        p,
        Buffer.concat([
          Buffer.from([0xef, 0xbb, 0xbf]),
          Buffer.from([...header, ...body].join('\r\n') + '\r\n'),
        ]),
      );
      return `/sms/${name}`;
    },
    disk: (p) => spaces.resolve('acme', p),
    async close() {
      detach();
      await provider.stop();
      await smsc.stop();
      await store.cleanup();
    },
  };
}

/**
 * Resolves when `n` receipts were acknowledged by the client and everything the recorder holds is recorded
 * (flush waits for queued records and retries the ones that came before their `sent` event).
 */
export async function untilReports(f: Fixture, n: number): Promise<void> {
  await f.smsc.until(() => f.smsc.receiptsAcked >= n, `${n} receipts acknowledged`);
  await f.recorder.flush();
  await f.recorder.flush();
}
