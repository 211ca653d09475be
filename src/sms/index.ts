/**
 * sms/ — CSV2SMS: a file dropped in `/sms` imports mobile recipients and sends, schedules or queues an SMS
 * campaign (reference §4), through one `SmsProvider` (smpp, http, log), with delivery reports recorded as
 * events for the `sms-statistics` export (§3.4.3). Decisions on the reference's gaps: docs/sms.md.
 *
 * Map: csv2sms-header / csv2sms-messages (intake rules) → csv2sms-job (job record, import, campaign; types in
 * csv2sms-plan, result files via csv2sms-finish and csv2sms-files) → sms-sender (windowed submits, pipelined commits) → providers; delivery-report
 * (parsers, recording, the webhook handler); sms-encoding (GSM-7 / UCS-2, segments); sms-config (schema,
 * provider factory).
 */
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Store } from '../store/index.js';
import { DeliveryReportRecorder } from './delivery-report.js';
import type { SmsProvider } from './sms-provider.js';

export { runCsv2Sms, sendScheduledSms } from './csv2sms-job.js';
export type { Csv2SmsCounters, Csv2SmsDeps, Csv2SmsOptions, Csv2SmsSummary } from './csv2sms-plan.js';
export { parseCsv2SmsFile, zonedTimeToUtc, campaignName } from './csv2sms-header.js';
export type { Csv2SmsHeader, Csv2SmsAction } from './csv2sms-header.js';
export { parseCsv2SmsMessages } from './csv2sms-messages.js';
export type { Csv2SmsMessage, Csv2SmsRejection, ParsedMessages } from './csv2sms-messages.js';
export {
  segmentText,
  isGsm7,
  gsmSeptets,
  nonGsmCharacters,
  encodeGsm7,
  encodeUcs2,
  GSM7_SINGLE,
  GSM7_PART,
  UCS2_SINGLE,
  UCS2_PART,
} from './sms-encoding.js';
export type { SmsEncoding, SegmentInfo } from './sms-encoding.js';
export { SMS_STATUSES, RateLimiter } from './sms-provider.js';
export type {
  SmsProvider,
  SmsSubmit,
  SmsSubmitResult,
  SmsStatus,
  DeliveryReport,
  DeliveryReportListener,
} from './sms-provider.js';
export { SmppProvider, DEFAULT_SMPP_OPTIONS } from './smpp-provider.js';
export type { SmppProviderOptions } from './smpp-provider.js';
export { HttpProvider, DEFAULT_HTTP_OPTIONS } from './http-provider.js';
export type { HttpProviderOptions } from './http-provider.js';
export { LogProvider } from './log-provider.js';
export type { LogProviderOptions } from './log-provider.js';
export {
  handleDeliveryReport,
  parseJsonDeliveryReports,
  parseSmppReceiptText,
  recordDeliveryReport,
  mapStatusWord,
  DeliveryReportRecorder,
  DEFAULT_HTTP_DLR_MAPPING,
} from './delivery-report.js';
export type { HttpDlrMapping, HandleResult } from './delivery-report.js';
export { smsConfigSchema, parseSmsConfig, createSmsProvider } from './sms-config.js';
export type { SmsConfig, SmsConfigInput } from './sms-config.js';
export { listDueSmsSendings } from '../store/sms-campaigns.repository.js';

/**
 * Record every delivery report `provider` pushes (SMPP receipts, log provider) for as long as it runs. The
 * composition root calls it once after creating the provider and passes the recorder to runCsv2Sms /
 * sendScheduledSms as `reports`; the returned `detach` goes before `provider.stop()` at shutdown.
 */
export function attachDeliveryReports(
  store: Pick<Store, 'db'>,
  provider: SmsProvider,
  clock: Clock,
  logger?: Logger,
): { recorder: DeliveryReportRecorder; detach: () => void } {
  const recorder = new DeliveryReportRecorder(
    store.db,
    () => clock.now(),
    (e) => logger?.error({ err: e }, 'sms: recording a delivery report failed'),
  );
  return { recorder, detach: provider.onDeliveryReport(recorder.listener) };
}
