/**
 * The end-of-job alert of reference §5.8: every FTPZIP job that ends (succeeded, partial, failed — a scheduled
 * send notifies when it is sent, not when it is queued) mails its job record to `Header/NotifyEmail`. The
 * account model has no admin address, so NotifyEmail is the only recipient; an archive that fails before its
 * Settings.xml is read has none, and its outcome is in the job record and result.json only.
 * Delivery goes through the jobs' Notifier (email via the configured SMTP server, logged in
 * `notification_deliveries`); a failed notification never fails the job.
 */
import type { Notifier } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import { findJob, type Store } from '../store/index.js';

/** The part of the jobs' Notifier an FTPZIP job uses. */
export type FtpZipNotifier = Pick<Notifier, 'notify'>;

export async function notifyJobEnd(
  deps: { store: Store; logger: Logger; notifier?: FtpZipNotifier },
  jobId: string,
  to: string[],
  rejected: Array<{ line: number; code: string; reason: string }>,
): Promise<void> {
  if (!deps.notifier || to.length === 0) return;
  try {
    const job = await findJob(deps.store.db, jobId);
    if (!job) return;
    await deps.notifier.notify(
      job,
      { on: ['succeeded', 'partial', 'failed'], email: [...new Set(to)], webhooks: [] },
      rejected,
    );
  } catch (err) {
    deps.logger.error({ err, jobId }, 'ftpzip notification failed');
  }
}
