/**
 * The SSH/SFTP server (ssh2): connections, authentication, limits and the brute-force defender. Each accepted
 * `sftp` subsystem becomes one {@link SftpSession} jailed in its account's hosted space.
 *
 * Only the SFTP subsystem is served: no shell, exec, port forwarding or agent forwarding (ssh2 rejects
 * requests nobody listens to, and we listen only to `session` → `sftp`).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import ssh2 from 'ssh2';
import type { AuthContext, Connection } from 'ssh2';
import type { FileReadyBus, HostedSpaces } from '../spaces/index.js';
import {
  BruteForceDefender,
  DEFAULT_BRUTE_FORCE,
  systemClock,
  type BruteForceOptions,
  type Clock,
} from './brute-force.js';
import { loadOrCreateHostKeys } from './host-keys.js';
import { createSftpMetrics } from './sftp-metrics.js';
import { SftpSession, type SessionQuotas, type SftpPrincipal, type SharedState } from './sftp-session.js';

const { Server, utils } = ssh2;

/**
 * Modern algorithms only (roughly OpenSSH 9's defaults minus SHA-1 and CBC). chacha20-poly1305 comes first:
 * it is OpenSSH's default and the one cipher ssh2 runs in native code, so it is also our fastest.
 */
export const SFTP_ALGORITHMS = {
  kex: [
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'ecdh-sha2-nistp256',
    'ecdh-sha2-nistp384',
    'ecdh-sha2-nistp521',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
    'diffie-hellman-group14-sha256',
  ],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipher: [
    'chacha20-poly1305@openssh.com',
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'aes128-ctr',
    'aes192-ctr',
    'aes256-ctr',
  ],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  compress: ['none'],
};

/** Options of the SFTP server (the lead maps `config.sftp` onto these). */
export interface SftpServerOptions {
  /** Listen address. Default `0.0.0.0`. */
  host?: string;
  /** TCP port. Default 2222 (use 22 in production: `sftp.port: 22`); 0 picks a free port (tests). */
  port?: number;
  /** Data directory; host keys live in `<dataDir>/keys/` (created on first start, reused after). Required. */
  dataDir: string;
  /** Text shown to clients before login (SSH banner). Default none. */
  banner?: string;
  /** Close a connection with no SFTP request for this long, seconds. Default 900; 0 disables. */
  idleTimeoutSeconds?: number;
  /** Time allowed from connect to successful login, seconds. Default 60. */
  loginGraceSeconds?: number;
  /** Connections open at once, all users, including those not yet logged in. Default 200. */
  maxSessions?: number;
  /** Logged-in connections of one SFTP user at once. Default 20. */
  maxSessionsPerUser?: number;
  /** Brute-force defender; defaults 5 failures / 300 s window / 900 s ban. `maxFailures: 0` disables it. */
  bruteForce?: Partial<BruteForceOptions>;
  /** Per-account quotas in bytes; 0 (the default) means no limit. */
  quotas?: Partial<SessionQuotas>;
  /**
   * Name suffixes of temporary uploads: closing such a file fires nothing; renaming it to its final name fires
   * the event. Default `['.filepart', '.part', '.partial', '.tmp']` (WinSCP, FileZilla/curl, others).
   */
  tempSuffixes?: string[];
  /** Software version in the SSH identification string. Default `datasync`. */
  ident?: string;
}

/** Who may log in (consumer-owned port; the store implements it, tests use a small in-memory one). */
export interface SftpUserDirectory {
  /** The principal if the password is right, null otherwise (unknown users included). */
  authenticatePassword(username: string, password: string): Promise<SftpPrincipal | null>;
  /** The principal if the public key (type + blob) is one of the user's authorized keys, null otherwise. */
  authenticateKey(username: string, algo: string, keyData: Buffer): Promise<SftpPrincipal | null>;
}

export interface SftpServerDeps {
  spaces: HostedSpaces;
  users: SftpUserDirectory;
  bus: FileReadyBus;
  logger: Logger;
  /** prom-client registry to create the `datasync_sftp_*` metrics on; a private one when omitted. */
  registry?: Registry;
  clock?: Clock;
}

export interface SftpServer {
  /** Loads or creates host keys and listens; idempotent. Resolves the bound port. */
  start(): Promise<{ port: number }>;
  /** Stops listening, closes every connection and handle (no "file ready" for cut uploads); idempotent. */
  stop(): Promise<void>;
}

interface Conn {
  id: string;
  client: Connection;
  address: string;
  principal?: SftpPrincipal;
  sessions: SftpSession[];
  startedAt: number;
  idle?: NodeJS.Timeout;
  grace?: NodeJS.Timeout;
}

export function createSftpServer(opts: SftpServerOptions, deps: SftpServerDeps): SftpServer {
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ component: 'sftp' });
  const metrics = createSftpMetrics(deps.registry);
  const defender = new BruteForceDefender({ ...DEFAULT_BRUTE_FORCE, ...opts.bruteForce }, clock);
  const quotas: SessionQuotas = { maxFileBytes: 0, maxAccountBytes: 0, ...opts.quotas };
  const suffixes = (opts.tempSuffixes ?? ['.filepart', '.part', '.partial', '.tmp']).map((s) =>
    s.toLowerCase(),
  );
  const isTempName = (name: string) => suffixes.some((s) => name.toLowerCase().endsWith(s));
  const maxSessions = opts.maxSessions ?? 200;
  const maxPerUser = opts.maxSessionsPerUser ?? 20;
  const idleMs = (opts.idleTimeoutSeconds ?? 900) * 1000;
  const graceMs = (opts.loginGraceSeconds ?? 60) * 1000;
  const shared: SharedState = { writers: new Map(), usage: new Map() };
  const conns = new Set<Conn>();
  const perUser = new Map<string, number>();

  let server: InstanceType<typeof Server> | undefined;
  let starting: Promise<{ port: number }> | undefined;
  let stopping: Promise<void> | undefined;

  function touch(c: Conn): void {
    if (idleMs <= 0) return;
    // refresh() re-arms the same timer: cheap enough for the per-request hot path.
    if (c.idle) c.idle.refresh();
    else
      c.idle = setTimeout(() => {
        log.info({ conn: c.id, user: c.principal?.username, address: c.address }, 'idle timeout, closing');
        c.client.end();
      }, idleMs).unref();
  }

  async function authenticate(c: Conn, ctx: AuthContext): Promise<'accept' | 'reject' | 'pk-ok'> {
    if (ctx.method === 'password') {
      c.principal = (await deps.users.authenticatePassword(ctx.username, ctx.password)) ?? undefined;
      return c.principal ? 'accept' : 'reject';
    }
    if (ctx.method === 'publickey') {
      const key = utils.parseKey(ctx.key.data);
      if (key instanceof Error || Array.isArray(key)) return 'reject';
      const p = await deps.users.authenticateKey(ctx.username, key.type, ctx.key.data);
      if (!p) return 'reject';
      // Without a signature the client only asks whether the key would do; it signs in a second request.
      if (!ctx.signature) return 'pk-ok';
      if (key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return 'reject';
      c.principal = p;
      return 'accept';
    }
    return 'reject';
  }

  function onAuth(c: Conn, ctx: AuthContext): void {
    if (defender.isBanned(c.address)) {
      ctx.reject([], false);
      c.client.end();
      return;
    }
    if (ctx.method !== 'password' && ctx.method !== 'publickey') {
      ctx.reject(['publickey', 'password']);
      return;
    }
    authenticate(c, ctx).then(
      (r) => {
        if (r === 'pk-ok') return ctx.accept();
        if (r === 'accept' && c.principal) {
          const n = perUser.get(c.principal.username) ?? 0;
          if (n >= maxPerUser) {
            log.warn(
              { conn: c.id, user: c.principal.username, address: c.address, code: 'DS_SFTP_SESSION_LIMIT' },
              'per-user session limit reached',
            );
            metrics.refused.inc({ reason: 'user_limit' });
            c.principal = undefined;
            return ctx.reject(['publickey', 'password']);
          }
          perUser.set(c.principal.username, n + 1);
          defender.recordSuccess(c.address);
          // The space (with /import etc.) exists before the client's first request, even for a new account.
          return deps.spaces.ensureAccount(c.principal.accountId).then(() => ctx.accept());
        }
        // A public key the user does not have is not a guess at a secret: clients offer every key they hold.
        const counts =
          ctx.method === 'password' || (ctx.method === 'publickey' && ctx.signature !== undefined);
        if (counts) {
          metrics.authFailures.inc({ method: ctx.method });
          log.warn(
            {
              conn: c.id,
              user: ctx.username,
              address: c.address,
              method: ctx.method,
              code: 'DS_SFTP_AUTH_FAILED',
            },
            'login failed',
          );
          if (defender.recordFailure(c.address)) {
            metrics.bans.inc();
            log.warn(
              { address: c.address, code: 'DS_SFTP_BANNED' },
              'address banned after repeated login failures',
            );
            ctx.reject([], false);
            c.client.end();
            return;
          }
        }
        ctx.reject(['publickey', 'password']);
      },
      (err: unknown) => {
        log.error({ err, conn: c.id }, 'user directory failed during login');
        ctx.reject(['publickey', 'password']);
      },
    );
  }

  function onReady(c: Conn): void {
    const p = c.principal!;
    if (c.grace) clearTimeout(c.grace);
    metrics.sessions.inc();
    log.info(
      { event: 'sftp.login', conn: c.id, user: p.username, accountId: p.accountId, address: c.address },
      'login',
    );
    touch(c);
    c.client.on('session', (acceptSession) => {
      const session = acceptSession();
      // Accept synchronously: ssh2 drops channel data (the client's INIT) that arrives before accept().
      session.on('sftp', (acceptSftp) => {
        const s = new SftpSession(acceptSftp(), {
          principal: p,
          address: c.address,
          fs: deps.spaces.fs(p.accountId),
          shared,
          quotas,
          bus: deps.bus,
          metrics,
          logger: log.child({ conn: c.id, user: p.username, accountId: p.accountId, address: c.address }),
          now: () => clock.now(),
          isTempName,
          touch: () => touch(c),
        });
        s.attach();
        c.sessions.push(s);
      });
    });
  }

  function onConnection(client: Connection, info: { ip: string }): void {
    const c: Conn = {
      id: randomUUID().slice(0, 8),
      client,
      address: info.ip,
      sessions: [],
      startedAt: clock.now(),
    };
    client.on('error', (err: Error) => log.debug({ conn: c.id, err: err.message }, 'connection error'));
    if (stopping) return void client.end();
    if (defender.isBanned(c.address)) {
      metrics.refused.inc({ reason: 'banned' });
      log.info({ address: c.address, code: 'DS_SFTP_BANNED' }, 'connection from a banned address refused');
      return void client.end();
    }
    if (conns.size >= maxSessions) {
      metrics.refused.inc({ reason: 'server_limit' });
      log.warn({ address: c.address, code: 'DS_SFTP_SESSION_LIMIT' }, 'server session limit reached');
      return void client.end();
    }
    conns.add(c);
    metrics.activeSessions.inc();
    c.grace = setTimeout(() => {
      if (!c.principal) client.end();
    }, graceMs).unref();
    client.on('authentication', (ctx) => onAuth(c, ctx));
    client.on('ready', () => onReady(c));
    client.on('close', () => {
      conns.delete(c);
      metrics.activeSessions.dec();
      if (c.idle) clearTimeout(c.idle);
      if (c.grace) clearTimeout(c.grace);
      if (c.principal) {
        const n = (perUser.get(c.principal.username) ?? 1) - 1;
        if (n > 0) perUser.set(c.principal.username, n);
        else perUser.delete(c.principal.username);
        log.info(
          {
            event: 'sftp.logout',
            conn: c.id,
            user: c.principal.username,
            address: c.address,
            durationMs: clock.now() - c.startedAt,
          },
          'session closed',
        );
      }
      for (const s of c.sessions) void s.shutdown();
    });
  }

  async function doStart(): Promise<{ port: number }> {
    const hostKeys = await loadOrCreateHostKeys(opts.dataDir);
    const srv = new Server(
      {
        hostKeys,
        algorithms: SFTP_ALGORITHMS as ssh2.Algorithms,
        banner: opts.banner,
        ident: opts.ident ?? 'datasync',
      },
      onConnection,
    );
    srv.on('error', (err: Error) => log.error({ err }, 'sftp server error'));
    await new Promise<void>((resolve, reject) => {
      const onErr = (e: Error) => reject(e);
      srv.once('error', onErr);
      srv.listen(opts.port ?? 2222, opts.host ?? '0.0.0.0', () => {
        srv.off('error', onErr);
        resolve();
      });
    });
    server = srv;
    const port = (srv.address() as AddressInfo).port;
    log.info({ host: opts.host ?? '0.0.0.0', port }, 'sftp server listening');
    return { port };
  }

  async function doStop(): Promise<void> {
    if (starting) await starting.catch(() => undefined);
    const srv = server;
    if (!srv) return;
    const closed = new Promise<void>((resolve) => srv.close(() => resolve()));
    const all = [...conns];
    for (const c of all) c.client.end();
    await Promise.all(all.flatMap((c) => c.sessions.map((s) => s.shutdown())));
    await closed;
    server = undefined;
    log.info('sftp server stopped');
  }

  return {
    start() {
      if (stopping) return Promise.reject(new Error('the SFTP server was stopped'));
      starting ??= doStart();
      return starting;
    },
    stop() {
      stopping ??= doStop();
      return stopping;
    },
  };
}
