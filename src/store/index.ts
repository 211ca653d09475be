/**
 * store/ — the data layer. Kysely over SQLite (embedded default) or PostgreSQL, one set of migrations,
 * driver errors normalised at this boundary, one module per aggregate. Knows no other datasync module
 * (it imports only errors.ts).
 */
export * from './tables.js';
export * from './dialect.js';
export { openStore, isPostgresUrl, redactUrl, type Store, type OpenStoreOptions } from './connection.js';
export { normalizeDbError } from './db-errors.js';
export * from './accounts.js';
export * from './recipients.js';
export * from './recipient-keys.js';
export * from './sftp-users.repository.js';
export * from './settings.repository.js';
export * from './instances.repository.js';
export * from './jobs.repository.js';
export * from './jobs-tables.js';
export * from './engagement-tables.js';
export * from './engagement-messages.repository.js';
export * from './engagement-events.repository.js';
export * from './sms-campaigns.repository.js';
export * from './exports-files.repository.js';
export * from './exports-rows.repository.js';
export * from './import-batch.repository.js';
export * from './engagement-refs.repository.js';
export * from './audit.repository.js';
export * from './email-sendings.repository.js';
export * from './dashboard-stats.repository.js';
export * from './superseded-marks.js';
