/**
 * Which import instance a dropped file belongs to (reference §2.2 item 2; gap §7.3 decided in docs/imports.md):
 * the file's folder must equal the instance's folder, and its name must match `exact`, `glob` or `regex`.
 * Regexes are JavaScript (`u` flag) and anchored to the whole name. Several matches: the instance with the
 * smallest id wins, deterministically.
 */
import type { ImportInstance } from './import-instance.js';

/** Shell glob on one name → anchored RegExp: `*` any run, `?` one character, `[...]` a class; no `/`. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let cls = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`, 'u');
}

export function fileNameMatches(instance: ImportInstance, name: string): boolean {
  const m = instance.fileMatch;
  if (m.exact !== undefined) return name === m.exact;
  if (m.glob !== undefined) return globToRegExp(m.glob).test(name);
  if (m.regex !== undefined) return new RegExp(`^(?:${m.regex})$`, 'u').test(name);
  return false;
}

/** The instance a space path belongs to, among the account's enabled import instances; undefined when none. */
export function matchInstance(instances: ImportInstance[], spacePath: string): ImportInstance | undefined {
  const i = spacePath.lastIndexOf('/');
  const folder = i <= 0 ? '/' : spacePath.slice(0, i);
  const name = spacePath.slice(i + 1);
  return instances
    .filter((d) => d.enabled && !d.remote && d.folder === folder && fileNameMatches(d, name)) // remote instances poll, uploads never feed them
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))[0];
}
