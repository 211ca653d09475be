/** `ls -l` style long names for READDIR, formatted as OpenSSH's sftp-server does (clients print them as is). */
import type { SpaceStat } from '../spaces/index.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

function perms(st: SpaceStat): string {
  const m = st.mode;
  const bit = (mask: number, c: string) => (m & mask ? c : '-');
  return (
    (st.kind === 'directory' ? 'd' : '-') +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    bit(0o100, 'x') +
    bit(0o040, 'r') +
    bit(0o020, 'w') +
    bit(0o010, 'x') +
    bit(0o004, 'r') +
    bit(0o002, 'w') +
    bit(0o001, 'x')
  );
}

export function longName(
  name: string,
  st: SpaceStat,
  owner: string,
  group: string,
  now = Date.now(),
): string {
  const t = st.mtime;
  const day = String(t.getDate()).padStart(2, ' ');
  const recent = Math.abs(now - t.getTime()) < SIX_MONTHS_MS;
  const when = recent
    ? `${MONTHS[t.getMonth()]} ${day} ${String(t.getHours()).padStart(2, '0')}:${String(t.getMinutes()).padStart(2, '0')}`
    : `${MONTHS[t.getMonth()]} ${day}  ${t.getFullYear()}`;
  const nlink = st.kind === 'directory' ? 2 : 1;
  return `${perms(st)} ${String(nlink).padStart(3)} ${owner.padEnd(8)} ${group.padEnd(8)} ${String(st.size).padStart(8)} ${when} ${name}`;
}
