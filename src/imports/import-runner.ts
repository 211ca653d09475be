/**
 * Where import jobs run until the durable jobs queue exists (ARCHITECTURE `jobs/`): in this process, one at a
 * time per account in arrival order (reference §2.10 item 7), different accounts in parallel. The jobs issue
 * implements `ImportRunner` over its queue; callers only ever see this interface.
 */
import type { ImportSummary } from './import-job.service.js';

/** What a queued import carries: plain data (CONVENTIONS #12). */
export interface ImportJobRef {
  jobId: string;
  accountId: string;
}

export interface ImportRunner {
  /**
   * Queue a recorded job. The in-process runner resolves with its summary when it has run; a durable queue
   * resolves once the job is safely queued (it may run on another node).
   */
  enqueue(job: ImportJobRef): Promise<ImportSummary | void>;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
  /** Stop taking jobs; running ones finish (a job not started stays `queued` for the next start). */
  stop(): Promise<void>;
}

export class InProcessImportRunner implements ImportRunner {
  private readonly tails = new Map<string, Promise<unknown>>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(private readonly run: (job: ImportJobRef) => Promise<ImportSummary>) {}

  enqueue(job: ImportJobRef): Promise<ImportSummary> {
    if (this.stopped) return Promise.reject(new Error('import runner is stopped'));
    const prev = this.tails.get(job.accountId) ?? Promise.resolve();
    const p = prev.then(() => {
      if (this.stopped) throw new Error('import runner is stopped');
      return this.run(job);
    });
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(job.accountId, settled);
    this.running.add(settled);
    void settled.then(() => {
      this.running.delete(settled);
      if (this.tails.get(job.accountId) === settled) this.tails.delete(job.accountId);
    });
    return p;
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }
}
