/** Prometheus metrics of the SFTP server, created on the registry the caller passes (the one `/metrics` serves). */
import { Counter, Gauge, Registry } from 'prom-client';

export interface SftpMetrics {
  sessions: Counter<string>;
  activeSessions: Gauge<string>;
  authFailures: Counter<'method'>;
  bans: Counter<string>;
  refused: Counter<'reason'>;
  bytesIn: Counter<string>;
  bytesOut: Counter<string>;
  filesReady: Counter<string>;
}

/** Re-uses metrics already on the registry, so two servers (or a restart in tests) can share one registry. */
function counter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: L[] = [],
): Counter<L> {
  return (
    (registry.getSingleMetric(name) as Counter<L> | undefined) ??
    new Counter<L>({ name, help, labelNames, registers: [registry] })
  );
}

export function createSftpMetrics(registry: Registry = new Registry()): SftpMetrics {
  return {
    sessions: counter(registry, 'datasync_sftp_sessions_total', 'SFTP logins accepted.'),
    activeSessions:
      (registry.getSingleMetric('datasync_sftp_sessions_active') as Gauge<string> | undefined) ??
      new Gauge({
        name: 'datasync_sftp_sessions_active',
        help: 'SFTP connections open now.',
        registers: [registry],
      }),
    authFailures: counter(registry, 'datasync_sftp_auth_failures_total', 'Failed SFTP login attempts.', [
      'method',
    ]),
    bans: counter(registry, 'datasync_sftp_bans_total', 'Addresses banned by the brute-force defender.'),
    refused: counter(
      registry,
      'datasync_sftp_refused_connections_total',
      'Connections refused before login.',
      ['reason'],
    ),
    bytesIn: counter(registry, 'datasync_sftp_bytes_in_total', 'Bytes uploaded by SFTP clients.'),
    bytesOut: counter(registry, 'datasync_sftp_bytes_out_total', 'Bytes downloaded by SFTP clients.'),
    filesReady: counter(registry, 'datasync_sftp_files_ready_total', '"File ready" events emitted.'),
  };
}
