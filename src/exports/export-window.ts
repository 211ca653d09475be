/**
 * Export windows (reference §3.3, gap 12). Every window is half-open, [from, to), on the time an event was
 * recorded: an event recorded exactly at a run's end falls into the next window, so two consecutive
 * incremental files never share an event and never miss one (docs/exports.md "Windows").
 */
import { ValidationError } from '../errors.js';
import { addDays, localDate, zonedMidnight } from './date-format.js';
import type { ExportInstance } from './export-instance.js';

export interface ExportWindow {
  /** Inclusive start; null = from the beginning. */
  from: string | null;
  /** Exclusive end. */
  to: string;
  /** Only incremental runs without an override move the watermark. */
  moveWatermark: boolean;
  /** The mode that produced it (`manual` for `--from/--to`). */
  mode: ExportInstance['window']['mode'] | 'manual';
}

export interface WindowOverride {
  from?: string;
  to?: string;
}

function instant(s: string, what: string): string {
  const ms = Date.parse(s);
  if (Number.isNaN(ms))
    throw new ValidationError(`${what} "${s}" is not an ISO-8601 date-time`, {
      code: 'DS_EXPORT_WINDOW_INVALID',
    });
  return new Date(ms).toISOString();
}

export function resolveWindow(
  inst: ExportInstance,
  now: Date,
  watermark: string | undefined,
  override?: WindowOverride,
): ExportWindow {
  const settled = new Date(now.getTime() - inst.window.settleSeconds * 1000).toISOString();
  if (override && (override.from !== undefined || override.to !== undefined)) {
    const from = override.from !== undefined ? instant(override.from, '--from') : null;
    const to = override.to !== undefined ? instant(override.to, '--to') : settled;
    if (from !== null && from > to)
      throw new ValidationError(`--from ${from} is after --to ${to}`, { code: 'DS_EXPORT_WINDOW_INVALID' });
    return { from, to, moveWatermark: false, mode: 'manual' };
  }
  const tz = inst.file.timeZone;
  switch (inst.window.mode) {
    case 'incremental': {
      const from =
        watermark ?? (inst.window.firstRunFrom ? instant(inst.window.firstRunFrom, 'firstRunFrom') : null);
      // A clock set back (or a settle delay longer than the time since the last run) gives an empty window,
      // never one that ends before it starts.
      const to = from !== null && from > settled ? from : settled;
      return { from, to, moveWatermark: true, mode: 'incremental' };
    }
    case 'previousDay': {
      const today = localDate(now, tz);
      return {
        from: zonedMidnight(addDays(today, -1), tz).toISOString(),
        to: zonedMidnight(today, tz).toISOString(),
        moveWatermark: false,
        mode: 'previousDay',
      };
    }
    case 'lastDays': {
      const today = localDate(now, tz);
      return {
        from: zonedMidnight(addDays(today, -(inst.window.days ?? 1)), tz).toISOString(),
        to: zonedMidnight(today, tz).toISOString(),
        moveWatermark: false,
        mode: 'lastDays',
      };
    }
    case 'snapshot':
      return { from: null, to: settled, moveWatermark: false, mode: 'snapshot' };
  }
}
