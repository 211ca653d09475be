/**
 * The dashboard pages. Each renders what the admin API answers for the signed-in token (`DashboardApi`), so
 * the pages see exactly what the token may see through the API: same scoping, same validation, same shapes.
 */
import { formatBytes, formatTime, html, postButton, qs, raw, type Raw } from './html.js';

export interface DashboardApi {
  /** GET an admin API path as the signed-in token; throws the API's DatasyncError on non-2xx. */
  get<T>(url: string): Promise<T>;
  /** POST / PUT / DELETE with a JSON body, same rules. */
  send<T>(method: 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<T>;
}

export interface JobView {
  id: string;
  accountId: string;
  instanceId: string | null;
  kind: string;
  trigger: string;
  status: string;
  inputName: string | null;
  inputSize: number | null;
  counters: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  files: { input: boolean; result: boolean; rejected: boolean };
}
export interface JobDetailView extends JobView {
  result: Record<string, unknown> | null;
  rejected: { line: number; code: string; reason: string }[];
}
interface Page<T> {
  items: T[];
  next: string | null;
}
interface InstanceView {
  id: string;
  kind: string;
  enabled: boolean;
  definition: unknown;
  nextRunAt: string | null;
  lastJob: { id: string; status: string; endedAt: string | null; createdAt: string } | null;
}

/** Reference §2.13 "Rows do not match": rows that could not be read as a row of the header. */
const ROW_MISMATCH_CODES = new Set(['DS_IMPORT_ROW_COLUMNS', 'DS_IMPORT_CSV_MALFORMED']);
const ACTIVE = new Set(['queued', 'running']);
const JOB_STATUSES = ['queued', 'running', 'succeeded', 'partial', 'failed', 'skipped', 'cancelled'];
const KINDS = ['import', 'export', 'csv2sms', 'ftpzip'];

export const statusBadge = (s: string): Raw => html`<span class="status status-${s}">${s}</span>`;
const num = (c: Record<string, unknown> | null, k: string): number | string => {
  const v = c?.[k];
  return typeof v === 'number' ? v : '';
};
const sub = (c: Record<string, unknown> | null, ch: string, k: string): number | string => {
  const v = (c?.[ch] as Record<string, unknown> | undefined)?.[k];
  return typeof v === 'number' ? v : '';
};

const download = (jobId: string, which: string, label = which) =>
  html`<a href="/jobs/${jobId}/files/${which}">${label}</a>`;

/** Account picker for admins (a GET form); an account token has exactly one account. */
/** The account filter at the top of an account's page (a GET form to `action`). */
export async function accountFilter(api: DashboardApi, action: string, account: string | undefined) {
  return html`<form class="filters" method="get" action="${action}">
    ${await accountPicker(api, account)}
  </form>`;
}

/** What an account's page shows before an account is chosen. */
export const chooseAccount = (picker: Raw) => ({
  body: html`${picker}
    <p class="empty">Choose an account.</p>`,
});

export async function accountPicker(api: DashboardApi, current: string | undefined, extra: Raw = raw('')) {
  const accounts = await api.get<Page<{ id: string; name: string }>>('/api/v1/accounts?limit=200');
  if (accounts.items.length === 1 && current === accounts.items[0]!.id) return extra;
  return html`<label
      >Account
      <select name="account">
        <option value="">all accounts</option>
        ${accounts.items.map(
          (a) =>
            html`<option value="${a.id}" ${a.id === current ? raw(' selected') : ''}>
              ${a.id} — ${a.name}
            </option>`,
        )}
      </select></label
    >${extra}`;
}

/** Reference §2.13: files to be imported (queued and running), completed imports, and a link to details. */
export async function importStatusPage(api: DashboardApi, account: string | undefined, before?: string) {
  const scope = { accountId: account, kind: 'import' };
  const [queued, running, done] = await Promise.all([
    api.get<Page<JobView>>(`/api/v1/jobs${qs({ ...scope, status: 'queued', limit: 200 })}`),
    api.get<Page<JobView>>(`/api/v1/jobs${qs({ ...scope, status: 'running', limit: 200 })}`),
    api.get<Page<JobView>>(`/api/v1/jobs${qs({ ...scope, limit: 50, before })}`),
  ]);
  const pending = [...running.items, ...queued.items.slice().reverse()];
  const completed = done.items.filter((j) => !ACTIVE.has(j.status));
  const body = html` <form class="filters" method="get" action="/imports">
      ${await accountPicker(api, account)}
    </form>
    <h2>Files to be imported</h2>
    ${
      pending.length
        ? html`<table id="pending">
            <thead>
              <tr>
                <th>File</th>
                <th>Account</th>
                <th>Instance</th>
                <th class="num">Size</th>
                <th>Status</th>
                <th>Received</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              ${pending.map(
                (j) =>
                  html`<tr data-job="${j.id}">
                    <td>${j.inputName}</td>
                    <td>${j.accountId}</td>
                    <td>${j.instanceId}</td>
                    <td class="num">${formatBytes(j.inputSize)}</td>
                    <td>${statusBadge(j.status)}</td>
                    <td>${formatTime(j.createdAt)}</td>
                    <td>
                      ${j.files.input ? download(j.id, 'input', 'download') : ''}
                      ${postButton(`/jobs/${j.id}/cancel`, j.status === 'running' ? 'Stop' : 'Remove', { confirm: j.status === 'running' ? 'Stop this import? Rows already committed stay.' : 'Remove this file from the queue without importing it?' })}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="empty">No files waiting or being imported.</p>`
    }
    <h2>Completed imports</h2>
    ${
      completed.length
        ? html`<table id="completed">
            <thead>
              <tr>
                <th>File</th>
                <th>Account</th>
                <th>Instance</th>
                <th class="num">Rows</th>
                <th class="num">Rejected</th>
                <th>Status</th>
                <th>Completed</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              ${completed.map(
                (j) =>
                  html`<tr data-job="${j.id}">
                    <td><a href="/jobs/${j.id}">${j.inputName ?? j.id}</a></td>
                    <td>${j.accountId}</td>
                    <td>${j.instanceId}</td>
                    <td class="num">${num(j.counters, 'processed')}</td>
                    <td class="num">${num(j.counters, 'rejected')}</td>
                    <td>${statusBadge(j.status)}</td>
                    <td>${formatTime(j.endedAt)}</td>
                    <td>
                      <a href="/jobs/${j.id}">details</a
                      >${j.files.input ? html` · ${download(j.id, 'input', 'file')}` : ''}${j.files.rejected ? html` · ${download(j.id, 'rejected', 'rejected rows')}` : ''}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="empty">No completed imports${before ? ' before this point' : ''}.</p>`
    }
    ${done.next ? html`<p class="pager"><a href="/imports${qs({ account, before: done.next })}">Older imports →</a></p>` : ''}`;
  return { body, autoRefresh: pending.length > 0 };
}

/** One job: times, counters (per channel), error, rejected rows in two tabs, downloads, retry / cancel. */
export async function jobDetailPage(api: DashboardApi, jobId: string) {
  const j = await api.get<JobDetailView>(`/api/v1/jobs/${encodeURIComponent(jobId)}`);
  const c = j.counters;
  const bad = j.rejected.filter((r) => !ROW_MISMATCH_CODES.has(r.code));
  const mismatch = j.rejected.filter((r) => ROW_MISMATCH_CODES.has(r.code));
  const rows = (list: typeof j.rejected) =>
    list.length
      ? html`<table>
          <thead>
            <tr>
              <th class="num">Line</th>
              <th>Code</th>
              <th>Reason</th>
            </tr>
          </thead>
          <tbody>
            ${list.map(
              (r) =>
                html`<tr>
                  <td class="num">${r.line}</td>
                  <td><code>${r.code}</code></td>
                  <td>${r.reason}</td>
                </tr>`,
            )}
          </tbody>
        </table>`
      : html`<p class="empty">None.</p>`;
  const channel = (ch: string, label: string) =>
    html`<tr>
      <th>${label}</th>
      <td class="num">${sub(c, ch, 'valid')}</td>
      <td class="num">${sub(c, ch, 'invalidSyntax')}</td>
      <td class="num">${sub(c, ch, 'invalidMapping')}</td>
    </tr>`;
  const body = html` <dl class="facts" id="job-facts">
      <dt>Status</dt>
      <dd>
        ${statusBadge(j.status)}${j.error ? html` <code>${j.error.code}</code> ${j.error.message}` : ''}
      </dd>
      <dt>File</dt>
      <dd>
        ${j.inputName ?? '—'}
        ${j.inputSize !== null ? html`<span class="muted">(${formatBytes(j.inputSize)})</span>` : ''}
      </dd>
      <dt>Account / instance</dt>
      <dd>${j.accountId} / ${j.instanceId ?? '—'} <span class="muted">(${j.kind}, ${j.trigger})</span></dd>
      <dt>Received</dt>
      <dd>${formatTime(j.createdAt)}</dd>
      <dt>Started</dt>
      <dd>${formatTime(j.startedAt)}</dd>
      <dt>Ended</dt>
      <dd>${formatTime(j.endedAt)}</dd>
      <dt>Downloads</dt>
      <dd>
        ${[
          j.files.input ? download(j.id, 'input', 'input file') : null,
          j.files.result ? download(j.id, 'result', 'result (JSON)') : null,
          j.files.rejected ? download(j.id, 'rejected', 'rejected rows (CSV)') : null,
        ]
          .filter(Boolean)
          .map((x, i) => html`${i ? ' · ' : ''}${x}`)}
      </dd>
    </dl>
    <p>
      ${ACTIVE.has(j.status) ? postButton(`/jobs/${j.id}/cancel`, 'Cancel', { confirm: 'Cancel this job?' }) : ''}${
        j.status === 'failed' || j.status === 'cancelled'
          ? postButton(`/jobs/${j.id}/retry`, 'Retry', { confirm: 'Run this job again?', primary: true })
          : ''
      }
    </p>
    ${
      c
        ? html`<div class="grid">
            <table id="counters">
              <tbody>
                <tr>
                  <th>Processed rows</th>
                  <td class="num">${num(c, 'processed')}</td>
                </tr>
                <tr>
                  <th>Valid rows</th>
                  <td class="num">${num(c, 'valid')}</td>
                </tr>
                <tr>
                  <th>Rejected rows</th>
                  <td class="num">${num(c, 'rejected')}</td>
                </tr>
                <tr>
                  <th>Improperly formatted</th>
                  <td class="num">${num(c, 'malformed')}</td>
                </tr>
                <tr>
                  <th>Duplicated</th>
                  <td class="num">${num(c, 'duplicated')}</td>
                </tr>
                <tr>
                  <th>Created / updated / unchanged</th>
                  <td class="num">${num(c, 'created')} / ${num(c, 'updated')} / ${num(c, 'unchanged')}</td>
                </tr>
                <tr>
                  <th>Subscribed / unsubscribed / pending</th>
                  <td class="num">
                    ${num(c, 'subscribed')} / ${num(c, 'unsubscribed')} / ${num(c, 'pending')}
                  </td>
                </tr>
              </tbody>
            </table>
            <table id="channels">
              <thead>
                <tr>
                  <th></th>
                  <th class="num">Valid</th>
                  <th class="num">Incorrect syntax</th>
                  <th class="num">Incorrect mapping</th>
                </tr>
              </thead>
              <tbody>
                ${channel('email', 'Email addresses')}${channel('sms', 'Mobile numbers')}
              </tbody>
            </table>
          </div>`
        : ''
    }
    <div class="tabs">
      <a href="#incorrect" data-tab="incorrect" class="current">Incorrect data (${bad.length})</a
      ><a href="#mismatch" data-tab="mismatch">Rows do not match (${mismatch.length})</a>
    </div>
    <section class="tab" id="incorrect">${rows(bad)}</section>
    <section class="tab" id="mismatch" hidden>${rows(mismatch)}</section>
    ${j.files.rejected ? html`<p class="muted">The first rejected rows are shown; every one is in the ${download(j.id, 'rejected', 'rejected rows file')}.</p>` : ''}`;
  return { title: `Job ${j.id}`, body, account: j.accountId };
}

export interface JobsFilter {
  account?: string;
  kind?: string;
  status?: string;
  instance?: string;
  before?: string;
}

/** Every job of every kind, newest first, with filters and keyset pages. */
export async function jobsPage(api: DashboardApi, f: JobsFilter) {
  const page = await api.get<Page<JobView>>(
    `/api/v1/jobs${qs({ accountId: f.account, kind: f.kind, status: f.status, instanceId: f.instance, before: f.before, limit: 50 })}`,
  );
  const select = (name: string, label: string, values: string[], cur?: string) =>
    html`<label
      >${label}
      <select name="${name}">
        <option value="">any</option>
        ${values.map((v) => html`<option${v === cur ? raw(' selected') : ''}>${v}</option>`)}
      </select></label
    >`;
  const body = html` <form class="filters" method="get" action="/jobs">
      ${await accountPicker(
        api,
        f.account,
        html`${select('kind', 'Kind', KINDS, f.kind)}${select('status', 'Status', JOB_STATUSES, f.status)}<label
            >Instance <input name="instance" value="${f.instance ?? ''}" size="14" /></label
          ><button type="submit">Filter</button>`,
      )}
    </form>
    ${
      page.items.length
        ? html`<table id="jobs">
            <thead>
              <tr>
                <th>Job</th>
                <th>Created</th>
                <th>Account</th>
                <th>Instance</th>
                <th>Kind</th>
                <th>Trigger</th>
                <th>Input</th>
                <th>Status</th>
                <th>Ended</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              ${page.items.map(
                (j) =>
                  html`<tr>
                    <td>
                      <a href="/jobs/${j.id}"><code>${j.id}</code></a>
                    </td>
                    <td>${formatTime(j.createdAt)}</td>
                    <td>${j.accountId}</td>
                    <td>${j.instanceId}</td>
                    <td>${j.kind}</td>
                    <td>${j.trigger}</td>
                    <td>${j.inputName}</td>
                    <td>${statusBadge(j.status)}</td>
                    <td>${formatTime(j.endedAt)}</td>
                    <td>${j.error ? html`<code>${j.error.code}</code>` : ''}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="empty">No jobs match.</p>`
    }
    ${page.next ? html`<p class="pager"><a href="/jobs${qs({ ...f, before: page.next })}">Older jobs →</a></p>` : ''}`;
  return { body };
}

/**
 * The "run an export now" form of an export instance: empty from/to is the instance's own window (moves the
 * watermark of an incremental export); either one makes a one-off window (`export run --from --to`).
 */
function exportRunForm(instanceId: string): Raw {
  return html`<form class="inline window" method="post" action="/exports/${instanceId}/run">
    <label
      >from <input type="datetime-local" name="from" title="UTC; empty: the instance's own window"
    /></label>
    <label>to <input type="datetime-local" name="to" title="UTC; empty: now" /></label>
    <button type="submit" data-confirm="Run this export now?">Run export</button>
  </form>`;
}

/** Instances of one account with their next scheduled run and last result; edit, enable / disable, run. */
export async function instancesPage(api: DashboardApi, account: string | undefined, after?: string) {
  const picker = await accountFilter(api, '/instances', account);
  if (!account) return chooseAccount(picker);
  const page = await api.get<Page<InstanceView>>(
    `/api/v1/accounts/${encodeURIComponent(account)}/instances${qs({ after, limit: 100 })}`,
  );
  const folder = (d: unknown) => {
    const o = (d ?? {}) as Record<string, unknown>;
    const dest = o.destination as Record<string, unknown> | undefined;
    return (o.folder as string | undefined) ?? (dest?.folder as string | undefined) ?? '';
  };
  const body = html`${picker}
    <p><a href="/instances/${account}/new" id="new-instance">New instance</a></p>
    ${
      page.items.length
        ? html`<table id="instances">
            <thead>
              <tr>
                <th>Instance</th>
                <th>Kind</th>
                <th>Folder</th>
                <th>Enabled</th>
                <th>Next scheduled run</th>
                <th>Last job</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              ${page.items.map(
                (i) =>
                  html`<tr>
                    <td><code>${i.id}</code></td>
                    <td>${i.kind}</td>
                    <td>${folder(i.definition)}</td>
                    <td>
                      ${i.enabled ? 'yes' : html`<span class="status status-cancelled">disabled</span>`}
                    </td>
                    <td>
                      ${i.nextRunAt ? formatTime(i.nextRunAt) : html`<span class="muted">${i.kind === 'import' ? 'on upload' : 'not scheduled'}</span>`}
                    </td>
                    <td>
                      ${i.lastJob ? html`<a href="/jobs/${i.lastJob.id}">${statusBadge(i.lastJob.status)}</a> ${formatTime(i.lastJob.endedAt ?? i.lastJob.createdAt)}` : html`<span class="muted">never ran</span>`}
                    </td>
                    <td>
                      <a href="/instances/${account}/${i.id}/edit">Edit</a>
                      ${postButton(`/instances/${account}/${i.id}/${i.enabled ? 'disable' : 'enable'}`, i.enabled ? 'Disable' : 'Enable', { confirm: i.enabled ? 'Disable this instance?' : undefined })}${
                        i.kind === 'export'
                          ? html` ${exportRunForm(i.id)}`
                          : i.kind !== 'import'
                            ? html` ${postButton(`/instances/${account}/${i.id}/run`, 'Run now', { confirm: 'Run this instance now?' })}`
                            : html` <a href="/files${qs({ account, check: i.id })}#dry-run">Check a file</a>`
                      }
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="empty">No instances in this account.</p>`
    }
    ${page.next ? html`<p class="pager"><a href="/instances${qs({ account, after: page.next })}">More →</a></p>` : ''}`;
  return { body };
}
