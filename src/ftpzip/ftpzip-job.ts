/**
 * One FTPZIP job (reference §5.7): take the archive out of the customer's reach, read it safely, validate
 * Settings.xml, then by mode:
 * - `save`: create the message from Markup.htm (+ images, attachments);
 * - `full`: the same, import Recipients.csv into `ListId` and a per-job group, then send to the group's
 *   subscribed recipients now or at `ScheduleDateTime` (time zone `ScheduleTimeZone`, default 38 = Europe/Rome);
 * - `send`: send the existing message `ContentOverride/MessageId` (a copy when `CloneMessage`) the same way.
 * Transactional sends (`SendType=transactional`, full or send): the rows of Recipients.csv are mailed at once
 * with their own values, nothing of them imported (ftpzip-transactional.ts).
 * Every job that ends mails its record to `NotifyEmail` (ftpzip-notify.ts).
 *
 * Every run leaves a job record (kind `ftpzip`) and the archive with a result.json in `/import_zip/done/` or
 * `/import_zip/failed/`. A scheduled send ends the intake with the job `queued` (`run_after` = send time) and
 * the plan in its checkpoint; `sendScheduledFtpZip` sends it when the time has come.
 */
import { sendCampaign, sendTransactional, type RenderOptions } from '../email/index.js';
import { DatasyncError, publicError } from '../errors.js';
import { readFileJobInput, startFileJob, takeFileJobInput } from '../jobs/index.js';
import {
  addGroup,
  createMessage,
  createSending,
  findJob,
  findList,
  getMessage,
  updateJob,
  upsertRecipient,
  type JobStatus,
} from '../store/index.js';
import { countSendingOutcomes, updateEmailSending } from '../store/email-sendings.repository.js';
import { buildAttachments, buildHtml, parseRecipientsCsv, requireEntry } from './ftpzip-content.js';
import { FTPZIP_FOLDER, placeArchive, type ArchiveLocation } from './ftpzip-files.js';
import { notifyJobEnd } from './ftpzip-notify.js';
import { checkTransactional, prepareTransactional } from './ftpzip-transactional.js';
import { parseSettingsXml } from './settings-xml.js';
import { scheduleToUtc } from './schedule-time.js';
import type { FtpZipDeps, FtpZipPlan, FtpZipSummary } from './ftpzip-plan.js';
import { DEFAULT_ZIP_LIMITS, FtpZipError, readZipSafely } from './zip-reader.js';

export type { FtpZipCounters, FtpZipDeps, FtpZipOptions, FtpZipSummary } from './ftpzip-plan.js';

const MAX_ATTACHMENTS = 3 * 1024 * 1024;

/** Process one uploaded archive (`file` is a space path such as `/import_zip/campaign.zip`). */
export async function runFtpZip(
  deps: FtpZipDeps & { file: string; accountId: string },
): Promise<FtpZipSummary> {
  const { store, spaces, clock, accountId } = deps;
  const opts = deps.options ?? {};
  const db = store.db;
  const job = await startFileJob<FtpZipPlan>(deps, 'ftpzip', FTPZIP_FOLDER);
  if (job.resume) return resumePlan(deps, job.resume, job.attempt);
  const { loc, spacePath, started } = job;

  const summary: FtpZipSummary = {
    jobId: loc.jobId,
    status: 'running',
    error: null,
    action: null,
    idNl: null,
    idInvio: null,
    send: null,
    sendAt: null,
    counters: { rows: 0, imported: 0, rejected: 0, duplicates: 0, skipped: 0, sent: 0, bounced: 0 },
    rejected: [],
    inputPath: null,
    resultPath: null,
  };
  let procPath: string | null = null;
  let notify: string[] = [];
  try {
    procPath = await takeFileJobInput(spaces, job).catch((e: unknown) => {
      throw new FtpZipError('DS_FTPZIP_UNREADABLE', `${spacePath} cannot be taken for processing`, {
        cause: e,
      });
    });
    await readFileJobInput(db, loc.jobId, procPath);
    const files = await readZipSafely(procPath, opts.limits ?? DEFAULT_ZIP_LIMITS);
    const s = parseSettingsXml(requireEntry(files, 'Settings.xml', 'every archive').content);
    summary.action = s.action;
    notify = s.notifyEmail ? [s.notifyEmail] : [];
    if (!(await findList(db, accountId, s.listId)))
      throw new FtpZipError(
        'DS_FTPZIP_LIST_UNKNOWN',
        `List ${s.listId}, defined in XML file, does not exist`,
      );
    const transactional = s.sendType === 'transactional';
    if (transactional) checkTransactional(s, files);

    // The message: created from the archive (full, save) or an existing one (send), cloned on request.
    let messageNumber: number;
    if (s.action === 'send') {
      const m = await getMessage(db, accountId, 'email', s.messageId!);
      messageNumber = s.cloneMessage
        ? (
            await createMessage(
              db,
              {
                accountId,
                channel: 'email',
                listId: s.listId,
                subject: s.subject ?? m.subject,
                html: m.html,
                text: m.text,
                senderEmail: s.senderEmail ?? m.senderEmail,
                senderName: s.senderName ?? m.senderName,
                replyTo: s.replyTo ?? m.replyTo,
                attachments: m.attachments,
                campaignCode: s.campaignCode ?? m.campaignCode,
              },
              clock.now(),
            )
          ).number
        : m.number;
    } else {
      const markup = requireEntry(files, 'Markup.htm', `mode ${s.action}`);
      const attachments = s.attachments
        ? buildAttachments(files, opts.maxAttachmentBytes ?? MAX_ATTACHMENTS)
        : [];
      if (s.action === 'full' && !s.senderEmail)
        throw new FtpZipError(
          'DS_FTPZIP_XML_MISSING_NODE',
          'Missing Node in Xml File. (FtpZip/Content/SenderEmail)',
        );
      if (!s.embeddedImages && !deps.media)
        throw new FtpZipError(
          'DS_FTPZIP_UNSUPPORTED',
          'this server does not host images (no data directory and public URL given); set EmbeddedImages to true',
        );
      // Last of the checks: hosted images are written to the media store as they are converted.
      const { html, images } = await buildHtml(
        files,
        markup,
        s.embeddedImages ? undefined : { media: deps.media!, accountId },
      );
      const m = await createMessage(
        db,
        {
          accountId,
          channel: 'email',
          listId: s.listId,
          subject: s.subject,
          html,
          senderEmail: s.senderEmail,
          senderName: s.senderName,
          replyTo: s.replyTo,
          attachments: [...images, ...attachments],
          campaignCode: s.campaignCode,
        },
        clock.now(),
      );
      messageNumber = m.number;
    }
    summary.idNl = messageNumber;
    if (s.action === 'save') {
      const saved = await finishIntake(deps, loc, procPath, summary, 'succeeded');
      await notifyJobEnd(deps, loc.jobId, notify, summary.rejected);
      return saved;
    }
    const render: RenderOptions = { dynamicFields: s.dynamicFields, tracking: s.tracking };

    if (transactional) {
      const t = await prepareTransactional(store, accountId, s, files, messageNumber, clock.now());
      Object.assign(summary.counters, { rows: t.rows, duplicates: t.duplicates, skipped: t.skipped });
      summary.counters.rejected = t.rejected.length - t.skipped;
      summary.rejected = t.rejected;
      summary.idInvio = t.sendingNumber;
      const placed = await finishIntake(deps, loc, procPath, summary, 'running');
      procPath = null;
      const stopped = await sendTransactional({
        store,
        sendingId: t.sendingId,
        deliveries: t.deliveries,
        transport: deps.transport,
        links: deps.links,
        rate: opts.rate,
        render,
        clock,
        logger: deps.logger,
      }).then(noStop, stoppedBy);
      return await finishSend(deps, loc, await sendOutcome(deps, placed, t.sendingId, stopped), notify);
    }

    // Recipients: imported into the list (default subscription rules) and gathered in the job's group.
    const csv = parseRecipientsCsv(
      requireEntry(files, 'Recipients.csv', `mode ${s.action}`).content,
      s.separator!,
    );
    summary.counters.rows = csv.rows.length;
    const now = clock.now();
    const group = await addGroup(db, { accountId, listId: s.listId, name: `FTPZIP ${loc.jobId}` });
    await db.transaction().execute(async (trx) => {
      for (const r of csv.rows) {
        try {
          await upsertRecipient(
            trx,
            {
              accountId,
              email: r.email,
              fields: r.fields,
              listId: s.listId,
              channels: ['email'],
              groupIds: [group.id],
            },
            now,
          );
          summary.counters.imported++;
        } catch (e) {
          if (!(e instanceof DatasyncError)) throw e;
          summary.rejected.push({ line: r.line, code: e.code, reason: `line ${r.line}: ${e.message}` });
        }
      }
    });
    summary.counters.rejected = summary.rejected.length;
    if (summary.counters.imported === 0)
      throw new FtpZipError('DS_FTPZIP_RECIPIENTS_INVALID', 'Recipients.csv has no valid recipient row');

    const sendAt = s.scheduleDateTime ? scheduleToUtc(s.scheduleDateTime, s.scheduleTimeZone) : null;
    const future = sendAt && sendAt.getTime() > clock.now().getTime() ? sendAt : null; // past ⇒ now (§5.5)
    const sending = await createSending(
      db,
      {
        accountId,
        channel: 'email',
        messageNumber,
        groupId: group.id,
        scheduledAt: future?.toISOString() ?? null,
      },
      clock.now(),
    );
    await updateEmailSending(db, sending.id, { counters: { jobId: loc.jobId } });
    summary.idInvio = sending.number;
    if (future) {
      summary.send = 'scheduled';
      summary.sendAt = future.toISOString();
      const plan: FtpZipPlan = { v: 1, loc, sendingId: sending.id, render, summary, notify };
      await updateJob(db, loc.jobId, { checkpoint_json: JSON.stringify(plan), run_after: summary.sendAt });
      return await finishIntake(deps, loc, procPath, summary, 'queued');
    }
    const placed = await finishIntake(deps, loc, procPath, summary, 'running');
    procPath = null;
    const plan: FtpZipPlan = { v: 1, loc, sendingId: sending.id, render, summary: placed, notify };
    // Kept before the first message goes out, so a stopped send can be resumed rather than run again.
    await updateJob(db, loc.jobId, { checkpoint_json: JSON.stringify(plan) });
    return await sendPlan(deps, plan);
  } catch (e) {
    if (!(e instanceof DatasyncError)) deps.logger.error({ err: e, jobId: loc.jobId }, 'ftpzip job failed');
    summary.error = publicError(e);
    summary.status = 'failed';
    const ended = clock.now().toISOString();
    const files = await placeArchive(spaces, loc, procPath, 'failed', resultOf(summary, started, ended));
    summary.inputPath = files.inputPath;
    summary.resultPath = files.resultPath;
    await updateJob(db, loc.jobId, {
      status: 'failed',
      error_code: summary.error.code,
      error_message: summary.error.message,
      counters_json: JSON.stringify(summary.counters),
      result_json: JSON.stringify({ resultPath: files.resultPath, inputPath: files.inputPath }),
      input_path: files.inputPath,
      ended_at: ended,
    });
    await notifyJobEnd(deps, loc.jobId, notify, summary.rejected);
    return summary;
  }
}

function resultOf(s: FtpZipSummary, startedAt: Date, endedAt: string | null) {
  return { kind: 'ftpzip', ...s, startedAt: startedAt.toISOString(), endedAt };
}

/**
 * The archive is processed (message and recipients are in): it goes to done/ with a result.json. `status`
 * `running` means the send follows; `queued` a scheduled send; `succeeded` a save.
 */
async function finishIntake(
  deps: FtpZipDeps,
  loc: ArchiveLocation,
  procPath: string,
  summary: FtpZipSummary,
  status: JobStatus,
): Promise<FtpZipSummary> {
  const db = deps.store.db;
  summary.status =
    status === 'running' ? 'running' : status === 'succeeded' && summary.rejected.length ? 'partial' : status;
  const ended = status === 'succeeded' ? deps.clock.now().toISOString() : null;
  const job = await findJob(db, loc.jobId);
  const files = await placeArchive(
    deps.spaces,
    loc,
    procPath,
    'done',
    resultOf(summary, new Date(job?.startedAt ?? deps.clock.now()), ended),
  );
  summary.inputPath = files.inputPath;
  summary.resultPath = files.resultPath;
  await updateJob(db, loc.jobId, {
    status: summary.status,
    counters_json: JSON.stringify(summary.counters),
    result_json: JSON.stringify({
      resultPath: files.resultPath,
      inputPath: files.inputPath,
      idNl: summary.idNl,
      idInvio: summary.idInvio,
    }),
    input_path: files.inputPath,
    ...(ended ? { ended_at: ended } : {}),
  });
  return summary;
}

/**
 * The send of a plan whose intake is done, as far as the sending's state allows: a scheduled send keeps
 * waiting for its time; anything else is sent, and sendCampaign skips every recipient that already has a
 * `sent` or `bounce` event of this sending, so nobody gets the message twice.
 */
async function resumePlan(deps: FtpZipDeps, plan: FtpZipPlan, attempt: number): Promise<FtpZipSummary> {
  const db = deps.store.db;
  const started = deps.clock.now().toISOString();
  await updateJob(db, plan.loc.jobId, { status: 'running', started_at: started, attempts: attempt });
  // The summary as the intake left it, now this job's (a retry's plan was copied from the stopped job).
  const summary: FtpZipSummary = {
    ...plan.summary,
    jobId: plan.loc.jobId,
    status: 'running',
    error: null,
    ...(plan.resumes ? { resumes: plan.resumes } : {}),
  };
  const sending = await db
    .selectFrom('sendings')
    .select(['status', 'scheduled_at'])
    .where('id', '=', plan.sendingId)
    .executeTakeFirst();
  if (sending?.status === 'queued' && sending.scheduled_at) {
    summary.status = 'queued';
    await updateJob(db, plan.loc.jobId, { status: 'queued', run_after: sending.scheduled_at });
    return summary;
  }
  return sendPlan(deps, { ...plan, summary });
}

/** Send a scheduled FTPZIP campaign whose time has come (the worker's timer calls it; see docs/ftpzip.md). */
export async function sendScheduledFtpZip(deps: FtpZipDeps & { jobId: string }): Promise<FtpZipSummary> {
  const job = await findJob(deps.store.db, deps.jobId);
  if (!job || job.kind !== 'ftpzip' || !job.checkpoint)
    throw new DatasyncError(
      'DS_JOB_NOT_FOUND',
      `job ${deps.jobId} is not an FTPZIP job with a scheduled send`,
    );
  return sendPlan(deps, job.checkpoint as unknown as FtpZipPlan);
}

async function sendPlan(deps: FtpZipDeps, plan: FtpZipPlan): Promise<FtpZipSummary> {
  const db = deps.store.db;
  const summary = plan.summary;
  await updateJob(db, plan.loc.jobId, { status: 'running', run_after: null });
  const stopped = await sendCampaign({
    store: deps.store,
    sendingId: plan.sendingId,
    transport: deps.transport,
    links: deps.links,
    rate: deps.options?.rate,
    render: plan.render,
    clock: deps.clock,
    logger: deps.logger,
  }).then(noStop, stoppedBy);
  return finishSend(
    deps,
    plan.loc,
    await sendOutcome(deps, summary, plan.sendingId, stopped),
    plan.notify ?? [],
  );
}

const noStop = () => null;
const stoppedBy = (error: unknown) => ({ error });

/**
 * The summary after a send ended (`stopped`: what stopped it, if anything). `sent` and `bounced` are the
 * sending's, counted from its events (the same for a stopped send as for a finished one): a job whose send
 * stopped reports the messages that went out before it stopped, and the job that resumes it (`jobs retry`,
 * a worker taking it over) reports every message of the campaign, as a resumed CSV2SMS send does.
 */
async function sendOutcome(
  deps: FtpZipDeps,
  summary: FtpZipSummary,
  sendingId: number,
  stopped: { error: unknown } | null,
): Promise<FtpZipSummary> {
  Object.assign(summary.counters, await countSendingOutcomes(deps.store.db, sendingId));
  if (stopped) {
    summary.error = publicError(stopped.error);
    summary.status = 'failed';
  } else {
    summary.send = 'sent';
    summary.status = summary.rejected.length || summary.counters.bounced ? 'partial' : 'succeeded';
  }
  return summary;
}

/** After a send (massive or transactional): result.json rewritten, the job closed, NotifyEmail told. */
async function finishSend(
  deps: FtpZipDeps,
  loc: ArchiveLocation,
  summary: FtpZipSummary,
  notify: string[],
): Promise<FtpZipSummary> {
  const db = deps.store.db;
  const ended = deps.clock.now().toISOString();
  // Rewrite result.json with the send's outcome (the archive is already in done/).
  const job = await findJob(db, loc.jobId);
  const files = await placeArchive(
    deps.spaces,
    loc,
    null,
    'done',
    resultOf(summary, new Date(job?.startedAt ?? ended), ended),
  );
  summary.resultPath = files.resultPath;
  await updateJob(db, loc.jobId, {
    status: summary.status,
    error_code: summary.error?.code ?? null,
    error_message: summary.error?.message ?? null,
    counters_json: JSON.stringify(summary.counters),
    ended_at: ended,
  });
  await notifyJobEnd(deps, loc.jobId, notify, summary.rejected);
  return summary;
}
