/**
 * File names of export runs (reference §3.3, gap 13): a pattern with tokens, expanded in the instance's time
 * zone, then the compression's extension.
 */
import { dateFormatter } from './date-format.js';
import { compressedName } from './csv-encoder.js';
import type { ExportInstance } from './export-instance.js';

export interface ExportFileNames {
  /** Final name in the destination folder. */
  name: string;
  /** Name of the CSV itself (the entry inside a zip; equal to `name` without compression). */
  csvName: string;
}

/** Expands `{instance}` `{kind}` `{lists}` `{date}` `{time}` `{seq}`; unknown tokens stay as written. */
export function exportFileNames(inst: ExportInstance, at: Date, seq: number): ExportFileNames {
  const iso = at.toISOString();
  const values: Record<string, string> = {
    instance: inst.id,
    // `+` is legal in file names but awkward in shells and URLs.
    kind: inst.type.replace('+', '-'),
    lists: inst.lists.join('-'),
    date: dateFormatter('YYYYMMDD', inst.file.timeZone)(iso),
    time: dateFormatter('hhmmss', inst.file.timeZone)(iso),
    seq: String(seq).padStart(6, '0'),
  };
  const csvName = inst.fileName
    .replace(/\{(\w+)\}/g, (m, k: string) => values[k] ?? m)
    .replace(/[/\\\0]/g, '_');
  return { csvName, name: compressedName(csvName, inst.file.compression) };
}

/** The name used when the pattern's name is taken (two runs in the same second): `_<seq>` before the extension. */
export function disambiguated(name: string, seq: number): string {
  const m = /^(.*?)((\.csv)?(\.gz|\.zip)?)$/i.exec(name)!;
  return `${m[1]}_${seq}${m[2]}`;
}

/** Temporary name while the file is written: hidden, and with a suffix no export pattern produces. */
export function temporaryName(name: string, jobId: string): string {
  return `.${name}.${jobId}.part`;
}
