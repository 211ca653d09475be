/**
 * Per-account file browser of the hosted space: a listing (folders first), through `HostedSpaceFs`, so the
 * jail of spaces/ applies (no `..` above the root, no symlinks). The account is checked through the API first,
 * so a token sees only the spaces it may see. An upload form puts a file into `/import`, `/sms` or
 * `/import_zip` the way an SFTP upload does (dashboard.js sends it to `uploads.routes.ts`), so its job starts.
 */
import type { HostedSpaces } from '../spaces/index.js';
import { UPLOAD_FOLDERS } from '../http/index.js';
import { formatBytes, html, qs, raw } from './html.js';
import { accountPicker, type DashboardApi } from './pages.js';

export async function filesPage(
  api: DashboardApi,
  spaces: HostedSpaces,
  account: string | undefined,
  dir: string,
) {
  const picker = html`<form class="filters" method="get" action="/files">
    ${await accountPicker(api, account)}
  </form>`;
  if (!account)
    return {
      body: html`${picker}
        <p class="empty">Choose an account.</p>`,
    };
  await api.get(`/api/v1/accounts/${encodeURIComponent(account)}`);
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
    ${upload}`;
  return { body };
}
