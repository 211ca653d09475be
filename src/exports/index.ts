/**
 * exports/ — export instances (reference §3): unsubscribers, statistics, both in one file, SMS statistics and
 * subscribers as CSV, on a schedule or on demand. Map of concerns:
 * - `export-instance.ts`: the zod schema of an instance (file properties, window, naming, retention, schedule);
 * - `export-columns.ts`: the column catalogue of each kind and the final layout of an instance;
 * - `export-window.ts`: windows and watermarks; `export-naming.ts`: file names;
 * - `export-rows.ts`: row sources (pages of rows); `csv-encoder.ts` + `zip-stream.ts`: CSV, encodings, compression;
 * - `export-destination.ts`: the `ExportDestination` port and the hosted folder;
 * - `export-runner.ts`: `runExport`, one run end to end (invariant 5);
 * - `apply-instances.ts`: `applyExportInstances` for `instances apply` and config provisioning.
 * Decisions on the reference's gaps: docs/exports.md.
 */
export {
  EXPORT_KINDS,
  KIND_COLUMNS,
  resolveColumns,
  type ExportKind,
  type ColumnSpec,
} from './export-columns.js';
export {
  exportInstanceSchema,
  parseExportInstance,
  storedDefinition,
  type ExportInstance,
  type ExportInstanceInput,
} from './export-instance.js';
export { resolveWindow, type ExportWindow, type WindowOverride } from './export-window.js';
export { exportFileNames } from './export-naming.js';
export { dateFormatter, DEFAULT_DATE_FORMAT } from './date-format.js';
export { smsStatus } from './export-rows.js';
export { SMS_STATUSES } from '../store/index.js';
export {
  HostedExportDestination,
  defaultDestinationResolver,
  type DestinationResolver,
  type ExportDestination,
} from './export-destination.js';
export { runExport, type RunExportOptions, type ExportRunResult } from './export-runner.js';
export { applyExportInstances, type ApplyResult } from './apply-instances.js';
