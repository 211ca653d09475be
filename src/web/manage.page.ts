/**
 * Dashboard pages that change things, so a newcomer can do from the browser what the CLI does (parity table
 * in docs/http.md): edit / validate / save an instance (as `instances apply` does, one instance at a time, in
 * the same YAML), run an export for a window (`export run --from --to`), SFTP users and their keys (`users`).
 * Every action goes through the admin API as the signed-in token (`DashboardApi.send`).
 */
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DatasyncError } from '../errors.js';
import { formatTime, html, postButton, qs } from './html.js';
import { accountFilter, chooseAccount, type DashboardApi } from './pages.js';

interface InstanceView {
  id: string;
  kind: string;
  enabled: boolean;
  definition: unknown;
}

/** The stored definition as the YAML an operator would write: no `id` / `accountId` (they come from the URL). */
export function definitionYaml(definition: unknown): string {
  const d = { ...((definition ?? {}) as Record<string, unknown>) };
  delete d.id;
  delete d.accountId;
  return toYaml(d);
}

/** Parse the editor's text (YAML, or JSON which is YAML too) into the API's PUT body. */
export function parseDefinition(text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new DatasyncError(
      'DS_VALIDATION',
      `the definition is not valid YAML: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc))
    throw new DatasyncError('DS_VALIDATION', 'the definition must be a YAML mapping (kind: …, …)');
  return doc as Record<string, unknown>;
}

const NEW_TEMPLATE = `kind: import
fileMatch:
  glob: "*.csv"
destination:
  listId: 1
`;

export interface EditorState {
  account: string;
  id?: string;
  text?: string;
  /** Shown above the form. */
  message?: { kind: 'ok' | 'error'; text: string };
}

/** Create or edit one instance: YAML text, "Validate" (nothing saved) and "Save" (create or replace). */
export async function instanceEditorPage(api: DashboardApi, s: EditorState) {
  let text = s.text;
  if (text === undefined && s.id) {
    const inst = await api.get<InstanceView>(
      `/api/v1/accounts/${encodeURIComponent(s.account)}/instances/${encodeURIComponent(s.id)}`,
    );
    text = definitionYaml(inst.definition);
  }
  const body = html`<p><a href="/instances${qs({ account: s.account })}">← Instances</a></p>
    ${s.message ? html`<p class="${s.message.kind === 'ok' ? 'ok' : 'error'}" id="editor-message">${s.message.text}</p>` : ''}
    <form class="editor" method="post" action="/instances/${s.account}/edit">
      <label for="id">Instance id</label>
      <input id="id" name="id" value="${s.id ?? ''}" required pattern="[A-Za-z0-9._-]{1,64}" />
      <label for="definition"
        >Definition (YAML, as in <code>datasync instances apply</code>; <code>kind</code> is import, export,
        csv2sms or ftpzip)</label
      >
      <textarea id="definition" name="definition" rows="22" spellcheck="false">
${text ?? NEW_TEMPLATE}</textarea>
      <p>
        <button type="submit" name="action" value="validate">Validate</button>
        <button type="submit" name="action" value="save" class="primary">Save</button>
      </p>
    </form>`;
  return { body };
}

interface ExportRunResult {
  jobId: string;
  status: string;
  file: string | null;
  destination: string | null;
  rows: number;
  bytes: number;
  window: { from: string | null; to: string; mode: string };
}

/** `datetime-local` values carry no zone: the form says UTC, so one is added. */
export function utcInstant(v: string | undefined): string | undefined {
  const t = (v ?? '').trim();
  if (!t) return undefined;
  if (/(Z|[+-]\d\d:?\d\d)$/.test(t)) return t;
  return /T\d\d:\d\d$/.test(t) ? `${t}:00Z` : `${t}Z`;
}

export function exportResultPage(account: string, instanceId: string, r: ExportRunResult) {
  const body = html`<p><a href="/instances${qs({ account })}">← Instances</a></p>
    <table id="export-result" class="kv">
      <tr>
        <th>Instance</th>
        <td><code>${instanceId}</code></td>
      </tr>
      <tr>
        <th>Job</th>
        <td>
          <a href="/jobs/${r.jobId}"><code>${r.jobId}</code></a> (${r.status})
        </td>
      </tr>
      <tr>
        <th>Window</th>
        <td>
          ${r.window.from ? formatTime(r.window.from) : 'the beginning'} – ${formatTime(r.window.to)}
          (${r.window.mode})
        </td>
      </tr>
      <tr>
        <th>Rows</th>
        <td class="num">${r.rows}</td>
      </tr>
      <tr>
        <th>File</th>
        <td>
          ${r.file ? html`<code>${r.destination}/${r.file}</code>` : html`<span class="muted">none (empty window)</span>`}
        </td>
      </tr>
    </table>`;
  return { title: 'Export run', body };
}

interface SftpUserView {
  username: string;
  hasPassword: boolean;
  disabled: boolean;
  keys: { algo: string; fingerprint: string; comment: string }[];
  createdAt: string;
}

/** SFTP users of one account: add (password and/or keys), set or remove the password, add / remove keys, remove. */
export async function sftpUsersPage(api: DashboardApi, account: string | undefined, message?: string) {
  const picker = await accountFilter(api, '/sftp-users', account);
  if (!account) return chooseAccount(picker);
  const a = encodeURIComponent(account);
  const users = await api.get<{ items: SftpUserView[] }>(`/api/v1/accounts/${a}/sftp-users`);
  const base = `/sftp-users/${account}`;
  const body = html`${picker} ${message ? html`<p class="ok" id="sftp-message">${message}</p>` : ''}
    ${
      users.items.length
        ? html`<table id="sftp-users">
            <thead>
              <tr>
                <th>User</th>
                <th>Password</th>
                <th>Public keys</th>
                <th>Created</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              ${users.items.map(
                (u) =>
                  html`<tr data-user="${u.username}">
                    <td>
                      <code>${u.username}</code
                      >${u.disabled ? html` <span class="status status-cancelled">disabled</span>` : ''}
                    </td>
                    <td>
                      ${u.hasPassword ? 'set' : html`<span class="muted">none</span>`}
                      ${postButton(`${base}/${u.username}/password`, 'Set', { fields: html`<input type="password" name="password" minlength="8" autocomplete="new-password" aria-label="new password" required />` })}
                      ${u.hasPassword ? postButton(`${base}/${u.username}/password`, 'Remove', { confirm: 'Remove the password? The user can then log in with keys only.', fields: html`<input type="hidden" name="remove" value="1" />` }) : ''}
                    </td>
                    <td>
                      ${u.keys.map(
                        (k) =>
                          html`<div class="key-row">
                            <code>${k.algo} ${k.fingerprint}</code> ${k.comment}
                            ${postButton(`${base}/${u.username}/keys/remove`, 'Remove', { confirm: 'Remove this key?', fields: html`<input type="hidden" name="fingerprint" value="${k.fingerprint}" />` })}
                          </div>`,
                      )}
                      <form class="inline" method="post" action="${base}/${u.username}/keys">
                        <textarea
                          name="authorizedKeys"
                          rows="2"
                          cols="40"
                          placeholder="ssh-ed25519 AAAA… comment"
                          aria-label="public keys to add"
                          required
                        ></textarea>
                        <button type="submit">Add keys</button>
                      </form>
                    </td>
                    <td>${formatTime(u.createdAt)}</td>
                    <td>
                      ${postButton(`${base}/${u.username}/remove`, 'Remove user', { confirm: `Remove SFTP user ${u.username} and its keys?` })}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="empty">No SFTP users in this account.</p>`
    }
    <h2>Add an SFTP user</h2>
    <form class="editor" method="post" action="${base}">
      <label for="username">Username</label>
      <input id="username" name="username" required maxlength="64" />
      <label for="password">Password (at least 8 characters; leave empty for keys only)</label>
      <input id="password" name="password" type="password" minlength="8" autocomplete="new-password" />
      <label for="authorizedKeys">Public keys (authorized_keys lines)</label>
      <textarea id="authorizedKeys" name="authorizedKeys" rows="3" spellcheck="false"></textarea>
      <p><button type="submit" class="primary">Add user</button></p>
    </form>`;
  return { body };
}
