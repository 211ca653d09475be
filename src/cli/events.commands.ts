/**
 * `datasync events add ACCOUNT FILE.jsonl`: ingest engagement events from a file (JSON lines or a JSON
 * array), the same write path and status rules as `POST /api/v1/accounts/{id}/events`. The file is read
 * line by line and recorded in chunks, so a large file keeps memory flat. Re-adding the same file changes
 * nothing: each line's idempotency key defaults to `file:<sha256 of the file>:<line index>`.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import readline from 'node:readline';
import type { Command } from 'commander';
import { DatasyncError, UsageError } from '../errors.js';
import { type RecordEventsResult } from '../http/index.js';
import type { Store } from '../store/index.js';
import { withStore, type GlobalOptions } from './context.js';
import { printJson } from './output.js';

/** Loaded when a command runs, so `datasync --help` and short commands start fast. */
const http = () => import('../http/index.js');

/** Events per (await http()).recordEvents() call while streaming a file. */
const CHUNK = 1000;

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function registerEventsCommands(program: Command, globals: () => GlobalOptions): void {
  const events = program
    .command('events')
    .description('engagement events (opens, clicks, bounces, unsubscribes)');
  events
    .command('add <account> <file>')
    .description('ingest events from a JSON lines file (or a JSON array); same rules as the HTTP API')
    .option('--key <key>', 'batch idempotency key (default: file:<sha256 of the file>)')
    .option('--soft-bounce-threshold <n>', 'consecutive soft bounces that opt a recipient out (type 512)')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        account: string,
        file: string,
        o: { key?: string; softBounceThreshold?: string; json?: boolean },
      ) => {
        if (!fs.existsSync(file)) throw new UsageError(`no such file: ${file}`);
        const threshold = o.softBounceThreshold === undefined ? undefined : Number(o.softBounceThreshold);
        if (threshold !== undefined && (!Number.isInteger(threshold) || threshold < 1))
          throw new UsageError('--soft-bounce-threshold must be a whole number ≥ 1');
        const total = await withStore(globals(), (store) =>
          addEventsFile(store, account, file, { batchKey: o.key, softBounceThreshold: threshold }),
        );
        if (o.json) printJson(total);
        else {
          console.log(
            `${total.recorded} recorded, ${total.duplicates} already recorded, ${total.rejected.length} rejected, ${total.unsubscribed} unsubscribed`,
          );
          for (const r of total.rejected.slice(0, 20))
            console.log(`  event ${r.index}: ${r.code} ${r.message}`);
          if (total.rejected.length > 20)
            console.log(`  … and ${total.rejected.length - 20} more (use --json)`);
        }
        if (total.rejected.length && total.recorded === 0 && total.duplicates === 0)
          throw new DatasyncError('DS_EVENT_INVALID', 'no event of the file could be recorded');
      },
    );
}

/**
 * Record the events of a file for one account (JSON lines streamed in chunks, or a JSON array). The batch
 * key defaults to `file:<sha256>`, so adding the same file again records nothing new.
 */
export async function addEventsFile(
  store: Store,
  account: string,
  file: string,
  opts: { batchKey?: string; softBounceThreshold?: number } = {},
): Promise<RecordEventsResult> {
  const batchKey = opts.batchKey ?? `file:${await sha256File(file)}`;
  const total: RecordEventsResult = {
    received: 0,
    recorded: 0,
    duplicates: 0,
    rejected: [],
    unsubscribed: 0,
  };
  const add = async (batch: unknown[], indexOffset: number) => {
    const r = await (
      await http()
    ).recordEvents(store, account, batch, {
      batchKey,
      softBounceThreshold: opts.softBounceThreshold,
      indexOffset,
    });
    total.received += r.received;
    total.recorded += r.recorded;
    total.duplicates += r.duplicates;
    total.unsubscribed += r.unsubscribed;
    total.rejected.push(...r.rejected);
  };
  if ((await firstNonBlankChar(file)) === '[') {
    // A JSON array has to be parsed whole; JSON lines stream.
    const all = (await http()).parseEventsText(fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
    for (let i = 0; i < all.length; i += CHUNK) await add(all.slice(i, i + CHUNK), i);
    return total;
  }
  let batch: unknown[] = [];
  let index = 0;
  let line = 0;
  const rl = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const text of rl) {
    line++;
    if (!text.trim()) continue;
    try {
      batch.push(JSON.parse(line === 1 ? text.replace(/^\uFEFF/, '') : text));
    } catch {
      throw new DatasyncError(
        'DS_VALIDATION',
        `line ${line} of ${file} is not valid JSON; the lines after it were not added`,
      );
    }
    if (batch.length === CHUNK) {
      await add(batch, index);
      index += batch.length;
      batch = [];
    }
  }
  if (batch.length) await add(batch, index);
  return total;
}

async function firstNonBlankChar(file: string): Promise<string | undefined> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
    return /\S/.exec(
      buf
        .subarray(0, bytesRead)
        .toString('utf8')
        .replace(/^\uFEFF/, ''),
    )?.[0];
  } finally {
    await fd.close();
  }
}
