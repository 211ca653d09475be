/**
 * SMS delivery states, normalised to the export vocabulary of reference §3.4.3 from what providers send:
 * SMPP DLR `stat:` words (DELIVRD, UNDELIV, …), the SMS REST report's numeric Status (0 delivered,
 * 1 queued, 2 error) and plain words.
 */
import { SMS_STATUSES, type SmsStatus } from '../store/index.js';

export { SMS_STATUSES, type SmsStatus };

const ALIASES: Record<string, SmsStatus> = {
  DELIVRD: 'DELIVERED',
  DELIVERED: 'DELIVERED',
  '0': 'DELIVERED',
  ACCEPTD: 'QUEUED',
  ACCEPTED: 'QUEUED',
  ENROUTE: 'QUEUED',
  QUEUED: 'QUEUED',
  SENT: 'QUEUED',
  BUFFERED: 'QUEUED',
  '1': 'QUEUED',
  FAILED: 'FAILED',
  ERROR: 'FAILED',
  DELETED: 'FAILED',
  '2': 'FAILED',
  UNDELIV: 'UNDELIV',
  UNDELIVERED: 'UNDELIV',
  UNDELIVERABLE: 'UNDELIV',
  REJECTD: 'REJECTD',
  REJECTED: 'REJECTD',
  EXPIRED: 'EXPIRED',
  NACK: 'NACK',
  UNKNOWN: 'UNKNOWN',
};

export function normalizeSmsStatus(raw: string): SmsStatus {
  return ALIASES[raw.trim().toUpperCase()] ?? 'UNKNOWN';
}
