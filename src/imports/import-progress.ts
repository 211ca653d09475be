/** One-line progress for `datasync import` on a TTY: bar, rows, rows/s, ETA. The CLI redraws it with `\r`. */
import type { ImportProgress } from './import-engine.js';

function fmtSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, '0')}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `[#########...........]  45%  123,456 rows  8,012 rows/s  ETA 12s  (apply)` */
export function renderImportProgress(p: ImportProgress, width = 24): string {
  const frac = p.totalBytes > 0 ? Math.min(1, p.bytes / p.totalBytes) : 1;
  const filled = Math.round(frac * width);
  const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  const pct = `${String(Math.round(frac * 100)).padStart(3)}%`;
  const eta = p.etaSeconds === null ? 'ETA --' : `ETA ${fmtSeconds(p.etaSeconds)}`;
  return `${bar} ${pct}  ${p.rows.toLocaleString('en')} rows  ${p.rowsPerSecond.toLocaleString('en')} rows/s  ${eta}  (${p.phase})`;
}
