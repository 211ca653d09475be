/**
 * The API tokens section of the Account page (`datasync tokens create|list|revoke`): the account's tokens
 * (id, name, created, last used; never a secret), a revoke button on each that the signed-in token may revoke
 * (an admin: all; an account token: itself, which signs it out), the create form (admin), and the box that
 * shows a new token once (see token-flash.ts).
 */
import { formatTime, html, postButton, type Raw } from './html.js';
import type { DashboardApi } from './pages.js';

interface TokenView {
  id: number;
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
  current: boolean;
}

/** What the page that follows a creation shows: the token, or only its id when it can no longer be shown. */
export type NewTokenShown = { id: number; name: string; token: string } | { id: number; token?: undefined };

export function newTokenBox(account: string, t: NewTokenShown): Raw {
  if (t.token === undefined)
    return html`<p class="error" id="new-token-gone">
      API token ${t.id} is shown only once, right after it is created, and cannot be shown again. If it was
      not copied, revoke it below and create another one.
    </p>`;
  return html`<section class="secret-once" id="new-token-box">
    <p class="ok">
      <strong>Copy this token now: it is not shown again.</strong> datasync keeps only its hash; if it is
      lost, revoke it and create another one.
    </p>
    <label for="new-token">API token "${t.name}" for account ${account}</label>
    <input id="new-token" readonly value="${t.token}" size="60" autocomplete="off" />
    <button type="button" data-copy="new-token">Copy</button>
  </section>`;
}

export async function tokensSection(api: DashboardApi, account: string, isAdmin: boolean): Promise<Raw> {
  const a = encodeURIComponent(account);
  const tokens = await api.get<{ items: TokenView[] }>(`/api/v1/accounts/${a}/tokens`);
  const revoke = (t: TokenView) =>
    isAdmin || t.current
      ? postButton(`/account/${account}/tokens/${t.id}/revoke`, 'Revoke', {
          confirm: t.current
            ? 'Revoke the token you are signed in with? You will be signed out.'
            : `Revoke API token "${t.name}"? Whatever uses it is refused at once.`,
          fields: html`<input type="hidden" name="name" value="${t.name}" />`,
        })
      : '';
  const create = isAdmin
    ? html`<form class="inline" method="post" action="/account/${account}/tokens" id="token-form">
        <input
          name="name"
          required
          maxlength="100"
          placeholder="name, e.g. crm-sync"
          aria-label="token name"
        />
        <button type="submit">Create token</button>
        <span class="muted"
          >A token limited to this account (the API, and sign-in here). It is shown once, right after
          creation.</span
        >
      </form>`
    : '';
  return html`<h2>API tokens</h2>
    ${
      tokens.items.length
        ? html`<table id="tokens">
            <thead>
              <tr>
                <th class="num">Id</th>
                <th>Name</th>
                <th>Created</th>
                <th>Last used</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              ${tokens.items.map(
                (t) =>
                  html`<tr data-token-id="${t.id}">
                    <td class="num">${t.id}</td>
                    <td>${t.name}${t.current ? html` <span class="muted">(this session)</span>` : ''}</td>
                    <td>${formatTime(t.createdAt)}</td>
                    <td>
                      ${t.lastUsedAt ? formatTime(t.lastUsedAt) : html`<span class="muted">never</span>`}
                    </td>
                    <td>${revoke(t)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="empty">No API tokens for this account.</p>`
    }
    ${create}`;
}
