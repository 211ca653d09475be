/**
 * sftp/ — the hosted SFTP space. Map of concerns:
 * - `sftp-server.ts`: ssh2 server, auth, session limits, brute-force defender, lifecycle (`createSftpServer`);
 * - `sftp-session.ts`: one SFTP session over `SpaceFs`: jail, quotas, "file ready" events;
 * - `sftp-wire.ts`: the few ssh2 internals we reach (extensions, zero-copy DATA, back-pressure);
 * - `credentials.ts`: password hashes and authorized_keys; `host-keys.ts`: keys generated once, reused.
 */
export { createSftpServer, SFTP_ALGORITHMS } from './sftp-server.js';
export type { SftpServer, SftpServerDeps, SftpServerOptions, SftpUserDirectory } from './sftp-server.js';
export type { SftpPrincipal, SessionQuotas } from './sftp-session.js';
export { MAX_IO_BYTES } from './sftp-session.js';
export type { BruteForceOptions, Clock } from './brute-force.js';
export { DEFAULT_BRUTE_FORCE } from './brute-force.js';
export {
  generatePassword,
  hashPassword,
  keyFingerprint,
  parseAuthorizedKeys,
  verifyPassword,
} from './credentials.js';
export type { AuthorizedKey } from './credentials.js';
export { loadOrCreateHostKeys } from './host-keys.js';
export {
  addSftpKey,
  addSftpUser,
  createStoreUserDirectory,
  listSftpUsers,
  removeSftpKey,
  removeSftpUser,
  setSftpPassword,
} from './users.service.js';
export type { SftpUser, SftpUserKey } from './users.service.js';
