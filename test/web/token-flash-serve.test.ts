/**
 * Two real `datasync serve` processes on one data directory and database, as behind a load balancer without
 * sticky sessions: a dashboard token created through the first is shown by the second, on the redirect's
 * page, once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiToken } from '../../src/http/index.js';
import { createAccount } from '../../src/store/index.js';
import { FLASH_COOKIE } from '../../src/web/token-flash.js';
import { openCliWorkspace, startServe, stopServe, type CliWorkspace, type Served } from '../helpers/cli.js';
import { DIALECTS } from '../helpers/store.js';

const newTokenOf = (body: string) => /id="new-token" readonly value="([^"]+)"/.exec(body)?.[1];

describe.each(DIALECTS)('dashboard token flash over two serve processes (%s)', (dialect) => {
  let ws: CliWorkspace;
  const served: Served[] = [];
  beforeEach(async () => {
    ws = await openCliWorkspace(dialect, { prefix: 'ds-flash-serve-' });
    await createAccount(ws.store.db, { id: 'acme', name: 'Acme' });
  });
  afterEach(async () => {
    for (const s of served.splice(0)) if (s.child.exitCode === null) await stopServe(s.child);
    await ws.close();
  });

  it('shows a token created on one process on the other, once', { timeout: 180_000 }, async () => {
    const admin = await createApiToken(ws.store.db, { accountId: null, name: 'ops' });
    const env = {
      DATASYNC_DATABASE: ws.database,
      DATASYNC_DATA_DIR: ws.dataDir,
      DATASYNC_DEMO: 'false',
    };
    // One after the other: the first start migrates the database.
    served.push(await startServe(ws.dir, env));
    served.push(await startServe(ws.dir, env));
    const [a, b] = served.map((s) => `http://127.0.0.1:${s.httpPort}`);

    const login = await fetch(`${a}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: admin }).toString(),
      redirect: 'manual',
    });
    const session = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const post = await fetch(`${a}/account/acme/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session },
      body: new URLSearchParams({ name: 'crm-sync' }).toString(),
      redirect: 'manual',
    });
    expect(post.status).toBe(303);
    const flash = post.headers.getSetCookie().find((c) => c.startsWith(`${FLASH_COOKIE}=`))!;
    expect(flash).toContain('HttpOnly');
    const location = post.headers.get('location')!;

    const shown = await fetch(`${b}${location}`, {
      headers: { cookie: `${session}; ${flash.split(';')[0]}` },
    });
    expect(shown.status).toBe(200);
    const token = newTokenOf(await shown.text());
    expect(token).toMatch(/^ds_acc_/);
    expect(shown.headers.getSetCookie()).toContain(
      `${FLASH_COOKIE}=; Max-Age=0; Path=/account; HttpOnly; SameSite=Strict`,
    );
    const me = await fetch(`${a}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toEqual({ kind: 'account', accountId: 'acme' });

    // The reload, on either process, with the cookie gone: nothing.
    for (const base of [a, b]) {
      const again = await (await fetch(`${base}${location}`, { headers: { cookie: session } })).text();
      expect(newTokenOf(again)).toBeUndefined();
      expect(again).toContain('id="new-token-gone"');
    }
  });
});
