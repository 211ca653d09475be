/**
 * The Account page: what `accounts`, `lists`, `groups`, `fields`, `recipients list`, `audit list` and
 * `tokens create|list|revoke` do on the command line — create an account (admin), lists, groups, name fields,
 * search recipients, read the audit log, API tokens (tokens.page.ts). Reads and writes go through the admin
 * API as the signed-in token (`DashboardApi`).
 */
import { formatTime, html, qs } from './html.js';
import { accountFilter, type DashboardApi } from './pages.js';
import { newTokenBox, tokensSection, type NewTokenShown } from './tokens.page.js';

interface Page<T> {
  items: T[];
  next: string | null;
}
interface AccountView {
  id: string;
  name: string;
  timeZone: string;
  defaultCountry: string;
}
interface ListView {
  listId: number;
  name: string;
  mobilePrefix: string | null;
}
interface GroupView {
  id: number;
  listId: number;
  name: string;
}
interface FieldView {
  fieldId: number;
  name: string;
}
interface RecipientView {
  id: number;
  email: string | null;
  mobile: string | null;
  subscriptions: { listId: number; channel: string; status: string }[];
}
interface AuditView {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
}

export interface RecipientQuery {
  q?: string;
  listId?: string;
  status?: string;
  after?: string;
}

export async function accountPage(
  api: DashboardApi,
  account: string | undefined,
  rq: RecipientQuery,
  isAdmin: boolean,
  message?: string,
  /** A token just created (`POST /account/:id/tokens`, then the redirect here): shown once. */
  newToken?: NewTokenShown,
) {
  const picker = await accountFilter(api, '/account', account);
  const done = message ? html`<p class="ok" id="account-message">${message}</p>` : '';
  if (!account) {
    const accounts = await api.get<Page<AccountView>>('/api/v1/accounts?limit=200');
    return {
      body: html`${picker}${done}
        <table id="accounts">
          <thead>
            <tr>
              <th>Account</th>
              <th>Name</th>
              <th>Time zone</th>
              <th>Country</th>
            </tr>
          </thead>
          <tbody>
            ${accounts.items.map(
              (a) =>
                html`<tr>
                  <td><a href="/account${qs({ account: a.id })}">${a.id}</a></td>
                  <td>${a.name}</td>
                  <td>${a.timeZone}</td>
                  <td>${a.defaultCountry}</td>
                </tr>`,
            )}
          </tbody>
        </table>
        ${
          isAdmin
            ? html`<h2>Create an account</h2>
                <form class="editor" method="post" action="/accounts">
                  <label for="new-id">Id</label><input id="new-id" name="id" required maxlength="63" />
                  <label for="new-name">Name</label><input id="new-name" name="name" maxlength="200" />
                  <p><button type="submit" class="primary">Create account</button></p>
                </form>`
            : ''
        }`,
    };
  }
  const a = `/api/v1/accounts/${encodeURIComponent(account)}`;
  const [lists, groups, fields, audit, recipients, tokens] = await Promise.all([
    api.get<Page<ListView>>(`${a}/lists?limit=200`),
    api.get<Page<GroupView>>(`${a}/groups?limit=200`),
    api.get<{ items: FieldView[] }>(`${a}/fields`),
    api.get<Page<AuditView>>(`${a}/audit?limit=20`),
    api.get<Page<RecipientView>>(
      `${a}/recipients${qs({ q: rq.q, listId: rq.listId, status: rq.status, after: rq.after, limit: 50 })}`,
    ),
    tokensSection(api, account, isAdmin),
  ]);
  const post = (what: string) => `/account/${account}/${what}`;
  const shown = newToken ? newTokenBox(account, newToken) : '';
  const body = html`${picker}${done}${shown}
    <div class="grid">
      <section>
        <h2>Lists</h2>
        <table id="lists">
          <tbody>
            ${lists.items.map(
              (l) =>
                html`<tr>
                  <td class="num">${l.listId}</td>
                  <td>${l.name}</td>
                  <td>${l.mobilePrefix ? `+${l.mobilePrefix}` : ''}</td>
                </tr>`,
            )}
          </tbody>
        </table>
        <form class="inline" method="post" action="${post('lists')}">
          <input
            name="listId"
            type="number"
            min="1"
            required
            placeholder="id"
            aria-label="list id"
            size="4"
          />
          <input name="name" required placeholder="name" aria-label="list name" />
          <input name="mobilePrefix" placeholder="prefix" aria-label="mobile prefix" size="4" />
          <button type="submit">Add list</button>
        </form>
      </section>
      <section>
        <h2>Groups</h2>
        <table id="groups">
          <tbody>
            ${groups.items.map(
              (g) =>
                html`<tr>
                  <td class="num">${g.id}</td>
                  <td>list ${g.listId}</td>
                  <td>${g.name}</td>
                </tr>`,
            )}
          </tbody>
        </table>
        <form class="inline" method="post" action="${post('groups')}">
          <input
            name="listId"
            type="number"
            min="1"
            required
            placeholder="list"
            aria-label="list id"
            size="4"
          />
          <input name="name" required placeholder="name" aria-label="group name" />
          <button type="submit">Add group</button>
        </form>
      </section>
      <section>
        <h2>Fields</h2>
        <table id="fields">
          <tbody>
            ${fields.items.map(
              (f) =>
                html`<tr>
                  <td class="num">${f.fieldId}</td>
                  <td>${f.name}</td>
                </tr>`,
            )}
          </tbody>
        </table>
        <form class="inline" method="post" action="${post('fields')}">
          <input
            name="fieldId"
            type="number"
            min="1"
            max="39"
            required
            placeholder="1..39"
            aria-label="field id"
            size="4"
          />
          <input name="name" required placeholder="name" aria-label="field name" />
          <button type="submit">Name field</button>
        </form>
      </section>
    </div>
    <h2>Recipients</h2>
    <form class="filters" method="get" action="/account">
      <input type="hidden" name="account" value="${account}" />
      <label>Email or mobile <input name="q" value="${rq.q ?? ''}" /></label>
      <label>List <input name="listId" type="number" min="1" value="${rq.listId ?? ''}" size="4" /></label>
      <label
        >Status
        <input name="status" value="${rq.status ?? ''}" placeholder="subscribed, unsubscribed…" size="12"
      /></label>
      <button type="submit">Search</button>
    </form>
    ${
      recipients.items.length
        ? html`<table id="recipients">
            <thead>
              <tr>
                <th class="num">Id</th>
                <th>Email</th>
                <th>Mobile</th>
                <th>Subscriptions</th>
              </tr>
            </thead>
            <tbody>
              ${recipients.items.map(
                (r) =>
                  html`<tr>
                    <td class="num">${r.id}</td>
                    <td>${r.email}</td>
                    <td>${r.mobile}</td>
                    <td>
                      ${r.subscriptions.map((s) => `list ${s.listId} ${s.channel}: ${s.status}`).join(' · ')}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="empty">No recipients match.</p>`
    }
    ${recipients.next ? html`<p class="pager"><a href="/account${qs({ account, ...rq, after: recipients.next })}">More →</a></p>` : ''}
    ${tokens}
    <h2>Audit log (latest changes)</h2>
    ${
      audit.items.length
        ? html`<table id="audit">
            <tbody>
              ${audit.items.map(
                (e) =>
                  html`<tr>
                    <td>${formatTime(e.at)}</td>
                    <td>${e.actor}</td>
                    <td><code>${e.action}</code></td>
                    <td>${e.target}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="empty">No changes recorded.</p>`
    }`;
  return { body };
}
