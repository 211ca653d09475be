/**
 * A real SMSC on loopback for tests and the benchmark, built on the `smpp` package's server side: accepts
 * binds (checks the password), answers submit_sm with message ids, sends deliver_sm receipts, and can be told
 * to throttle the next N submits or to drop the connection after N submits. Tests wait on its events.
 */
import { EventEmitter, once } from 'node:events';
import type { AddressInfo } from 'node:net';
import smpp, { type PDU, type Session } from 'smpp';

export interface SubmitRecord {
  id: string;
  destination: string;
  source: string;
  dataCoding: number;
  esmClass: number;
  registeredDelivery: number;
  /** short_message bytes as sent (UDH included). */
  bytes: Buffer;
}

export interface SmscOptions {
  systemId?: string;
  password?: string;
  /** Send a receipt for each submit that asked for one. Default true. */
  receipts?: boolean;
  /** Receipt `stat:` per destination; default DELIVRD. */
  statFor?: (destination: string) => string;
  /** submit_sm_resp error status per destination (0 = accept). */
  refuse?: (destination: string) => number;
}

export class TestSmsc extends EventEmitter {
  readonly server = smpp.createServer({}, (s: Session) => this.onSession(s));
  readonly submits: SubmitRecord[] = [];
  readonly sessions: Session[] = [];
  binds = 0;
  enquireLinks = 0;
  /** deliver_sm receipts the client acknowledged. */
  receiptsAcked = 0;
  /** Answer ESME_RTHROTTLED to the next N submits. */
  throttleNext = 0;
  /** Drop the connection (no response) when the submit count reaches this. */
  dropAtSubmit = 0;
  private seq = 0;
  port = 0;

  constructor(private readonly opts: SmscOptions = {}) {
    super();
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Resolves when `pred()` holds, re-checked at every SMSC event (no sleeps). */
  async until(pred: () => boolean, what = 'condition', timeoutMs = 20_000): Promise<void> {
    if (pred()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('tick', check);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        this.off('tick', check);
        resolve();
      };
      this.on('tick', check);
    });
  }

  private onSession(session: Session): void {
    this.sessions.push(session);
    session.socket.setNoDelay(true);
    session.on('error', () => {});
    session.on('close', () => {
      this.sessions.splice(this.sessions.indexOf(session), 1);
      this.emit('tick');
    });
    session.on('bind_transceiver', (pdu: PDU) => {
      const ok =
        pdu.system_id === (this.opts.systemId ?? 'datasync') &&
        pdu.password === (this.opts.password ?? 'secret');
      session.send(pdu.response(ok ? {} : { command_status: smpp.ESME_RBINDFAIL }));
      if (ok) this.binds++;
      this.emit('tick');
    });
    session.on('enquire_link', (pdu: PDU) => {
      this.enquireLinks++;
      session.send(pdu.response());
      this.emit('tick');
    });
    session.on('unbind', (pdu: PDU) => {
      session.send(pdu.response());
      session.close();
    });
    session.on('deliver_sm_resp', () => {
      this.receiptsAcked++;
      this.emit('tick');
    });
    session.on('submit_sm', (pdu: PDU) => this.onSubmit(session, pdu));
  }

  private onSubmit(session: Session, pdu: PDU): void {
    if (this.dropAtSubmit > 0 && this.submits.length + 1 >= this.dropAtSubmit) {
      this.dropAtSubmit = 0;
      session.destroy();
      this.emit('tick');
      return;
    }
    if (this.throttleNext > 0) {
      this.throttleNext--;
      session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
      this.emit('throttled');
      this.emit('tick');
      return;
    }
    const destination = String(pdu.destination_addr);
    const refuse = this.opts.refuse?.(destination) ?? 0;
    if (refuse) {
      session.send(pdu.response({ command_status: refuse }));
      this.emit('tick');
      return;
    }
    const id = `M${(++this.seq).toString(16).padStart(8, '0')}`;
    const sm = pdu.short_message as { message: string | Buffer; udh?: Buffer[] } | Buffer;
    // The server decodes short_message; re-encode what we need to inspect (UDH length + body).
    const udh = !Buffer.isBuffer(sm) && sm.udh ? Buffer.concat(sm.udh) : Buffer.alloc(0);
    const body = Buffer.isBuffer(sm)
      ? sm
      : Buffer.isBuffer(sm.message)
        ? sm.message
        : Buffer.from(sm.message, 'utf8');
    this.submits.push({
      id,
      destination,
      source: String(pdu.source_addr),
      dataCoding: pdu.data_coding ?? 0,
      esmClass: pdu.esm_class ?? 0,
      registeredDelivery: pdu.registered_delivery ?? 0,
      bytes: Buffer.concat([udh.length ? Buffer.from([udh.length]) : Buffer.alloc(0), udh, body]),
    });
    session.send(pdu.response({ message_id: id }));
    if ((this.opts.receipts ?? true) && (pdu.registered_delivery ?? 0) & 1) {
      const stat = this.opts.statFor?.(destination) ?? 'DELIVRD';
      const text = `id:${id} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} submit date:2601010000 done date:2601010001 stat:${stat} err:000 text:`;
      session.deliver_sm({
        source_addr: destination,
        destination_addr: String(pdu.source_addr),
        esm_class: 0x04,
        short_message: text,
        receipted_message_id: id,
      });
    }
    this.emit('tick');
  }
}
