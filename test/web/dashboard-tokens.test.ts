/**
 * The Account page's API tokens over app.inject on both dialects: creation is POST/redirect/GET (the secret
 * is shown once, to the session that made it, sealed in a cookie the showing page clears, and in no URL; a
 * reload neither shows it again nor creates a second token), the list with revoke buttons that ask first, revoking (the token is refused at once; an
 * account session may revoke only itself, which signs it out) and cross-account refusal.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiTokenRecord, listApiTokens } from '../../src/http/index.js';
import { FLASH_COOKIE } from '../../src/web/token-flash.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from './admin-harness.js';

describe.each(DIALECTS)('dashboard API tokens (%s)', (dialect) => {
  let h: AdminHarness;
  let admin: string;
  beforeEach(async () => {
    h = await startAdmin(dialect, { dashboard: true });
    admin = await signIn(h.adminToken);
  });
  afterEach(() => h.close());

  const signIn = (token: string) => h.signIn(token);
  const form = (url: string, body: Record<string, string>, cookie: string) => h.form(url, body, cookie);
  const page = (url: string, cookie: string) => h.page(url, cookie);
  const newTokenOf = (body: string) => /id="new-token" readonly value="([^"]+)"/.exec(body)?.[1];
  const apiAs = (token: string) => h.req('GET', '/api/v1/accounts/acme/instances', { token });

  it('creates a token with POST/redirect/GET: shown once, to its session only; a reload creates nothing', async () => {
    const before = (await listApiTokens(h.store.db, 'acme')).length;
    const post = await form('/account/acme/tokens', { name: 'crm-sync' }, admin);
    expect(post.statusCode).toBe(303);
    const location = String(post.headers.location);
    const made = (await listApiTokens(h.store.db, 'acme')).at(-1)!;
    expect(made.name).toBe('crm-sync');
    expect(location).toBe(
      `/account?account=acme&done=${encodeURIComponent('Created API token "crm-sync".').replace(/%20/g, '+')}&created=${made.id}`,
    );
    // The token travels sealed in a short-lived HttpOnly cookie for the redirect's page only.
    const set = String(post.headers['set-cookie']);
    expect(set).toMatch(
      new RegExp(`^${FLASH_COOKIE}=[A-Za-z0-9_-]+; Max-Age=300; Path=/account; HttpOnly; SameSite=Strict$`),
    );
    const flash = set.split(';')[0]!;

    // Another session, even with that cookie, gets no secret (the seal is bound to the session).
    const acme = await signIn(h.acmeToken);
    const stranger = await page(location, `${acme}; ${flash}`);
    expect(newTokenOf(stranger.body)).toBeUndefined();
    expect(stranger.body).toContain('id="new-token-gone"');

    const shown = await page(location, `${admin}; ${flash}`);
    expect(shown.statusCode).toBe(200);
    expect(shown.headers['cache-control']).toBe('no-store');
    const token = newTokenOf(shown.body)!;
    expect(token).toMatch(/^ds_acc_/);
    expect(location).not.toContain(token);
    expect(flash).not.toContain(token);
    expect(shown.body).toContain('Created API token &quot;crm-sync&quot;.');
    expect((await apiAs(token)).statusCode).toBe(200);
    // Read once: the page that shows it clears the cookie.
    expect(String(shown.headers['set-cookie'])).toBe(
      `${FLASH_COOKIE}=; Max-Age=0; Path=/account; HttpOnly; SameSite=Strict`,
    );

    // The reload: the same GET (the browser no longer has the cookie), no secret, no second token.
    const reload = await page(location, admin);
    expect(newTokenOf(reload.body)).toBeUndefined();
    expect(reload.body).not.toContain(token);
    expect(reload.body).toContain('id="new-token-gone"');
    expect((await listApiTokens(h.store.db, 'acme')).length).toBe(before + 1);
  });

  it('lists the tokens with revoke buttons that ask first; revoking refuses the token at once', async () => {
    const crm = await createApiTokenRecord(h.store.db, { accountId: 'acme', name: 'crm <sync>' });
    expect((await apiAs(crm.token)).statusCode).toBe(200);
    const body = (await page('/account?account=acme', admin)).body;
    const row = new RegExp(`<tr data-token-id="${crm.id}">[\\s\\S]*?</tr>`).exec(body)?.[0] ?? '';
    expect(row).toContain('crm &lt;sync&gt;');
    expect(row).not.toContain('>never<'); // it was used just above
    expect(row).toContain(`action="/account/acme/tokens/${crm.id}/revoke"`);
    expect(row).toContain('data-confirm="Revoke API token &quot;crm &lt;sync&gt;&quot;?');
    expect(body).not.toContain(crm.token);

    const res = await form(`/account/acme/tokens/${crm.id}/revoke`, { name: 'crm <sync>' }, admin);
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toContain('/account?account=acme&done=Revoked');
    const refused = await apiAs(crm.token);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('DS_UNAUTHORIZED');
    const after = (await page(String(res.headers.location), admin)).body;
    expect(after).toContain(`Revoked API token ${crm.id} &quot;crm &lt;sync&gt;&quot;.`);
    expect(after).not.toContain(`data-token-id="${crm.id}"`);
    // The audit log on the page names the revocation.
    expect(/<table id="audit">[\s\S]*token\.revoke[\s\S]*<\/table>/.test(after)).toBe(true);
  });

  it("keeps an account session to its own tokens: itself only, never another account's", async () => {
    const sibling = await createApiTokenRecord(h.store.db, { accountId: 'acme', name: 'backup' });
    const foreign = await createApiTokenRecord(h.store.db, { accountId: 'other', name: 'other-ci' });
    const acme = await signIn(h.acmeToken);
    const body = (await page('/account', acme)).body;
    expect(body).toContain('id="tokens"');
    expect(body).not.toContain('id="token-form"');
    expect(body).not.toContain('other-ci');
    // One revoke button: on its own row, which says it signs the session out.
    expect(body.match(/\/revoke"/g)).toHaveLength(1);
    expect(body).toContain('(this session)');
    expect(body).toContain('You will be signed out.');

    for (const url of [
      `/account/other/tokens/${foreign.id}/revoke`,
      `/account/acme/tokens/${foreign.id}/revoke`,
      `/account/acme/tokens/${sibling.id}/revoke`,
    ]) {
      const res = await form(url, {}, acme);
      expect(res.statusCode, url).toBe(403);
      expect(res.body).toContain('DS_FORBIDDEN');
    }
    expect((await apiAs(sibling.token)).statusCode).toBe(200);
    expect((await h.req('GET', '/api/v1/me', { token: foreign.token })).statusCode).toBe(200);

    // Revoking itself: done, and the next page is the sign-in page.
    const ownId = (await listApiTokens(h.store.db, 'acme')).find((t) => t.name === 'acme-ci')!.id;
    const self = await form(`/account/acme/tokens/${ownId}/revoke`, {}, acme);
    expect(self.statusCode).toBe(303);
    const next = await page(String(self.headers.location), acme);
    expect(next.statusCode).toBe(302);
    expect(next.headers.location).toBe('/login');
    expect(String(next.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await apiAs(h.acmeToken)).statusCode).toBe(401);
  });
});
