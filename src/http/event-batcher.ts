/**
 * Group commit for tracking events. Opens and clicks arrive by the thousand per second; one INSERT per
 * request would make the database the limit. Requests that arrive while a write is running wait for the
 * next one, which writes all of them in one statement; each request still waits until its own row is
 * committed, so a response means the event is stored (and tests need no waiting).
 */
import type { Kysely } from 'kysely';
import type { Logger } from '../logger.js';
import { insertEvents, type Database, type NewEventRow } from '../store/index.js';

interface Pending {
  row: NewEventRow;
  resolve(): void;
  reject(e: unknown): void;
}

export class EventBatcher {
  private queue: Pending[] = [];
  private running: Promise<void> | undefined;
  private scheduled = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
    /** Largest number of rows per statement. */
    private readonly maxBatch = 1000,
    private readonly maxParameters = 30_000,
  ) {}

  /** Queue a row; resolves once it is committed. */
  add(row: NewEventRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every request already read from the sockets join this batch.
    setImmediate(() => {
      this.scheduled = false;
      this.running = this.drain().finally(() => {
        this.running = undefined;
        if (this.queue.length) this.schedule();
      });
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        await insertEvents(
          this.db,
          batch.map((p) => p.row),
          this.maxParameters,
        );
        for (const p of batch) p.resolve();
      } catch (e) {
        this.log.error({ err: e, rows: batch.length }, 'tracking events could not be written');
        for (const p of batch) p.reject(e);
      }
    }
  }

  /** Wait until everything queued so far is written (at shutdown, before the database closes). */
  async flush(): Promise<void> {
    while (this.queue.length || this.running || this.scheduled) {
      if (this.running) await this.running.catch(() => undefined);
      else await new Promise<void>((r) => setImmediate(r));
    }
  }
}
