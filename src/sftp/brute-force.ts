/**
 * Brute-force defender: after `maxFailures` failed logins from one address within `windowSeconds`, the address
 * is refused for `banSeconds`. State is in memory, per process: a restart forgives, which is the usual trade-off
 * (fail2ban-style tools keep state for longer when operators want it).
 */

export interface BruteForceOptions {
  /** Failed logins that trigger a ban. Default 5. 0 disables the defender. */
  maxFailures: number;
  /** Sliding window in which failures are counted, seconds. Default 300. */
  windowSeconds: number;
  /** How long an address stays banned, seconds. Default 900. */
  banSeconds: number;
}

export const DEFAULT_BRUTE_FORCE: BruteForceOptions = { maxFailures: 5, windowSeconds: 300, banSeconds: 900 };

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class BruteForceDefender {
  private failures = new Map<string, number[]>();
  private bans = new Map<string, number>();

  constructor(
    private readonly opts: BruteForceOptions,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Is the address banned now? */
  isBanned(address: string): boolean {
    const until = this.bans.get(address);
    if (until === undefined) return false;
    if (this.clock.now() < until) return true;
    this.bans.delete(address);
    return false;
  }

  /** Records a failure; returns true when this failure starts a ban. */
  recordFailure(address: string): boolean {
    if (this.opts.maxFailures <= 0) return false;
    const now = this.clock.now();
    const since = now - this.opts.windowSeconds * 1000;
    const list = (this.failures.get(address) ?? []).filter((t) => t > since);
    list.push(now);
    if (list.length >= this.opts.maxFailures) {
      this.failures.delete(address);
      this.bans.set(address, now + this.opts.banSeconds * 1000);
      return true;
    }
    this.failures.set(address, list);
    this.prune(now);
    return false;
  }

  /** A successful login clears the address's failures (not an active ban). */
  recordSuccess(address: string): void {
    this.failures.delete(address);
  }

  /** Keeps memory bounded under a scan from many addresses. */
  private prune(now: number): void {
    if (this.failures.size < 10_000) return;
    const since = now - this.opts.windowSeconds * 1000;
    for (const [addr, list] of this.failures) if (!list.some((t) => t > since)) this.failures.delete(addr);
    for (const [addr, until] of this.bans) if (until <= now) this.bans.delete(addr);
  }
}
