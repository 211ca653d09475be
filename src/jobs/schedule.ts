/**
 * Cron with IANA time zones (croner). "Every day at 04:00 Europe/Rome" means 04:00 on the wall clock in Rome,
 * summer and winter. On the spring-forward day a time inside the skipped hour (02:30) runs once, at the first
 * valid instant after it (03:00); on the fall-back day a daily 02:30 runs once, at its first occurrence.
 * Interval patterns (every 30 minutes) follow real elapsed time, so they also run in the repeated hour.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** What a missed run (the process was down at its time) does at the next start. */
export const CATCH_UP_POLICIES = ['once', 'skip'] as const;
export type CatchUpPolicy = (typeof CATCH_UP_POLICIES)[number];

/** The `schedule` block of an instance definition. */
export const scheduleSchema = z
  .object({
    /** Five-field cron (minute hour day month weekday), e.g. `0 4 * * *`; six fields add seconds first. */
    cron: z.string().min(1),
    /** IANA zone the cron is read in. Default `Europe/Rome` (reference §3.3). */
    timeZone: z.string().default('Europe/Rome'),
    /** `once`: a run missed while datasync was down runs once at start-up; `skip`: wait for the next one. */
    catchUp: z.enum(CATCH_UP_POLICIES).default('once'),
  })
  .strict()
  .superRefine((s, ctx) => {
    const err = cronProblem(s.cron, s.timeZone);
    if (err) ctx.addIssue({ code: 'custom', message: err });
  });
export type ScheduleSpec = z.output<typeof scheduleSchema>;

function cronProblem(cron: string, timeZone: string): string | null {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    return `unknown time zone "${timeZone}" (use an IANA name such as Europe/Rome)`;
  }
  try {
    new Cron(cron, { timezone: timeZone, paused: true });
  } catch (e) {
    return `cron "${cron}" is not valid: ${(e as Error).message}`;
  }
  return null;
}

function cronOf(cron: string, timeZone: string): Cron {
  const problem = cronProblem(cron, timeZone);
  if (problem) throw new ValidationError(problem);
  return new Cron(cron, { timezone: timeZone, paused: true });
}

/** The next `count` run times strictly after `from` (what `instances list` and the API show). */
export function nextRunTimes(cron: string, timeZone: string, from: Date, count = 1): Date[] {
  const c = cronOf(cron, timeZone);
  const out: Date[] = [];
  let d: Date | null = from;
  while (out.length < count && d) {
    d = c.nextRun(d);
    if (d) out.push(d);
  }
  return out;
}

/** Run times in (after, until], oldest first, at most `limit` (a guard against `* * * * * *` after a long outage). */
export function runTimesBetween(
  cron: string,
  timeZone: string,
  after: Date,
  until: Date,
  limit = 1000,
): Date[] {
  const c = cronOf(cron, timeZone);
  const out: Date[] = [];
  let d: Date | null = after;
  while (out.length < limit) {
    d = c.nextRun(d);
    if (!d || d.getTime() > until.getTime()) break;
    out.push(d);
  }
  return out;
}
