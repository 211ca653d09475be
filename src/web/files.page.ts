/**
 * Per-account file browser of the hosted space: a listing (folders first), through `HostedSpaceFs`, so the
 * jail of spaces/ applies (no `..` above the root, no symlinks). The account is checked through the API first,
 * so a token sees only the spaces it may see. An upload form puts a file into `/import`, `/sms` or
 * `/import_zip` the way an SFTP upload does (dashboard.js sends it to `uploads.routes.ts`), so its job starts.
 * "Check a file (dry run)" sends a CSV through an import instance without importing it (`datasync import FILE
 * --instance ID --dry-run`): dashboard.js shows the counters and the rejected rows the API answers.
 */
import type { HostedSpaces } from '../spaces/index.js';
import { UPLOAD_FOLDERS } from '../http/index.js';
import { formatBytes, html, qs, raw } from './html.js';
import { accountFilter, chooseAccount, type DashboardApi } from './pages.js';

export async function filesPage(
  api: DashboardApi,
  spaces: HostedSpaces,
  account: string | undefined,
  dir: string,
  /** The import instance preselected in the dry-run form (the Instances page's "Check a file" link). */
  check?: string,
) {
  const picker = await accountFilter(api, '/files', account);
  if (!account) return chooseAccount(picker);
  await api.get(`/api/v1/accounts/${encodeURIComponent(account)}`);
  const instances = await api.get<{ items: { id: string; kind: string; enabled: boolean }[] }>(
    `/api/v1/accounts/${encodeURIComponent(account)}/instances?limit=200`,
  );
  const imports = instances.items.filter((i) => i.kind === 'import');
  const fsys = spaces.fs(account);
  let entries: Awaited<ReturnType<typeof fsys.readdir>> = [];
  let missing = false;
  try {
    entries = await fsys.readdir(dir);
  } catch (e) {
    if (!fsys.isNotFound(e) && (e as { code?: string }).code !== 'ENOTDIR') throw e;
    missing = true;
  }
  entries.sort((a, b) =>
    a.stat.kind === b.stat.kind ? a.name.localeCompare(b.name) : a.stat.kind === 'directory' ? -1 : 1,
  );
  const parts = dir.split('/').filter(Boolean);
  const crumbs = [html`<a href="/files${qs({ account, path: '/' })}">${account}</a>`];
  parts.forEach((p, i) =>
    crumbs.push(
      html` / <a href="/files${qs({ account, path: '/' + parts.slice(0, i + 1).join('/') })}">${p}</a>`,
    ),
  );
  const join = (name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
  const here = UPLOAD_FOLDERS.find((f) => dir === `/${f}`) ?? 'import';
  const upload = html`<form
    id="upload"
    class="editor"
    method="post"
    action="/files/${encodeURIComponent(account)}"
    data-upload
  >
    <h2>Upload a file</h2>
    <p class="muted">
      The file is handled as if uploaded over SFTP: in <code>/import</code> it starts an import (its job
      appears in Import status), in <code>/sms</code> a CSV2SMS job, in <code>/import_zip</code> an FTPZIP
      job.
    </p>
    <label for="upload-folder">Folder</label>
    <select id="upload-folder" name="folder">
      ${UPLOAD_FOLDERS.map(
        (f) => html`<option value="${f}" ${f === here ? raw(' selected') : ''}>/${f}</option>`,
      )}
    </select>
    <label for="upload-file">File</label>
    <input id="upload-file" name="file" type="file" required />
    <p><button type="submit" class="primary">Upload</button></p>
    <p id="upload-result" role="status" hidden></p>
  </form>`;
  const dryRun = html`<form
    id="dry-run"
    class="editor"
    method="post"
    action="/dry-run/${encodeURIComponent(account)}"
    data-dry-run
  >
    <h2>Check a file (dry run)</h2>
    <p class="muted">
      Every row is checked with the import instance against the account's recipients, as
      <code>datasync import FILE --instance ID --dry-run</code> does: nothing is imported and no job is
      created. The file is not kept.
    </p>
    ${
      imports.length
        ? html`<label for="dry-run-instance">Import instance</label>
            <select id="dry-run-instance" name="instance">
              ${imports.map(
                (i) =>
                  html`<option value="${i.id}" ${i.id === check ? raw(' selected') : ''}>
                    ${i.id}${i.enabled ? '' : ' (disabled)'}
                  </option>`,
              )}
            </select>
            <label for="dry-run-file">File</label>
            <input id="dry-run-file" name="file" type="file" accept=".csv,.txt,text/csv" required />
            <p><button type="submit" class="primary">Check</button></p>
            <div id="dry-run-result" role="status" hidden></div>`
        : html`<p class="empty">
            This account has no import instance: <a href="/instances${qs({ account })}">create one</a> first.
          </p>`
    }
  </form>`;
  const body = html`${picker}
    <p id="crumbs">${crumbs}</p>
    ${
      missing
        ? html`<p class="empty">This folder does not exist.</p>`
        : entries.length
          ? html`<table id="files">
              <thead>
                <tr>
                  <th>Name</th>
                  <th class="num">Size</th>
                  <th>Modified</th>
                </tr>
              </thead>
              <tbody>
                ${entries.map(
                  (e) =>
                    html`<tr>
                      <td>
                        ${
                          e.stat.kind === 'directory'
                            ? html`<a href="/files${qs({ account, path: join(e.name) })}">${e.name}/</a>`
                            : e.name
                        }
                      </td>
                      <td class="num">${e.stat.kind === 'file' ? formatBytes(e.stat.size) : ''}</td>
                      <td>
                        ${e.stat.mtime
                          .toISOString()
                          .replace('T', ' ')
                          .replace(/\.\d{3}Z$/, ' UTC')}
                      </td>
                    </tr>`,
                )}
              </tbody>
            </table>`
          : html`<p class="empty">This folder is empty.</p>`
    }
    ${upload} ${dryRun}`;
  return { body };
}
