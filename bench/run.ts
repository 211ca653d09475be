/**
 * `npm run bench -- NAME [args…]` runs bench/NAME.ts (each benchmark measures datasync and the raw limit it is
 * compared with in one run, and prints the ratio). With no NAME it lists the benchmarks.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
const names = fs
  .readdirSync(dir)
  // bench/NAME.ts only: helpers such as NAME.server.ts are not benchmarks of their own.
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && f.split('.').length === 2)
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (!name || !names.includes(name)) {
  console.log(
    `usage: npm run bench -- NAME [options]\nbenchmarks: ${names.join(', ')}\nfigures: bench/RESULTS.md`,
  );
  process.exit(name ? 2 : 0);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, `${name}.ts`), ...args], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
