/**
 * The scheduler: turns instance schedules into queued runs. Every node may run it; each slot (instance +
 * instant) is enqueued once because the queue dedupes on `schedule:<instance>:<slot>` (a unique index in the
 * table queue; pg-boss's primary key on a derived job id). The last slot per instance is kept in
 * `job_schedules`, so after downtime the scheduler knows what it missed and applies the instance's catch-up
 * policy: `once` runs the latest missed slot once, `skip` waits for the next one.
 *
 * Time comes from the injected Clock; `tick()` is the whole algorithm, the timer only calls it, so tests
 * drive schedules by moving a ManualClock and calling `tick()`.
 */
import type { Kysely } from 'kysely';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Database, InstanceKind } from '../store/index.js';
import type { JobQueue } from './job-queue.js';
import { enqueueScheduledRun } from './job-records.js';
import { nextRunTimes, runTimesBetween, type CatchUpPolicy } from './schedule.js';

/** One scheduled instance, as the scheduler needs it. */
export interface ScheduledInstance {
  instanceId: string;
  accountId: string;
  kind: InstanceKind;
  cron: string;
  timeZone: string;
  catchUp: CatchUpPolicy;
}

export interface SchedulerOptions {
  db: Kysely<Database>;
  queue: JobQueue;
  /** The enabled instances that have a schedule (read at every tick, so edits apply without a restart). */
  instances: () => Promise<ScheduledInstance[]>;
  clock?: Clock;
  log?: Logger;
  /** Seconds between ticks of `start()`. Default 15. */
  tickSeconds?: number;
  /** A slot this many seconds late is "on time", not "missed" (covers tick delay). Default 120. */
  graceSeconds?: number;
  /** Called after a run was enqueued by this node (wake local workers). */
  onFired?: (run: FiredRun) => void;
}

export interface FiredRun {
  instanceId: string;
  slot: Date;
  /** null when another node fired the slot first. */
  jobId: string | null;
  /** `on-time` or `catch-up` (a slot missed while down). */
  reason: 'on-time' | 'catch-up';
}

export class Scheduler {
  private readonly clock: Clock;
  private timer?: NodeJS.Timeout;
  private ticking?: Promise<FiredRun[]>;

  constructor(private readonly opts: SchedulerOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Ticks now and then every `tickSeconds`. Idempotent. */
  start(): void {
    if (this.timer) return;
    const run = () =>
      void this.tick().catch((err: unknown) => this.opts.log?.error({ err }, 'scheduler tick failed'));
    run();
    this.timer = setInterval(run, (this.opts.tickSeconds ?? 15) * 1000);
    this.timer.unref();
  }

  /** Stops ticking and waits for a tick in progress. Idempotent. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking?.catch(() => {});
  }

  /** Fires every due slot once; ticks never overlap in one process. */
  tick(): Promise<FiredRun[]> {
    const t = (this.ticking ?? Promise.resolve([])).catch(() => []).then(() => this.doTick());
    this.ticking = t;
    return t;
  }

  private async doTick(): Promise<FiredRun[]> {
    const now = this.clock.now();
    const db = this.opts.db;
    const fired: FiredRun[] = [];
    for (const inst of await this.opts.instances()) {
      try {
        const state = await db
          .selectFrom('job_schedules')
          .selectAll()
          .where('instance_id', '=', inst.instanceId)
          .executeTakeFirst();
        if (!state || state.cron !== inst.cron || state.time_zone !== inst.timeZone || !state.last_slot) {
          // A new or changed schedule starts from now: its past is not "missed".
          await this.saveSlot(inst, now, !state);
          continue;
        }
        const due = runTimesBetween(inst.cron, inst.timeZone, new Date(state.last_slot), now);
        const latest = due.at(-1);
        if (!latest) continue;
        const late = (now.getTime() - latest.getTime()) / 1000 > (this.opts.graceSeconds ?? 120);
        if (!late || inst.catchUp === 'once') {
          // Whatever the number of missed slots, one run: the job reads data up to now anyway.
          const jobId = await enqueueScheduledRun(
            this.opts.db,
            this.opts.queue,
            { accountId: inst.accountId, instanceId: inst.instanceId, kind: inst.kind, slot: latest },
            now,
          );
          const run: FiredRun = {
            instanceId: inst.instanceId,
            slot: latest,
            jobId,
            reason: late ? 'catch-up' : 'on-time',
          };
          fired.push(run);
          if (jobId) {
            this.opts.log?.info({ ...run, missed: due.length - 1 }, 'scheduled run queued');
            this.opts.onFired?.(run);
          }
        } else {
          this.opts.log?.info(
            { instanceId: inst.instanceId, missed: due.length },
            'missed runs skipped (catchUp: skip)',
          );
        }
        await this.saveSlot(inst, latest, false);
      } catch (err) {
        this.opts.log?.error({ err, instanceId: inst.instanceId }, 'scheduling failed for instance');
      }
    }
    return fired;
  }

  private async saveSlot(inst: ScheduledInstance, slot: Date, insert: boolean): Promise<void> {
    const db = this.opts.db;
    const values = {
      cron: inst.cron,
      time_zone: inst.timeZone,
      last_slot: slot.toISOString(),
      updated_at: this.clock.now().toISOString(),
    };
    if (insert) {
      await db
        .insertInto('job_schedules')
        .values({ instance_id: inst.instanceId, ...values })
        .onConflict((oc) => oc.column('instance_id').doNothing())
        .execute();
      return;
    }
    // Only forward: another node may have saved a later slot already.
    await db
      .updateTable('job_schedules')
      .set(values)
      .where('instance_id', '=', inst.instanceId)
      .where((eb) =>
        eb.or([
          eb('last_slot', 'is', null),
          eb('last_slot', '<', values.last_slot),
          eb('cron', '!=', inst.cron),
          eb('time_zone', '!=', inst.timeZone),
        ]),
      )
      .execute();
  }
}

/** Next run times of a schedule, for `datasync instances list` and the API. */
export function nextRunsOf(s: { cron: string; timeZone: string }, from: Date, count = 1): string[] {
  return nextRunTimes(s.cron, s.timeZone, from, count).map((d) => d.toISOString());
}
