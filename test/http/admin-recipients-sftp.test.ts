/** Admin API: recipient search and filters, SFTP users and keys — auth, validation, pagination, both dialects. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setSubscriptionStatus, upsertRecipient } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import { startAdmin, type AdminHarness } from '../web/admin-harness.js';

describe.each(DIALECTS)('admin API recipients and SFTP users (%s)', (dialect) => {
  let h: AdminHarness;
  beforeEach(async () => {
    h = await startAdmin(dialect);
  });
  afterEach(() => h.close());

  it('searches recipients by email or mobile, filters by list and status, and pages them', async () => {
    const db = h.store.db;
    const ids: number[] = [];
    for (const n of [1, 2, 3, 4, 5])
      ids.push(
        (await upsertRecipient(db, { accountId: 'acme', email: `u${n}@example.com`, listId: 1 })).recipient
          .id,
      );
    await upsertRecipient(db, { accountId: 'acme', mobile: '+393471234567', listId: 1 });
    await setSubscriptionStatus(db, {
      accountId: 'acme',
      recipientId: ids[1]!,
      listId: 1,
      channel: 'email',
      status: 'unsubscribed',
      optoutType: '2',
    });
    const byEmail = (
      await h.req('GET', '/api/v1/accounts/acme/recipients?q=u3@EXAMPLE.com', { token: h.acmeToken })
    ).json();
    expect(byEmail.items).toEqual([expect.objectContaining({ id: ids[2], email: 'u3@example.com' })]);
    const byMobile = (await h.req('GET', '/api/v1/accounts/acme/recipients?q=%2B39%20347%201234567')).json();
    expect(byMobile.items).toEqual([expect.objectContaining({ mobile: '393471234567' })]);
    expect((await h.req('GET', '/api/v1/accounts/acme/recipients?q=nonsense')).statusCode).toBe(400);

    // The local part's case: imports keep it, so the search matches an address in any case.
    const zed = (await upsertRecipient(db, { accountId: 'acme', email: 'zed@example.com' })).recipient.id;
    const mixed = (await upsertRecipient(db, { accountId: 'acme', email: 'Mia.Rossi@Example.com' })).recipient
      .id;
    const search = async (q: string) =>
      (await h.req('GET', `/api/v1/accounts/acme/recipients?q=${encodeURIComponent(q)}`)).json().items as {
        id: number;
      }[];
    expect((await search('ZED@example.com')).map((r) => r.id)).toEqual([zed]);
    expect((await search('Zed@EXAMPLE.COM')).map((r) => r.id)).toEqual([zed]);
    expect((await search('mia.rossi@example.com')).map((r) => r.id)).toEqual([mixed]);
    expect((await search('Mia.Rossi@example.com')).map((r) => r.id)).toEqual([mixed]);
    expect(await search('zed2@example.com')).toEqual([]);
    expect(
      (
        await h.req('GET', '/api/v1/accounts/acme/recipients?q=ZED@example.com', { token: h.acmeToken })
      ).json().items,
    ).toHaveLength(1);

    const unsub = (
      await h.req('GET', '/api/v1/accounts/acme/recipients?listId=1&status=unsubscribed')
    ).json();
    expect(unsub.items).toEqual([
      expect.objectContaining({
        id: ids[1],
        subscriptions: [expect.objectContaining({ listId: 1, status: 'unsubscribed', optoutType: '2' })],
      }),
    ]);
    expect((await h.req('GET', '/api/v1/accounts/acme/recipients?status=gone')).statusCode).toBe(400);
    expect((await h.req('GET', '/api/v1/accounts/acme/recipients?listId=9')).json().error.code).toBe(
      'DS_LIST_UNKNOWN',
    );
    const seen: number[] = [];
    let url = '/api/v1/accounts/acme/recipients?limit=4&channel=email';
    for (;;) {
      const page = (await h.req('GET', url)).json() as { items: { id: number }[]; next: string | null };
      seen.push(...page.items.map((r) => r.id));
      if (!page.next) break;
      url = `/api/v1/accounts/acme/recipients?limit=4&channel=email&after=${page.next}`;
    }
    expect(seen).toEqual(ids);
    expect((await h.req('GET', '/api/v1/accounts/other/recipients', { token: h.acmeToken })).statusCode).toBe(
      403,
    );
  });

  it('adds SFTP users, sets passwords, adds and removes keys, removes users — never showing secrets', async () => {
    const base = '/api/v1/accounts/acme/sftp-users';
    const key = path.join(h.dataDir, 'id_test');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ops@acme', '-f', key]);
    const pub = fs.readFileSync(`${key}.pub`, 'utf8');
    const fp = execFileSync('ssh-keygen', ['-lf', `${key}.pub`], { encoding: 'utf8' }).split(' ')[1]!;

    expect((await h.req('POST', base, { body: { username: 'demo' } })).statusCode).toBe(400);
    expect((await h.req('POST', base, { body: { username: 'demo', password: 'short' } })).statusCode).toBe(
      400,
    );
    const made = await h.req('POST', base, {
      token: h.acmeToken,
      body: { username: 'demo', password: 'a-long-password' },
    });
    expect(made.statusCode).toBe(201);
    expect(made.json()).toMatchObject({ username: 'demo', hasPassword: true, keys: [] });
    expect(JSON.stringify(made.json())).not.toContain('a-long-password');
    expect(
      (await h.req('POST', base, { body: { username: 'demo', password: 'another-pass' } })).statusCode,
    ).toBe(409);

    const added = await h.req('POST', `${base}/demo/keys`, { body: { authorizedKeys: pub } });
    expect(added.statusCode).toBe(201);
    expect(added.json().added).toEqual([{ algo: 'ssh-ed25519', fingerprint: fp, comment: 'ops@acme' }]);
    expect(
      (await h.req('POST', `${base}/demo/keys`, { body: { authorizedKeys: 'ssh-ed25519 AAAAnotakey' } }))
        .statusCode,
    ).toBe(400);
    expect((await h.req('PUT', `${base}/demo/password`, { body: { password: null } })).statusCode).toBe(204);
    const list = (await h.req('GET', base)).json();
    expect(list).toEqual({
      items: [expect.objectContaining({ username: 'demo', hasPassword: false })],
      next: null,
    });
    expect(
      (await h.req('DELETE', `${base}/demo/keys?fingerprint=${encodeURIComponent(fp)}`)).statusCode,
    ).toBe(204);
    expect(
      (await h.req('DELETE', `${base}/demo/keys?fingerprint=${encodeURIComponent(fp)}`)).statusCode,
    ).toBe(404);
    expect((await h.req('DELETE', `${base}/demo/keys?fingerprint=nope`)).statusCode).toBe(400);
    expect(
      (await h.req('PUT', `${base}/demo/password`, { body: { password: 'new-long-password' } })).statusCode,
    ).toBe(204);

    // Another account's path does not reach acme's user, and an account token cannot reach another account.
    expect((await h.req('DELETE', '/api/v1/accounts/other/sftp-users/demo')).statusCode).toBe(404);
    expect(
      (
        await h.req('PUT', '/api/v1/accounts/other/sftp-users/demo/password', {
          body: { password: 'x-long-password' },
        })
      ).statusCode,
    ).toBe(404);
    expect((await h.req('GET', '/api/v1/accounts/other/sftp-users', { token: h.acmeToken })).statusCode).toBe(
      403,
    );
    expect((await h.req('DELETE', `${base}/demo`)).statusCode).toBe(204);
    expect((await h.req('GET', base)).json().items).toEqual([]);

    const audit = (await h.req('GET', '/api/v1/accounts/acme/audit')).json();
    expect(audit.items.map((e: { action: string }) => e.action).reverse()).toEqual([
      'sftp_user.create',
      'sftp_key.add',
      'sftp_user.password_remove',
      'sftp_key.remove',
      'sftp_user.password_set',
      'sftp_user.remove',
    ]);
    expect(JSON.stringify(audit)).not.toContain('a-long-password');
  });
});
