/**
 * The end of each CSV2SMS stage: result.json (one entry per row, sent/refused taken from the events so a
 * resumed send reports every row once), rejected.csv, and the job record.
 */
import { findJob, updateJob, type JobStatus } from '../store/index.js';
import { listSmsSendingEvents } from '../store/sms-campaigns.repository.js';
import { writeResultFiles } from './csv2sms-files.js';
import type { Csv2SmsDeps, Csv2SmsPlan, Csv2SmsSummary } from './csv2sms-plan.js';

/** Write result files and the job record for the plan's current state. */
export async function finish(
  deps: Csv2SmsDeps,
  plan: Csv2SmsPlan,
  s: {
    status: JobStatus;
    send: Csv2SmsSummary['send'];
    error: { code: string; message: string } | null;
    runAfter: string | null;
    ended: boolean;
  },
): Promise<Csv2SmsSummary> {
  const { store, spaces, clock } = deps;
  const job = await findJob(store.db, plan.loc.jobId);
  const ended = clock.now().toISOString();
  // Per-row outcome: sent / refused come from the events, so a resumed send reports every row once.
  const byRecipient = new Map<
    number,
    { kind: string; code: string | null; detail: string | null; id: string | null }
  >();
  if (s.send === 'sent' || s.send === 'stopped')
    for (const e of await listSmsSendingEvents(store.db, plan.sendingId))
      if (e.recipientId !== null && (e.kind === 'sent' || e.code === 'NACK'))
        byRecipient.set(e.recipientId, {
          kind: e.kind,
          code: e.code,
          detail: e.detail,
          id: e.providerMessageId,
        });
  const rows: Record<string, unknown>[] = [];
  const rejected = [...plan.rejections];
  for (const o of plan.outbox) {
    const ev = byRecipient.get(o.r);
    if (ev?.kind === 'sent')
      rows.push({
        line: o.l,
        mobile: o.m,
        outcome: 'sent',
        providerMessageId: ev.id,
        parts: Number(ev.detail?.split(':')[1]),
      });
    else if (ev) {
      const reason = `line ${o.l}: ${ev.detail ?? 'refused by the provider'}`;
      rows.push({ line: o.l, mobile: o.m, outcome: 'refused', code: 'DS_SMS_SUBMIT_REJECTED', reason });
      rejected.push({ line: o.l, cells: [], code: 'DS_SMS_SUBMIT_REJECTED', reason });
    } else
      rows.push({ line: o.l, mobile: o.m, outcome: s.send === 'sent' ? 'unsent' : (s.send ?? 'pending') });
  }
  for (const r of plan.rejections)
    rows.push({
      line: r.line,
      outcome: r.code === 'DS_SMS_UNSUBSCRIBED' ? 'skipped' : 'rejected',
      code: r.code,
      reason: r.reason,
    });
  rows.sort((a, b) => (a.line as number) - (b.line as number));
  const result = {
    jobId: plan.loc.jobId,
    kind: 'csv2sms',
    file: plan.loc.name,
    status: s.status,
    error: s.error,
    action: plan.header.action,
    send: s.send,
    sendAt: plan.sendAt,
    listId: plan.listId,
    campaign: plan.campaign,
    sender: plan.header.sender,
    code: plan.header.code,
    idSMS: plan.idSMS,
    idInvio: plan.idInvio,
    ...(plan.resumes ? { resumes: plan.resumes, inputPath: plan.inputPath } : {}),
    counters: plan.counters,
    startedAt: job?.startedAt ?? null,
    endedAt: s.ended ? ended : null,
    rows,
  };
  // Refused rows need their input cells for rejected.csv: fill them from the plan's outbox text.
  const files = await writeResultFiles(spaces, plan.loc, 'done', result, {
    columns: plan.columns,
    rows: rejected.map((r) => (r.cells.length ? r : { ...r, cells: refusedCells(plan, r.line) })),
    eol: plan.eol,
  });
  await store.db.transaction().execute(async (trx) => {
    await updateJob(trx, plan.loc.jobId, {
      status: s.status,
      error_code: s.error?.code ?? null,
      error_message: s.error?.message ?? null,
      counters_json: JSON.stringify(plan.counters),
      result_json: JSON.stringify({
        ...files,
        inputPath: plan.inputPath,
        send: s.send,
        idSMS: plan.idSMS,
        idInvio: plan.idInvio,
      }),
      run_after: s.runAfter,
      ended_at: s.ended ? ended : null,
    });
  });
  return {
    jobId: plan.loc.jobId,
    status: s.status,
    error: s.error,
    send: s.send,
    sendAt: plan.sendAt,
    idSMS: plan.idSMS,
    idInvio: plan.idInvio,
    counters: plan.counters,
    inputPath: plan.inputPath,
    ...files,
  };
}

/** A refused row's cells for rejected.csv: mobile and rendered text in their columns (placemarks are gone). */
function refusedCells(plan: Csv2SmsPlan, line: number): string[] {
  const o = plan.outbox.find((x) => x.l === line);
  const cells = plan.columns.map(() => '');
  const upper = plan.columns.map((c) => c.toUpperCase().replace(/\s+/g, ' '));
  if (o) {
    const mi = upper.indexOf('MOBILE NUMBER');
    const ti = upper.indexOf('TEXT');
    const ui = upper.indexOf('UNICODE');
    if (mi >= 0) cells[mi] = o.m;
    if (ti >= 0) cells[ti] = o.t;
    if (ui >= 0) cells[ui] = String(o.u);
  }
  return cells;
}
