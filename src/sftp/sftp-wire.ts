/**
 * The few places where we reach below ssh2's public SFTP server API. Kept in one file so an ssh2 upgrade has
 * one place to check (written against ssh2 1.17 `lib/protocol/SFTP.js`).
 *
 * Why: ssh2 answers INIT with a fixed VERSION packet advertising no extensions, and has no server method to
 * send EXTENDED_REPLY. Without `limits@openssh.com` OpenSSH's client stays at 32 KiB per READ/WRITE (8× the
 * per-packet work of 255 KiB); without `posix-rename@openssh.com` its `rename` cannot replace; without
 * `statvfs@openssh.com` its `df` fails. We therefore:
 * - take over the INIT packet (the only packet a client sends before VERSION) and send our own VERSION;
 * - write EXTENDED_REPLY and DATA packets straight to the channel when the SSH window has room, exactly as
 *   ssh2's `tryWritePayload` would, and otherwise fall back to ssh2's own buffered methods (so ordering holds).
 * - add read-side back-pressure: ssh2's SFTP `push` never reports "full", so a client faster than the disk
 *   would make us buffer without bound; returning false makes ssh2 hold the window until we release it.
 */
import { createRequire } from 'node:module';
import type { SFTPWrapper } from 'ssh2';

const require = createRequire(import.meta.url);
// windowAdjust works on any object with incoming/outgoing/_client, which SFTP instances have.
const { windowAdjust } = require('ssh2/lib/Channel.js') as { windowAdjust: (ch: unknown) => void };

/** The structural subset of ssh2's SFTP internals used here. */
interface SftpInternals {
  _version: number;
  _extensions: Record<string, string>;
  _buffer: unknown[];
  _waitChanDrain?: boolean;
  outgoing: { id: number; state: string; window: number; packetSize: number };
  incoming: { window: number };
  _protocol: { channelData(id: number, data: Buffer): void };
  push(data: Buffer | null): boolean | undefined;
  emit(event: string, ...args: unknown[]): boolean;
}

const SSH_FXP_INIT = 1;
const SSH_FXP_VERSION = 2;
const SSH_FXP_DATA = 103;
const SSH_FXP_EXTENDED_REPLY = 201;

function internals(sftp: SFTPWrapper): SftpInternals {
  return sftp as unknown as SftpInternals;
}

function sshString(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const len = Buffer.allocUnsafe(4);
  len.writeUInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
}

/**
 * Sends a complete SFTP packet now if the window allows and nothing is queued before it; returns false
 * (sending nothing) otherwise. Never lets the window reach 0, so ssh2's own drain logic stays in charge.
 */
function trySendRaw(sftp: SFTPWrapper, packet: Buffer): boolean {
  const s = internals(sftp);
  const out = s.outgoing;
  if (out.state !== 'open' || s._buffer.length > 0 || out.window <= packet.length) return false;
  out.window -= packet.length;
  const max = out.packetSize;
  if (packet.length <= max) s._protocol.channelData(out.id, packet);
  else
    for (let p = 0; p < packet.length; p += max) s._protocol.channelData(out.id, packet.subarray(p, p + max));
  return true;
}

/**
 * Replaces ssh2's INIT handling for one SFTP session so that VERSION advertises `extensions`
 * (name → version string, e.g. `{ 'posix-rename@openssh.com': '1' }`). Call right after `accept()`.
 */
export function advertiseExtensions(sftp: SFTPWrapper, extensions: Record<string, string>): void {
  const s = internals(sftp);
  const origPush = s.push.bind(s);
  let pending: Buffer = Buffer.alloc(0);
  s.push = (data: Buffer | null) => {
    if (data === null || s._version !== -1) {
      s.push = origPush;
      return origPush(data);
    }
    pending = pending.length ? Buffer.concat([pending, data]) : data;
    if (pending.length < 9) return undefined;
    const len = pending.readUInt32BE(0);
    if (pending.length < 4 + len) return undefined;
    s.push = origPush;
    if (pending[4] !== SSH_FXP_INIT || len < 5) return origPush(pending); // let ssh2 report the protocol error
    const version = pending.readUInt32BE(5);
    const body = Buffer.concat([
      Buffer.from([SSH_FXP_VERSION, 0, 0, 0, 3]),
      ...Object.entries(extensions).flatMap(([k, v]) => [sshString(k), sshString(v)]),
    ]);
    const pkt = Buffer.concat([Buffer.alloc(4), body]);
    pkt.writeUInt32BE(body.length, 0);
    if (!trySendRaw(sftp, pkt)) {
      // No window at session start is not something real clients do; let ssh2 answer without extensions.
      return origPush(pending);
    }
    s._version = version;
    s._extensions = {};
    s.emit('ready');
    const rest = pending.subarray(4 + len);
    pending = Buffer.alloc(0);
    return rest.length ? origPush(rest) : undefined;
  };
}

/** Sends EXTENDED_REPLY; returns false if it could not be sent now (caller answers OP_UNSUPPORTED). */
export function sendExtendedReply(sftp: SFTPWrapper, reqid: number, data: Buffer): boolean {
  const pkt = Buffer.allocUnsafe(9 + data.length);
  pkt.writeUInt32BE(5 + data.length, 0);
  pkt[4] = SSH_FXP_EXTENDED_REPLY;
  pkt.writeUInt32BE(reqid, 5);
  data.copy(pkt, 9);
  return trySendRaw(sftp, pkt);
}

/** Bytes to reserve at the start of a read buffer so {@link sendData} can send it without a copy. */
export const DATA_HEADER_BYTES = 13;

/**
 * Sends a DATA reply whose payload is `buf[13 .. 13+len)`, writing the header into `buf[0..13)`. Avoids the
 * extra copy of ssh2's `sftp.data()` on the download hot path; falls back to it when the window is short.
 */
export function sendData(sftp: SFTPWrapper, reqid: number, buf: Buffer, len: number): void {
  const pkt = buf.subarray(0, DATA_HEADER_BYTES + len);
  pkt.writeUInt32BE(DATA_HEADER_BYTES - 4 + len, 0);
  pkt[4] = SSH_FXP_DATA;
  pkt.writeUInt32BE(reqid, 5);
  pkt.writeUInt32BE(len, 9);
  if (!trySendRaw(sftp, pkt)) sftp.data(reqid, buf.subarray(DATA_HEADER_BYTES, DATA_HEADER_BYTES + len));
}

/**
 * Read-side back-pressure for one session: `isFull()` is asked after each incoming chunk; while it is true
 * ssh2 stops granting window to the client. Call the returned `release()` when the backlog has drained.
 */
export function installBackPressure(sftp: SFTPWrapper, isFull: () => boolean): () => void {
  const s = internals(sftp);
  const proto = Object.getPrototypeOf(s) as SftpInternals;
  s.push = function (this: SftpInternals, data: Buffer | null) {
    const r = proto.push.call(this, data);
    return r === false || (data !== null && isFull()) ? false : r;
  };
  return () => {
    if (!s._waitChanDrain) return;
    s._waitChanDrain = false;
    if (s.incoming.window <= 1024 * 1024) windowAdjust(s);
  };
}
