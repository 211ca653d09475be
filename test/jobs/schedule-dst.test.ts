/** Cron with IANA zones: DST days run once; next run times are what the CLI and API show. */
import { describe, expect, it } from 'vitest';
import { nextRunTimes, runTimesBetween, scheduleSchema } from '../../src/jobs/schedule.js';

describe('schedule times (croner, Europe/Rome)', () => {
  it('runs "every day at 04:00 Europe/Rome" at 04:00 local in winter and summer', () => {
    expect(
      nextRunTimes('0 4 * * *', 'Europe/Rome', new Date('2026-01-10T12:00:00Z'), 1)[0]!.toISOString(),
    ).toBe('2026-01-11T03:00:00.000Z');
    expect(
      nextRunTimes('0 4 * * *', 'Europe/Rome', new Date('2026-07-10T12:00:00Z'), 1)[0]!.toISOString(),
    ).toBe('2026-07-11T02:00:00.000Z');
  });

  it('runs a 02:30 job once on the spring-forward day (02:30 does not exist)', () => {
    const runs = runTimesBetween(
      '30 2 * * *',
      'Europe/Rome',
      new Date('2026-03-28T12:00:00Z'),
      new Date('2026-03-30T12:00:00Z'),
    );
    expect(runs.map((d) => d.toISOString())).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('runs a 02:30 job once on the fall-back day (02:30 happens twice)', () => {
    const runs = runTimesBetween(
      '30 2 * * *',
      'Europe/Rome',
      new Date('2026-10-24T12:00:00Z'),
      new Date('2026-10-25T23:00:00Z'),
    );
    expect(runs.map((d) => d.toISOString())).toEqual(['2026-10-25T00:30:00.000Z']);
  });

  it('validates cron and zone with clear messages', () => {
    expect(scheduleSchema.safeParse({ cron: '0 4 * * *', timeZone: 'Europe/Rome' }).success).toBe(true);
    const badZone = scheduleSchema.safeParse({ cron: '0 4 * * *', timeZone: 'Europe/Nowhere' });
    expect(badZone.success).toBe(false);
    expect(JSON.stringify(badZone.error?.issues)).toContain('unknown time zone');
    expect(scheduleSchema.safeParse({ cron: '99 4 * * *' }).success).toBe(false);
    expect(scheduleSchema.parse({ cron: '0 4 * * *' })).toEqual({
      cron: '0 4 * * *',
      timeZone: 'Europe/Rome',
      catchUp: 'once',
    });
  });
});
