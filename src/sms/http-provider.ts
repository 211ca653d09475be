/**
 * The `http` provider: one JSON POST per message to a configurable URL, for the many SMS gateways that speak
 * "JSON over HTTPS" instead of SMPP. The body names are configurable (`fields`), static properties can be added
 * (`extraBody`), and the message id is read from the answer at `messageIdPath`. Their delivery reports come
 * back to the webhook `/hooks/sms/http` (parsed by `parseJsonDeliveryReports` with the `dlr` mapping).
 *
 * Answers: 2xx = accepted; 429 and 503 = throttled (retried with backoff, honouring Retry-After seconds);
 * other 5xx and network errors = provider unavailable (the send stops, resumable); other 4xx = this message
 * refused (NACK).
 */
import { DatasyncError } from '../errors.js';
import {
  RateLimiter,
  ReportListeners,
  Semaphore,
  backoffMs,
  delay,
  type DeliveryReportListener,
  type SmsProvider,
  type SmsSubmit,
  type SmsSubmitResult,
} from './sms-provider.js';

export interface HttpProviderOptions {
  url: string;
  /** Extra request headers (e.g. `Authorization: Bearer …`). */
  headers: Record<string, string>;
  /** Body property names. Defaults: to, from, text, encoding, reference. */
  fields: { to: string; from: string; text: string; encoding: string; reference: string };
  /** Static properties merged into every body (account ids, routes). */
  extraBody: Record<string, unknown>;
  /** Dot path of the message id in the JSON answer. Default `id`. */
  messageIdPath: string;
  /** Requests in flight at once. Default 10. */
  concurrency: number;
  /** Requests per second; 0 = unlimited. Default 0. */
  ratePerSecond: number;
  /** Per-request timeout, ms. Default 10000. */
  timeoutMs: number;
  throttleBaseMs: number;
  throttleMaxMs: number;
  maxThrottleRetries: number;
}

export const DEFAULT_HTTP_OPTIONS: Omit<HttpProviderOptions, 'url'> = {
  headers: {},
  fields: { to: 'to', from: 'from', text: 'text', encoding: 'encoding', reference: 'reference' },
  extraBody: {},
  messageIdPath: 'id',
  concurrency: 10,
  ratePerSecond: 0,
  timeoutMs: 10_000,
  throttleBaseMs: 200,
  throttleMaxMs: 10_000,
  maxThrottleRetries: 10,
};

export class HttpProvider implements SmsProvider {
  readonly name = 'http';
  readonly concurrency: number;
  private readonly opts: HttpProviderOptions;
  private readonly reports = new ReportListeners();
  private readonly rate: RateLimiter;
  private readonly slots: Semaphore;

  constructor(options: Partial<HttpProviderOptions> & Pick<HttpProviderOptions, 'url'>) {
    this.opts = {
      ...DEFAULT_HTTP_OPTIONS,
      ...options,
      fields: { ...DEFAULT_HTTP_OPTIONS.fields, ...options.fields },
    };
    this.concurrency = Math.max(1, this.opts.concurrency);
    this.rate = new RateLimiter(this.opts.ratePerSecond);
    this.slots = new Semaphore(this.concurrency);
  }

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  onDeliveryReport(listener: DeliveryReportListener): () => void {
    return this.reports.add(listener);
  }

  /** Let the webhook route push reports to listeners in this process too (optional). */
  emitReport(...args: Parameters<ReportListeners['emit']>): void {
    this.reports.emit(...args);
  }

  async submit(msg: SmsSubmit): Promise<SmsSubmitResult> {
    const f = this.opts.fields;
    const body = JSON.stringify({
      ...this.opts.extraBody,
      [f.to]: msg.to,
      [f.from]: msg.from,
      [f.text]: msg.text,
      [f.encoding]: msg.encoding,
      [f.reference]: msg.reference,
    });
    for (let throttled = 0; ;) {
      await this.rate.acquire();
      await this.slots.acquire();
      let res: Response;
      let text: string;
      try {
        res = await fetch(this.opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...this.opts.headers },
          body,
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
        text = await res.text();
      } catch (e) {
        throw new DatasyncError('DS_SMS_PROVIDER_UNAVAILABLE', `HTTP SMS provider: ${(e as Error).message}`, {
          cause: e,
        });
      } finally {
        this.slots.release();
      }
      if (res.status === 429 || res.status === 503) {
        if (throttled >= this.opts.maxThrottleRetries)
          throw new DatasyncError(
            'DS_SMS_THROTTLED',
            `the HTTP SMS provider answered ${res.status} ${throttled + 1} times`,
          );
        const after = Number(res.headers.get('retry-after'));
        await delay(
          Number.isFinite(after) && after > 0
            ? Math.min(after * 1000, this.opts.throttleMaxMs)
            : backoffMs(throttled, this.opts.throttleBaseMs, this.opts.throttleMaxMs),
        );
        throttled++;
        continue;
      }
      if (res.status >= 500)
        throw new DatasyncError(
          'DS_SMS_PROVIDER_UNAVAILABLE',
          `the HTTP SMS provider answered ${res.status}`,
        );
      if (res.status >= 400)
        return {
          ok: false,
          code: 'DS_SMS_SUBMIT_REJECTED',
          status: `HTTP_${res.status}`,
          reason: `the HTTP SMS provider refused the message (${res.status}${text ? `: ${text.slice(0, 200)}` : ''})`,
        };
      let id: unknown;
      try {
        id = this.opts.messageIdPath
          .split('.')
          .reduce<unknown>(
            (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
            JSON.parse(text),
          );
      } catch {
        id = undefined;
      }
      if (typeof id !== 'string' && typeof id !== 'number')
        throw new DatasyncError(
          'DS_SMS_PROVIDER_UNAVAILABLE',
          `the HTTP SMS provider's answer has no message id at "${this.opts.messageIdPath}"`,
        );
      return { ok: true, providerMessageId: String(id), partIds: [String(id)] };
    }
  }
}
