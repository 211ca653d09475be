import { afterEach, describe, expect, it } from 'vitest';
import { SmppProvider, segmentText, type DeliveryReport, type SmsSubmit } from '../../src/sms/index.js';
import { TestSmsc } from './smsc-harness.js';

const msg = (to: string, text: string, forceUcs2 = false): SmsSubmit => {
  const s = segmentText(text, forceUcs2);
  return {
    to,
    from: 'MailUp',
    senderKind: 'alphanumeric',
    text,
    encoding: s.encoding,
    segments: s.segments,
    reference: 't',
  };
};

let smsc: TestSmsc;
let provider: SmppProvider | null = null;
afterEach(async () => {
  await provider?.stop();
  provider = null;
  await smsc?.stop();
});

const fast = {
  host: '127.0.0.1',
  systemId: 'datasync',
  password: 'secret',
  reconnectBaseMs: 10,
  reconnectMaxMs: 50,
  throttleBaseMs: 5,
  throttleMaxMs: 20,
};

describe('SMPP provider against a loopback SMSC', () => {
  it('binds as transceiver, submits with receipts requested, and turns deliver_sm receipts into reports', async () => {
    smsc = await new TestSmsc({ statFor: (d) => (d.endsWith('9') ? 'UNDELIV' : 'DELIVRD') }).start();
    provider = new SmppProvider({ ...fast, port: smsc.port });
    const reports: DeliveryReport[] = [];
    provider.onDeliveryReport((r) => reports.push(r));
    await provider.start();
    expect(smsc.binds).toBe(1);
    const a = await provider.submit(msg('393331234567', 'Hello €uro'));
    const b = await provider.submit(msg('393331234569', 'Ciao'));
    expect(a).toMatchObject({ ok: true, providerMessageId: smsc.submits[0]!.id });
    expect(b).toMatchObject({ ok: true, providerMessageId: smsc.submits[1]!.id });
    expect(smsc.submits[0]).toMatchObject({
      destination: '393331234567',
      source: 'MailUp',
      registeredDelivery: 1,
    });
    await smsc.until(() => reports.length === 2, 'two receipts');
    await new Promise((r) => setImmediate(r));
    expect(reports.map((r) => [r.providerMessageId, r.status, r.detail])).toEqual([
      [smsc.submits[0]!.id, 'DELIVERED', 'DELIVRD'],
      [smsc.submits[1]!.id, 'UNDELIV', 'UNDELIV'],
    ]);
    expect(reports[0]!.doneAt?.toISOString()).toBe('2026-01-01T00:01:00.000Z');
  });

  it('sends long messages as UDH-concatenated parts with the right data coding', async () => {
    smsc = await new TestSmsc().start();
    provider = new SmppProvider({ ...fast, port: smsc.port });
    await provider.start();
    const r = await provider.submit(msg('393331234567', 'a'.repeat(200)));
    expect(r.ok && r.partIds.length).toBe(2);
    const [p1, p2] = smsc.submits;
    expect(p1!.esmClass & 0x40).toBe(0x40);
    expect(p1!.registeredDelivery).toBe(0);
    expect(p2!.registeredDelivery).toBe(1);
    expect(r.ok && r.providerMessageId).toBe(p2!.id);
    const u = await provider.submit(msg('393331234567', 'Привет', true));
    expect(u.ok).toBe(true);
    expect(smsc.submits[2]!.dataCoding).toBe(8);
    expect(smsc.submits[0]!.dataCoding).toBe(0);
  });

  it('fails start with DS_SMS_PROVIDER_UNAVAILABLE when the bind is refused', async () => {
    smsc = await new TestSmsc().start();
    provider = new SmppProvider({ ...fast, port: smsc.port, password: 'wrong' });
    await expect(provider.start()).rejects.toMatchObject({
      code: 'DS_SMS_PROVIDER_UNAVAILABLE',
      message: /bind refused/,
    });
    expect(provider.connections).toBe(1); // no reconnect loop after a refused bind
  });

  it('retries throttled submits with backoff, then gives up with DS_SMS_THROTTLED', async () => {
    smsc = await new TestSmsc().start();
    provider = new SmppProvider({ ...fast, port: smsc.port, maxThrottleRetries: 3 });
    await provider.start();
    smsc.throttleNext = 2;
    const throttled: number[] = [];
    smsc.on('throttled', () => throttled.push(1));
    expect(await provider.submit(msg('393331234567', 'x'))).toMatchObject({ ok: true });
    expect(throttled.length).toBe(2);
    smsc.throttleNext = 10;
    await expect(provider.submit(msg('393331234567', 'y'))).rejects.toMatchObject({
      code: 'DS_SMS_THROTTLED',
    });
  });

  it('reports a refused message as not ok with the SMPP status, without stopping', async () => {
    smsc = await new TestSmsc({ refuse: (d) => (d === '393330000000' ? 0x0b : 0) }).start();
    provider = new SmppProvider({ ...fast, port: smsc.port });
    await provider.start();
    expect(await provider.submit(msg('393330000000', 'x'))).toMatchObject({
      ok: false,
      code: 'DS_SMS_SUBMIT_REJECTED',
      status: 'ESME_RINVDSTADR',
    });
    expect(await provider.submit(msg('393331234567', 'x'))).toMatchObject({ ok: true });
  });

  it('reconnects when the SMSC drops the connection and resends what had no response', async () => {
    smsc = await new TestSmsc().start();
    provider = new SmppProvider({ ...fast, port: smsc.port, windowSize: 4 });
    await provider.start();
    smsc.dropAtSubmit = 3;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => provider!.submit(msg(`39333123456${i}`, `m${i}`))),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(provider.connections).toBeGreaterThanOrEqual(2);
    expect(smsc.binds).toBeGreaterThanOrEqual(2);
    expect(new Set(smsc.submits.map((s) => s.destination)).size).toBe(8);
  });

  it('keeps the link alive with enquire_link', async () => {
    smsc = await new TestSmsc().start();
    provider = new SmppProvider({ ...fast, port: smsc.port, enquireLinkSeconds: 0.05 });
    await provider.start();
    await smsc.until(() => smsc.enquireLinks >= 2, 'two enquire_link');
    expect(smsc.enquireLinks).toBeGreaterThanOrEqual(2);
  });

  it('keeps at most windowSize submits in flight', async () => {
    smsc = await new TestSmsc({ receipts: false }).start();
    provider = new SmppProvider({ ...fast, port: smsc.port, windowSize: 3 });
    await provider.start();
    let max = 0;
    const inner = provider as unknown as { window: { inUse: number } };
    const all = Array.from({ length: 20 }, (_, i) =>
      provider!.submit(msg(`3933312345${String(i).padStart(2, '0')}`, 'w')).then((r) => {
        max = Math.max(max, inner.window.inUse);
        return r;
      }),
    );
    expect((await Promise.all(all)).every((r) => r.ok)).toBe(true);
    expect(max).toBeLessThanOrEqual(3);
  });
});
