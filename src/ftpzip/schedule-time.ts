/**
 * `ScheduleDateTime` (`2014-11-04T11:20:00.000`, local time) in the zone of `ScheduleTimeZone` (a MailUp
 * time-zone id; default 38, Europe/Rome, reference §6.4). Only the ids in {@link MAILUP_TIME_ZONES} are
 * known; another id fails the job with DS_FTPZIP_XML_INVALID rather than guessing a zone.
 */
import { FtpZipError } from './zip-reader.js';

/** MailUp time-zone ids → IANA zones (extend as customers need them; documented in docs/ftpzip.md). */
export const MAILUP_TIME_ZONES: Readonly<Record<number, string>> = { 38: 'Europe/Rome' };
export const DEFAULT_TIME_ZONE_ID = 38;

function offsetMs(at: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(at))
      .map((p) => [p.type, p.value]),
  );
  const asUtc = Date.UTC(
    +parts.year!,
    +parts.month! - 1,
    +parts.day!,
    +parts.hour!,
    +parts.minute!,
    +parts.second!,
  );
  return asUtc - Math.floor(at / 1000) * 1000;
}

export function scheduleToUtc(local: string, zoneId: number | null): Date {
  const id = zoneId ?? DEFAULT_TIME_ZONE_ID;
  const zone = MAILUP_TIME_ZONES[id];
  if (!zone)
    throw new FtpZipError(
      'DS_FTPZIP_XML_INVALID',
      `XML file does not match its schema. Validation failed: ScheduleTimeZone ${id} is not a known time zone id`,
    );
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(local)!;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => Number(v ?? 0)) as number[];
  const guess = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  // Two passes of "subtract the zone's offset at the guess" settle on the right side of a DST change.
  const first = guess - offsetMs(guess, zone);
  return new Date(guess - offsetMs(first, zone));
}
