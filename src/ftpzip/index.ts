/**
 * ftpzip/ — Batch FTPZIP (reference §5): an archive dropped in `/import_zip` creates and/or sends an email
 * campaign. Map: zip-reader (safe reading, limits) → settings-xml (DTD refusal, zod schema) → ftpzip-content
 * (Markup.htm, images, attachments, Recipients.csv) → ftpzip-job (job record, modes, send via email/; types and
 * the kept plan in ftpzip-plan) with
 * ftpzip-files (processing area, done/failed, result.json) and schedule-time (ScheduleDateTime zones).
 */
export {
  runFtpZip,
  sendScheduledFtpZip,
  type FtpZipDeps,
  type FtpZipOptions,
  type FtpZipSummary,
  type FtpZipCounters,
} from './ftpzip-job.js';
export { parseSettingsXml, settingsXmlSchema, type FtpZipSettings } from './settings-xml.js';
export {
  readZipSafely,
  safeEntryName,
  DEFAULT_ZIP_LIMITS,
  FtpZipError,
  type ZipLimits,
} from './zip-reader.js';
export { scheduleToUtc, MAILUP_TIME_ZONES } from './schedule-time.js';
