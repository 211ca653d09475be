/**
 * The `log` provider, for development and demos: every message is appended as one JSON line to a file, and a
 * delivery report follows on the next turn of the event loop, so the whole flow (events, statistics export)
 * works without an SMSC. Numbers ending in `0000` get UNDELIV, so failures can be tried too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  RateLimiter,
  ReportListeners,
  type DeliveryReportListener,
  type SmsProvider,
  type SmsSubmit,
  type SmsSubmitResult,
} from './sms-provider.js';

export interface LogProviderOptions {
  /** File the messages are appended to (JSON lines). */
  file: string;
  /** Messages per second; 0 = unlimited. Default 0. */
  ratePerSecond?: number;
  /** Emit delivery reports. Default true. */
  reports?: boolean;
}

export class LogProvider implements SmsProvider {
  readonly name = 'log';
  readonly concurrency = 32;
  private readonly reports = new ReportListeners();
  private readonly rate: RateLimiter;
  private fd: number | null = null;
  private seq = 0;
  private readonly prefix = randomBytes(3).toString('hex');

  constructor(private readonly opts: LogProviderOptions) {
    this.rate = new RateLimiter(opts.ratePerSecond ?? 0);
  }

  async start(): Promise<void> {
    if (this.fd !== null) return;
    await fs.promises.mkdir(path.dirname(this.opts.file), { recursive: true });
    this.fd = fs.openSync(this.opts.file, 'a', 0o640);
  }

  async stop(): Promise<void> {
    if (this.fd === null) return;
    fs.closeSync(this.fd);
    this.fd = null;
  }

  onDeliveryReport(listener: DeliveryReportListener): () => void {
    return this.reports.add(listener);
  }

  async submit(msg: SmsSubmit): Promise<SmsSubmitResult> {
    if (this.fd === null) await this.start();
    await this.rate.acquire();
    const id = `log-${this.prefix}-${(++this.seq).toString(36)}`;
    const at = new Date();
    fs.writeSync(
      this.fd!,
      JSON.stringify({
        id,
        at: at.toISOString(),
        from: msg.from,
        to: msg.to,
        encoding: msg.encoding,
        parts: msg.segments.length,
        reference: msg.reference,
        text: msg.text,
      }) + '\n',
    );
    if (this.opts.reports !== false) {
      const status = msg.to.endsWith('0000') ? 'UNDELIV' : 'DELIVERED';
      setImmediate(() =>
        this.reports.emit({
          provider: this.name,
          providerMessageId: id,
          status,
          detail: status === 'DELIVERED' ? 'DELIVRD' : 'UNDELIV',
          doneAt: new Date(),
        }),
      );
    }
    return { ok: true, providerMessageId: id, partIds: [id] };
  }
}
