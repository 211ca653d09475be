/**
 * Per-account file browser of the hosted space: a read-only listing (folders first), through `HostedSpaceFs`,
 * so the jail of spaces/ applies (no `..` above the root, no symlinks). The account is checked through the
 * API first, so a token sees only the spaces it may see.
 */
import type { HostedSpaces } from '../spaces/index.js';
import { formatBytes, html, qs } from './html.js';
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
    }`;
  return { body };
}
