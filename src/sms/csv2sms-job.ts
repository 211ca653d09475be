/**
 * A CSV2SMS job (reference §4.6): take the file, validate header and messages, import the numbers into the
 * list (default subscription rules, SMS channel), create the campaign (idSMS) and its sending (idInvio), then
 * send now, wait for the scheduled time, or only queue (action `A`).
 *
 * One job record covers the whole life: intake → `running`; a scheduled send waits as `queued` with
 * `run_after` = send time, and `sendScheduledSms` runs it; the end status is `succeeded`, `partial` (rows
 * rejected or refused), `failed`, or `skipped` (the non-duplication code was used before). The outbox (rendered
 * messages) lives in the job's checkpoint, written once at intake in the transaction that imports the numbers
 * and claims the code: either all of it happened or none.
 */
import { DatasyncError, ImportFileError, publicError } from '../errors.js';
import { readFileJobInput, startFileJob, takeFileJobInput } from '../jobs/index.js';
import {
  findJob,
  findList,
  getAccount,
  normalizeMobile,
  updateJob,
  upsertRecipient,
  type JobStatus,
} from '../store/index.js';
import {
  claimSmsCode,
  countSmsSendingOutcomes,
  createSmsCampaign,
  findSmsCode,
  findSmsSending,
  findSmsSubscriptionStates,
  updateSmsSending,
  type SmsSendingCounters,
} from '../store/sms-campaigns.repository.js';
import { campaignName, parseCsv2SmsFile, zonedTimeToUtc } from './csv2sms-header.js';
import { parseCsv2SmsMessages } from './csv2sms-messages.js';
import {
  CSV2SMS_FOLDER,
  outputPaths,
  placeInput,
  writeResultFiles,
  type RejectedLine,
} from './csv2sms-files.js';
import { DeliveryReportRecorder } from './delivery-report.js';
import { sendOutbox, type OutboxItem } from './sms-sender.js';
import { finish } from './csv2sms-finish.js';
import { emptyCounters, type Csv2SmsDeps, type Csv2SmsPlan, type Csv2SmsSummary } from './csv2sms-plan.js';

/** Process one uploaded CSV2SMS file (`file` is a space path such as `/sms/offers.csv`). */
export async function runCsv2Sms(
  deps: Csv2SmsDeps & { file: string; accountId: string },
): Promise<Csv2SmsSummary> {
  const { store, spaces, clock, accountId } = deps;
  const opts = deps.options ?? {};
  const db = store.db;
  const job = await startFileJob<Csv2SmsPlan>(deps, 'csv2sms', CSV2SMS_FOLDER);
  if (job.resume) return resumePlan(deps, job.resume, job.attempt);
  const { loc, spacePath, started } = job;

  let procPath: string | null = null;
  let counters = emptyCounters();
  let rejections: RejectedLine[] = [];
  let columns: string[] = [];
  let eol: '\n' | '\r\n' = '\r\n';
  /** The plan, once the intake transaction committed it. */
  let kept: Csv2SmsPlan | null = null;
  try {
    procPath = await takeFileJobInput(spaces, job).catch((e: unknown) => {
      throw new ImportFileError('DS_IMPORT_FILE_UNREADABLE', `${spacePath} cannot be taken for processing`, {
        cause: e,
      });
    });
    const content = await readFileJobInput(db, loc.jobId, procPath);
    eol = content.includes('\r\n') ? '\r\n' : '\n';

    const split = parseCsv2SmsFile(content);
    const h = split.header;
    const account = await getAccount(db, accountId);
    const listId = h.listId ?? opts.defaultListId ?? 1;
    const list = await findList(db, accountId, listId);
    if (!list)
      throw new ImportFileError(
        'DS_LIST_UNKNOWN',
        h.listId === null
          ? `header row 5: empty, and the default list ${listId} does not exist in the account`
          : `header row 5: list ${listId} does not exist in the account`,
        { details: { line: 5 } },
      );
    if (h.code) {
      const used = await findSmsCode(db, accountId, h.code);
      if (used) throw duplicateCode(h.code, `job ${used.jobId}`);
    }
    let sendAt: Date | null = null;
    if (h.action === 'send' && h.sendAtLocal) {
      const t = zonedTimeToUtc(h.sendAtLocal, account.timeZone);
      if (t.getTime() > clock.now().getTime()) sendAt = t; // empty or past ⇒ now (reference §4.4)
    }

    const parsed = parseCsv2SmsMessages(split.body, split.bodyFirstLine, {
      maxSegments: opts.maxSegments ?? 3,
      normalizeMobile: (raw) => {
        const bare = /^[0-9]+$/.test(raw.replace(/[\s\-().]/g, ''));
        // International digits are the documented form; a list prefix or the account's country reads local ones.
        return (
          normalizeMobile({ number: raw, defaultPrefix: list.mobilePrefix }) ??
          (bare ? normalizeMobile({ number: '+' + raw.replace(/[\s\-().]/g, '') }) : null) ??
          normalizeMobile({ number: raw, defaultCountry: account.defaultCountry })
        );
      },
    });
    columns = parsed.columns.names;
    rejections = parsed.rejected.map((r) => ({
      line: r.line,
      cells: r.cells,
      code: r.code,
      reason: r.reason,
    }));
    counters = {
      ...emptyCounters(),
      rows: parsed.rows,
      accepted: parsed.messages.length,
      rejected: parsed.rejected.length,
    };
    if (parsed.messages.length === 0)
      throw new ImportFileError(
        'DS_SMS_NO_MESSAGES',
        `none of the ${parsed.rows} message row(s) can be sent; the reasons are in the rejected-rows file`,
      );

    const campaign = campaignName(h, listId);
    const now = clock.now();
    // Where the file goes once its numbers are imported, named before the transaction so the plan holds it.
    const done = await outputPaths(spaces, loc, 'done');
    const plan = await db.transaction().execute(async (trx) => {
      if (h.code && !(await claimSmsCode(trx, accountId, h.code, loc.jobId, now)))
        throw duplicateCode(h.code, 'another job'); // a concurrent file claimed it first (no query: the trx is dead on PostgreSQL)
      const ids: number[] = [];
      for (const m of parsed.messages) {
        const r = await upsertRecipient(
          trx,
          { accountId, mobile: '+' + m.mobile, listId, channels: ['sms'] },
          now,
        );
        ids.push(r.recipient.id);
        if (r.created) counters.recipientsCreated++;
      }
      const states = await findSmsSubscriptionStates(trx, listId, [...new Set(ids)]);
      const outbox: OutboxItem[] = [];
      parsed.messages.forEach((m, i) => {
        const st = states.get(ids[i]!);
        if (st !== 'subscribed') {
          counters.skippedUnsubscribed++;
          rejections.push({
            line: m.line,
            cells: m.cells,
            code: 'DS_SMS_UNSUBSCRIBED',
            reason: `line ${m.line}: ${m.mobile} is ${st ?? 'not subscribed'} on the SMS channel of list ${listId}, not messaged`,
          });
        } else
          outbox.push({ l: m.line, r: ids[i]!, m: m.mobile, t: m.text, u: m.encoding === 'ucs2' ? 1 : 0 });
      });
      counters.toSend = outbox.length;
      const c = await createSmsCampaign(
        trx,
        {
          accountId,
          listId,
          campaign,
          sender: h.sender,
          text: parsed.messages[0]!.cells[parsed.columns.text] ?? null,
          code: h.code,
          status: h.action === 'queue' ? 'queued' : sendAt ? 'scheduled' : 'sending',
          scheduledAt: sendAt?.toISOString() ?? null,
          jobId: loc.jobId,
          total: outbox.length,
        },
        now,
      );
      const p: Csv2SmsPlan = {
        v: 1,
        loc,
        inputPath: `${done.spaceDir}/${done.base}`,
        eol,
        columns,
        header: h,
        listId,
        campaign,
        messageId: c.messageId,
        idSMS: c.messageNumber,
        sendingId: c.sendingId,
        idInvio: c.sendingNumber,
        sendAt: sendAt?.toISOString() ?? null,
        counters,
        rejections,
        outbox,
      };
      // Kept in the transaction that imports the numbers and creates the campaign: a job whose intake
      // committed always has its plan to resume from, and one whose plan could not be kept imported nothing
      // (claimed no code), so running its file again is safe.
      await updateJob(trx, loc.jobId, {
        checkpoint_json: JSON.stringify(p),
        counters_json: JSON.stringify(counters),
      });
      return p;
    });
    kept = plan;
    // The numbers are imported: the file is done whatever happens to the send, which can be resumed.
    await placeInput(spaces, loc, procPath, 'done');
    procPath = null;
    await updateJob(db, loc.jobId, { input_path: plan.inputPath });
    if (h.action === 'queue' || sendAt) {
      const status: JobStatus = h.action === 'queue' ? 'succeeded' : 'queued';
      return await finish(deps, plan, {
        status,
        send: h.action === 'queue' ? 'queued' : 'scheduled',
        error: null,
        runAfter: sendAt?.toISOString() ?? null,
        ended: h.action === 'queue',
      });
    }
    return await sendPlan(deps, plan);
  } catch (e) {
    if (!(e instanceof DatasyncError)) deps.logger.error({ err: e, jobId: loc.jobId }, 'csv2sms job failed');
    if (kept) return await stoppedAfterIntake(deps, kept, procPath, e);
    const err = publicError(e);
    const status: JobStatus = err.code === 'DS_SMS_DUPLICATE_CODE' ? 'skipped' : 'failed';
    const inputPath = procPath ? await placeInput(spaces, loc, procPath, 'failed') : null;
    const ended = clock.now().toISOString();
    const result = {
      jobId: loc.jobId,
      kind: 'csv2sms',
      file: loc.name,
      status,
      error: err,
      counters,
      startedAt: started.toISOString(),
      endedAt: ended,
    };
    const files = inputPath
      ? await writeResultFiles(spaces, loc, 'failed', result, { columns, rows: rejections, eol })
      : { resultPath: null, rejectedPath: null };
    await updateJob(db, loc.jobId, {
      status,
      error_code: err.code,
      error_message: err.message,
      counters_json: JSON.stringify(counters),
      result_json: JSON.stringify({ ...files, inputPath }),
      input_path: inputPath,
      ended_at: ended,
    });
    return {
      jobId: loc.jobId,
      status,
      error: err,
      send: null,
      sendAt: null,
      idSMS: null,
      idInvio: null,
      counters,
      inputPath,
      ...files,
    };
  }
}

/**
 * The send of a plan whose intake is done, as far as the sending's state allows: a send waiting for its time
 * (or for a user, action A) keeps waiting; anything else is sent, and sendOutbox skips every recipient that
 * already has an event of this sending, so nobody gets the message twice.
 */
async function resumePlan(deps: Csv2SmsDeps, plan: Csv2SmsPlan, attempt: number): Promise<Csv2SmsSummary> {
  const started = deps.clock.now().toISOString();
  await updateJob(deps.store.db, plan.loc.jobId, {
    status: 'running',
    started_at: started,
    attempts: attempt,
  });
  return continuePlan(deps, plan);
}

/** The send of a kept plan as its sending's state allows (see {@link resumePlan}). */
async function continuePlan(deps: Csv2SmsDeps, plan: Csv2SmsPlan): Promise<Csv2SmsSummary> {
  const sending = await findSmsSending(deps.store.db, plan.sendingId);
  if (sending?.status === 'scheduled')
    return finish(deps, plan, {
      status: 'queued',
      send: 'scheduled',
      error: null,
      runAfter: sending.scheduledAt,
      ended: false,
    });
  if (sending?.status === 'queued')
    return finish(deps, plan, {
      status: 'succeeded',
      send: 'queued',
      error: null,
      runAfter: null,
      ended: true,
    });
  return sendPlan(deps, plan);
}

/**
 * A failure after the intake committed (a file move or a database write between the intake and the send, or
 * the send's own bookkeeping): the numbers are imported and the plan is kept, so the file goes to done/ as
 * the plan says, and the job ends as its sending's state allows. A send that was to start now, or had started,
 * is a stopped send (sending `failed`) that `jobs retry` resumes without messaging anyone twice; a scheduled
 * or queued (action A) one waits as it would have, and a sent one gets its ending written again (sendOutbox
 * skips every number that has its event). Should this fail too, the error reaches the worker, whose next
 * attempt resumes from the plan.
 */
async function stoppedAfterIntake(
  deps: Csv2SmsDeps,
  plan: Csv2SmsPlan,
  procPath: string | null,
  e: unknown,
): Promise<Csv2SmsSummary> {
  const db = deps.store.db;
  if (procPath) await placeInput(deps.spaces, plan.loc, procPath, 'done');
  await updateJob(db, plan.loc.jobId, { input_path: plan.inputPath });
  const sending = await findSmsSending(db, plan.sendingId);
  if (sending?.status !== 'sending' && sending?.status !== 'failed') return continuePlan(deps, plan);
  await updateSmsSending(db, plan.sendingId, { status: 'failed' });
  await countRecordedOutcomes(db, plan);
  return finish(deps, plan, {
    status: 'failed',
    send: 'stopped',
    error: publicError(e),
    runAfter: null,
    ended: true,
  });
}

/**
 * The plan's sent / refused / parts as the sending's events say, for every run of the send: not what one run
 * counted in memory (a failed commit leaves submits it counted unrecorded, and a failure before the run's end
 * leaves the plan with what the intake counted), so the job's counters match its result rows, which come from
 * the same events.
 */
async function countRecordedOutcomes(db: Csv2SmsDeps['store']['db'], plan: Csv2SmsPlan): Promise<void> {
  const c = await countSmsSendingOutcomes(db, plan.sendingId);
  plan.counters = { ...plan.counters, sent: c.sent, refused: c.refused, parts: c.parts };
}

function duplicateCode(code: string, jobId: string): DatasyncError {
  return new ImportFileError(
    'DS_SMS_DUPLICATE_CODE',
    `header row 7: the non-duplication code "${code}" was already used (${jobId}); the file is skipped`,
    { details: { line: 7, code, jobId } },
  );
}

/**
 * Send a CSV2SMS job's campaign: the scheduler calls it when `run_after` has come (a scheduled send), an
 * operator for a queued one (action A), and anyone to resume a stopped one. Refuses a send already finished,
 * and a scheduled one before its time unless `force`.
 */
export async function sendScheduledSms(
  deps: Csv2SmsDeps & { jobId: string; force?: boolean },
): Promise<Csv2SmsSummary> {
  const job = await findJob(deps.store.db, deps.jobId);
  if (!job || job.kind !== 'csv2sms' || !job.checkpoint)
    throw new DatasyncError(
      'DS_JOB_NOT_FOUND',
      `job ${deps.jobId} is not a CSV2SMS job with a prepared send`,
    );
  const plan = job.checkpoint as unknown as Csv2SmsPlan;
  const sending = await findSmsSending(deps.store.db, plan.sendingId);
  if (!sending || sending.status === 'sent')
    throw new DatasyncError(
      'DS_SMS_SEND_STATE',
      `the sending ${plan.idInvio} of job ${job.id} was already sent`,
    );
  if (sending.counters.jobId && sending.counters.jobId !== job.id)
    throw new DatasyncError(
      'DS_SMS_SEND_STATE',
      `the sending ${plan.idInvio} of job ${job.id} was taken over by job ${sending.counters.jobId} (jobs retry)`,
    );
  if (
    sending.status === 'scheduled' &&
    !deps.force &&
    sending.scheduledAt &&
    sending.scheduledAt > deps.clock.now().toISOString()
  )
    throw new DatasyncError(
      'DS_SMS_SEND_STATE',
      `the sending ${plan.idInvio} is scheduled for ${sending.scheduledAt}`,
    );
  return sendPlan(deps, plan);
}

async function sendPlan(deps: Csv2SmsDeps, plan: Csv2SmsPlan): Promise<Csv2SmsSummary> {
  const { store, clock, provider } = deps;
  const db = store.db;
  const sending = (await findSmsSending(db, plan.sendingId))!;
  await updateJob(db, plan.loc.jobId, { status: 'running', run_after: null });
  await updateSmsSending(db, plan.sendingId, {
    status: 'sending',
    startedAt: sending.startedAt ?? clock.now().toISOString(),
  });
  const own = deps.reports ? null : new DeliveryReportRecorder(db, () => clock.now());
  const detach = own ? provider.onDeliveryReport(own.listener) : null;
  let outcome: Awaited<ReturnType<typeof sendOutbox>>;
  try {
    await provider.start();
    outcome = await sendOutbox({
      store,
      provider,
      target: {
        accountId: plan.loc.accountId,
        listId: plan.listId,
        messageId: plan.messageId,
        sendingId: plan.sendingId,
        sender: plan.header.sender,
        senderKind: plan.header.senderKind,
      },
      outbox: plan.outbox,
      counters: sending.counters as SmsSendingCounters,
      clock,
      logger: deps.logger,
      recorder: deps.reports ?? own ?? undefined,
      commitEvery: deps.options?.commitEvery,
    });
  } catch (e) {
    outcome = { counters: sending.counters, error: e };
  } finally {
    await own?.flush();
    detach?.();
  }
  await countRecordedOutcomes(db, plan);
  const counters = plan.counters;
  const ended = clock.now().toISOString();
  if (outcome.error) {
    const err = publicError(outcome.error);
    if (!(outcome.error instanceof DatasyncError))
      deps.logger.error({ err: outcome.error, jobId: plan.loc.jobId }, 'csv2sms send stopped');
    await updateSmsSending(db, plan.sendingId, { status: 'failed' });
    return finish(deps, plan, { status: 'failed', send: 'stopped', error: err, runAfter: null, ended: true });
  }
  await updateSmsSending(db, plan.sendingId, { status: 'sent', endedAt: ended });
  const partial = counters.rejected > 0 || counters.refused > 0;
  return finish(deps, plan, {
    status: partial ? 'partial' : 'succeeded',
    send: 'sent',
    error: null,
    runAfter: null,
    ended: true,
  });
}
