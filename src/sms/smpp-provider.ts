/**
 * SMPP 3.4 provider over the `smpp` package: one transceiver session to the SMSC.
 *
 * - bind_transceiver at start; a refused bind fails `start()` with DS_SMS_PROVIDER_UNAVAILABLE (no retry: a
 *   wrong password does not get better);
 * - submit_sm with `registered_delivery` so the SMSC sends receipts as deliver_sm, which we acknowledge at once
 *   and turn into `DeliveryReport`s (receipted_message_id TLV, else the `id:` of the receipt text);
 * - a window of `windowSize` submit_sm awaiting their response, and a token-bucket rate limit in front of it;
 * - ESME_RTHROTTLED / ESME_RMSGQFUL → the same PDU is retried after an exponential backoff, up to
 *   `maxThrottleRetries` times, then the send stops with DS_SMS_THROTTLED (resumable);
 * - enquire_link every `enquireLinkSeconds`; no answer within `responseTimeoutMs` counts as a dead link;
 * - a lost connection (dropped, unbind, dead link) reconnects and rebinds with backoff; submits whose response
 *   never came are sent again on the new session (at-least-once: the SMSC may have accepted them).
 * Long messages go as UDH-concatenated parts; only the last part requests a receipt, and its message id is the
 * one recorded for the message (docs/sms.md).
 */
import smpp, { type PDU, type Session } from 'smpp';
import type { Logger } from 'pino';
import { DatasyncError } from '../errors.js';
import { mapStatusWord, messageStateToStatus, parseSmppReceiptText } from './delivery-report.js';
import { concatUdh, dataCoding, encodeSegment } from './sms-encoding.js';
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

export interface SmppProviderOptions {
  host: string;
  /** Default 2775. */
  port: number;
  systemId: string;
  password: string;
  /** Default empty. */
  systemType: string;
  /** submit_sm awaiting a response at once. Default 10. */
  windowSize: number;
  /** submit_sm PDUs per second (each part counts). 0 = unlimited. Default 0. */
  ratePerSecond: number;
  /** Seconds between enquire_link keep-alives. Default 30. */
  enquireLinkSeconds: number;
  /** A response slower than this (ms) marks the link dead. Default 10000. */
  responseTimeoutMs: number;
  /** First reconnect delay (ms), doubled up to `reconnectMaxMs`. Defaults 500 / 30000. */
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** How long a submit waits for a bound session before the send stops (ms). Default 60000. */
  unavailableAfterMs: number;
  /** First throttling backoff (ms), doubled up to `throttleMaxMs`. Defaults 200 / 10000. */
  throttleBaseMs: number;
  throttleMaxMs: number;
  /** Throttled answers tolerated for one PDU before the send stops. Default 10. */
  maxThrottleRetries: number;
}

export const DEFAULT_SMPP_OPTIONS: Omit<SmppProviderOptions, 'host' | 'systemId' | 'password'> = {
  port: 2775,
  systemType: '',
  windowSize: 10,
  ratePerSecond: 0,
  enquireLinkSeconds: 30,
  responseTimeoutMs: 10_000,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
  unavailableAfterMs: 60_000,
  throttleBaseMs: 200,
  throttleMaxMs: 10_000,
  maxThrottleRetries: 10,
};

/** Raised inside the provider when the session went away before a response: the PDU is sent again. */
class LinkLost extends Error {}

const errorName = (status: number): string =>
  Object.entries(smpp.errors).find(([, v]) => v === status)?.[0] ??
  `0x${status.toString(16).padStart(8, '0')}`;

type Pending = { resolve: (p: PDU) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class SmppProvider implements SmsProvider {
  readonly name = 'smpp';
  readonly concurrency: number;
  private readonly opts: SmppProviderOptions;
  private readonly reports = new ReportListeners();
  private readonly window: Semaphore;
  private readonly rate: RateLimiter;
  private session: Session | null = null;
  private bound = false;
  private stopping = false;
  private started: Promise<void> | null = null;
  private boundWaiters: (() => void)[] = [];
  private pending = new Map<number, Pending>();
  private keepAlive: NodeJS.Timeout | null = null;
  private reconnecting = false;
  private udhRef = 0;
  /** Connections made (1 + reconnects): tests and metrics read it. */
  connections = 0;

  constructor(
    options: Partial<SmppProviderOptions> & Pick<SmppProviderOptions, 'host' | 'systemId' | 'password'>,
    private readonly logger?: Logger,
  ) {
    this.opts = { ...DEFAULT_SMPP_OPTIONS, ...options };
    this.concurrency = Math.max(1, this.opts.windowSize);
    this.window = new Semaphore(this.concurrency);
    this.rate = new RateLimiter(this.opts.ratePerSecond);
  }

  start(): Promise<void> {
    this.stopping = false;
    this.started ??= this.connect().catch((e: unknown) => {
      this.started = null;
      throw e;
    });
    return this.started;
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.started = null;
    const s = this.session;
    this.clearKeepAlive();
    if (s && this.bound) {
      // A polite unbind lets the SMSC flush; a silent SMSC must not hold the shutdown.
      await Promise.race([
        new Promise<void>((r) => s.unbind({}, () => r())),
        delay(this.opts.responseTimeoutMs),
      ]);
    }
    this.bound = false;
    this.failPending(new DatasyncError('DS_SMS_PROVIDER_UNAVAILABLE', 'the SMPP provider was stopped'));
    if (s) await new Promise<void>((r) => s.destroy(() => r()));
    this.session = null;
    for (const w of this.boundWaiters.splice(0)) w();
  }

  onDeliveryReport(listener: DeliveryReportListener): () => void {
    return this.reports.add(listener);
  }

  /** Open one session and bind; resolves when bound, rejects on refusal or a connect error. */
  private connect(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const session = smpp.connect({ host: this.opts.host, port: this.opts.port });
      // Many small PDUs in flight: Nagle + delayed ACK would cap a window at one flush per ~40 ms.
      session.socket.setNoDelay(true);
      this.session = session;
      this.connections++;
      const fail = (e: Error) => {
        if (settled) return;
        settled = true;
        // Forget the session first so its 'close' does not count as losing an established link.
        if (this.session === session) this.session = null;
        session.destroy();
        reject(
          new DatasyncError(
            'DS_SMS_PROVIDER_UNAVAILABLE',
            `SMPP ${this.opts.host}:${this.opts.port}: ${e.message}`,
            {
              cause: e,
            },
          ),
        );
      };
      session.on('error', (e: Error) => {
        if (!settled) fail(e);
        else this.logger?.warn({ err: e.message }, 'smpp session error');
      });
      session.on('close', () => {
        if (!settled) fail(new Error('connection closed before bind'));
        else if (this.session === session) this.linkLost('connection closed');
      });
      session.on('connect', () => {
        session.bind_transceiver(
          { system_id: this.opts.systemId, password: this.opts.password, system_type: this.opts.systemType },
          (pdu: PDU) => {
            if (pdu.command_status !== 0) {
              fail(new Error(`bind refused (${errorName(pdu.command_status)})`));
              return;
            }
            settled = true;
            this.bound = true;
            this.startKeepAlive(session);
            for (const w of this.boundWaiters.splice(0)) w();
            resolve();
          },
        );
      });
      session.on('deliver_sm', (pdu: PDU) => this.onDeliverSm(session, pdu));
      session.on('enquire_link', (pdu: PDU) => session.send(pdu.response()));
      session.on('unbind', (pdu: PDU) => {
        session.send(pdu.response());
        this.linkLost('the SMSC unbound');
      });
    });
  }

  private startKeepAlive(session: Session): void {
    this.clearKeepAlive();
    this.keepAlive = setInterval(() => {
      this.request(session, new smpp.PDU('enquire_link', {})).catch(() => {
        /* request() already declared the link lost */
      });
    }, this.opts.enquireLinkSeconds * 1000);
    this.keepAlive.unref();
  }

  private clearKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = null;
  }

  private failPending(e: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  /** The session is gone: fail what waits on it (it is resent) and reconnect in the background. */
  private linkLost(why: string): void {
    if (this.stopping) return;
    const s = this.session;
    this.session = null;
    this.bound = false;
    this.clearKeepAlive();
    this.failPending(new LinkLost(why));
    s?.destroy();
    if (this.reconnecting) return;
    this.reconnecting = true;
    this.logger?.warn({ why }, 'smpp link lost; reconnecting');
    void (async () => {
      // Loop until bound, re-checking after each success: the new link may drop again before we get here.
      for (let attempt = 0; !this.stopping && !(this.bound && this.session); attempt++) {
        await delay(backoffMs(attempt, this.opts.reconnectBaseMs, this.opts.reconnectMaxMs));
        if (this.stopping) break;
        try {
          await this.connect();
        } catch (e) {
          this.logger?.warn({ err: (e as Error).message, attempt }, 'smpp reconnect failed');
        }
      }
      this.reconnecting = false;
    })();
  }

  private waitBound(): Promise<void> {
    if (this.bound && this.session) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.boundWaiters = this.boundWaiters.filter((w) => w !== done);
        reject(
          new DatasyncError(
            'DS_SMS_PROVIDER_UNAVAILABLE',
            `SMPP ${this.opts.host}:${this.opts.port} is not bound after ${this.opts.unavailableAfterMs} ms`,
          ),
        );
      }, this.opts.unavailableAfterMs);
      const done = () => {
        clearTimeout(timer);
        if (this.stopping)
          reject(new DatasyncError('DS_SMS_PROVIDER_UNAVAILABLE', 'the SMPP provider was stopped'));
        else resolve();
      };
      this.boundWaiters.push(done);
    });
  }

  /** Send a request PDU and wait for its response; a missing response marks the link dead. */
  private request(session: Session, pdu: PDU): Promise<PDU> {
    return new Promise<PDU>((resolve, reject) => {
      const ok = session.send(pdu, (resp: PDU) => {
        const p = this.pending.get(pdu.sequence_number);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(pdu.sequence_number);
        resolve(resp);
      });
      if (!ok) {
        reject(new LinkLost('socket not writable'));
        if (this.session === session) this.linkLost('socket not writable');
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(pdu.sequence_number);
        reject(new LinkLost(`no ${pdu.command}_resp within ${this.opts.responseTimeoutMs} ms`));
        if (this.session === session) this.linkLost('response timeout');
      }, this.opts.responseTimeoutMs);
      this.pending.set(pdu.sequence_number, { resolve, reject, timer });
    });
  }

  async submit(msg: SmsSubmit): Promise<SmsSubmitResult> {
    const total = msg.segments.length;
    const ref = total > 1 ? this.udhRef++ & 0xff : 0;
    const ids: string[] = [];
    for (let i = 0; i < total; i++) {
      const body = encodeSegment(msg.segments[i]!, msg.encoding);
      const last = i === total - 1;
      const params: Record<string, unknown> = {
        source_addr_ton: msg.senderKind === 'alphanumeric' ? 5 : msg.from.length >= 7 ? 1 : 3,
        source_addr_npi: msg.senderKind === 'alphanumeric' ? 0 : msg.from.length >= 7 ? 1 : 0,
        source_addr: msg.from,
        dest_addr_ton: 1,
        dest_addr_npi: 1,
        destination_addr: msg.to,
        esm_class: total > 1 ? 0x40 : 0,
        data_coding: dataCoding(msg.encoding),
        registered_delivery: last ? 1 : 0,
        short_message: total > 1 ? Buffer.concat([concatUdh(ref, total, i + 1), body]) : body,
      };
      const r = await this.submitPart(params);
      if (!r.ok) return r;
      ids.push(r.id);
    }
    return { ok: true, providerMessageId: ids[ids.length - 1]!, partIds: ids };
  }

  private async submitPart(
    params: Record<string, unknown>,
  ): Promise<{ ok: true; id: string } | Extract<SmsSubmitResult, { ok: false }>> {
    let throttled = 0;
    for (;;) {
      await this.waitBound();
      await this.rate.acquire();
      await this.window.acquire();
      let resp: PDU;
      try {
        const session = this.session;
        if (!session || !this.bound) throw new LinkLost('not bound');
        resp = await this.request(session, new smpp.PDU('submit_sm', params));
      } catch (e) {
        if (e instanceof LinkLost) continue; // resend on the next session
        throw e;
      } finally {
        this.window.release();
      }
      const st = resp.command_status;
      if (st === 0) return { ok: true, id: String(resp.message_id ?? '') };
      if (st === smpp.ESME_RTHROTTLED || st === smpp.ESME_RMSGQFUL) {
        if (throttled >= this.opts.maxThrottleRetries)
          throw new DatasyncError(
            'DS_SMS_THROTTLED',
            `the SMSC answered ${errorName(st)} ${throttled + 1} times in a row; the send stops and can be resumed`,
          );
        await delay(backoffMs(throttled++, this.opts.throttleBaseMs, this.opts.throttleMaxMs));
        continue;
      }
      return {
        ok: false,
        code: 'DS_SMS_SUBMIT_REJECTED',
        status: errorName(st),
        reason: `the SMSC refused the message (${errorName(st)})`,
      };
    }
  }

  private onDeliverSm(session: Session, pdu: PDU): void {
    session.send(pdu.response());
    const sm = pdu.short_message;
    const text =
      sm && typeof sm === 'object' && !Buffer.isBuffer(sm)
        ? Buffer.isBuffer(sm.message)
          ? sm.message.toString('latin1')
          : sm.message
        : Buffer.isBuffer(sm)
          ? sm.toString('latin1')
          : (sm ?? '');
    const parsed = parseSmppReceiptText(text);
    const id = pdu.receipted_message_id || parsed?.id;
    // esm_class bit 2 marks an SMSC delivery receipt; anything else is a mobile-originated message we ignore.
    if (!id || (((pdu.esm_class ?? 0) & 0x04) === 0 && !pdu.receipted_message_id)) return;
    const status = parsed
      ? mapStatusWord(parsed.stat)
      : pdu.message_state !== undefined
        ? messageStateToStatus(pdu.message_state)
        : 'UNKNOWN';
    this.reports.emit({
      provider: this.name,
      providerMessageId: String(id),
      status,
      detail: parsed
        ? parsed.err && parsed.err !== '000'
          ? `${parsed.stat}:err${parsed.err}`
          : parsed.stat
        : null,
      doneAt: parsed?.doneAt ?? null,
    });
  }
}
