/**
 * "File ready" events (ARCHITECTURE.md invariant 1, CONVENTIONS #11): emitted once per complete file, after a
 * clean close of a handle that wrote it or a rename that put it in place. Imports and jobs subscribe.
 */

export interface FileReady {
  accountId: string;
  /** Space path, e.g. `/import/a.csv`. */
  path: string;
  /** Bytes, at the moment the file became ready. */
  size: number;
  /** Hex SHA-256 of the content. */
  sha256: string;
  at: Date;
}

export type FileReadyListener = (event: FileReady) => void | Promise<void>;

/**
 * A typed in-process bus. Listeners run in subscription order; a listener that throws or rejects does not stop
 * the others nor the emitter (the error goes to `onListenerError`, by default swallowed after nothing: the
 * owner passes a logger-backed handler).
 */
export class FileReadyBus {
  private listeners: FileReadyListener[] = [];

  constructor(private readonly onListenerError: (err: unknown, event: FileReady) => void = () => {}) {}

  on(listener: FileReadyListener): () => void {
    this.listeners.push(listener);
    return () => this.off(listener);
  }

  off(listener: FileReadyListener): void {
    this.listeners = this.listeners.filter((l) => l !== listener);
  }

  emit(event: FileReady): void {
    for (const l of this.listeners) {
      try {
        const r = l(event);
        if (r && typeof (r as Promise<void>).catch === 'function') {
          (r as Promise<void>).catch((e: unknown) => this.onListenerError(e, event));
        }
      } catch (e) {
        this.onListenerError(e, event);
      }
    }
  }

  /** Number of listeners (for health checks and tests). */
  get listenerCount(): number {
    return this.listeners.length;
  }
}
