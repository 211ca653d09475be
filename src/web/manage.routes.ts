/**
 * The dashboard's editing forms other than the account page: the instance editor (`instances apply` one
 * instance at a time, with "validate without saving"), an export run for a window (`export run --from --to`),
 * and SFTP users and keys (`datasync users …`). Rendering is in manage.page.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DatasyncError } from '../errors.js';
import { qs } from './html.js';
import {
  exportResultPage,
  instanceEditorPage,
  parseDefinition,
  sftpUsersPage,
  utcInstant,
  type EditorState,
} from './manage.page.js';
import {
  accountOf,
  enc,
  formOf as form,
  page,
  query as q,
  redirectDone,
  sendPage,
  session as s,
} from './page-kit.js';

export async function manageRoutes(pages: FastifyInstance): Promise<void> {
  // Instance editor: `instances apply` one instance at a time, with "validate without saving".
  const editor = async (req: FastifyRequest, reply: FastifyReply, st: EditorState, status = 200) => {
    const r = await instanceEditorPage(s(req).api, st);
    const title = st.id ? `Instance ${st.id}` : 'New instance';
    return sendPage(
      reply.status(status),
      page(req, title, r.body, { section: 'instances', account: st.account }),
    );
  };
  pages.get('/instances/:accountId/new', async (req, reply) =>
    editor(req, reply, { account: (req.params as { accountId: string }).accountId }),
  );
  pages.get('/instances/:accountId/:instanceId/edit', async (req, reply) => {
    const { accountId, instanceId } = req.params as { accountId: string; instanceId: string };
    return editor(req, reply, { account: accountId, id: instanceId });
  });
  pages.post('/instances/:accountId/edit', async (req, reply) => {
    const account = (req.params as { accountId: string }).accountId;
    const f = form(req);
    const id = (f.id ?? '').trim();
    const text = f.definition ?? '';
    const st: EditorState = { account, id, text };
    try {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id))
        throw new DatasyncError(
          'DS_VALIDATION',
          'the instance id is 1 to 64 letters, digits, ".", "_" or "-"',
        );
      const def = parseDefinition(text);
      const url = `/api/v1/accounts/${enc(account)}/instances/${enc(id)}`;
      if (f.action === 'save') {
        await s(req).api.send('PUT', url, def);
        return reply.redirect(`/instances${qs({ account })}`, 303);
      }
      await s(req).api.send('POST', `${url}/validate`, def);
      return editor(req, reply, {
        ...st,
        message: { kind: 'ok', text: 'The definition is valid (not saved).' },
      });
    } catch (e) {
      // Problems are shown above the operator's own text, so nothing typed is lost.
      if (!(e instanceof DatasyncError) || e.code === 'DS_UNAUTHORIZED') throw e;
      return editor(
        req,
        reply,
        { ...st, message: { kind: 'error', text: `${e.code}: ${e.message}` } },
        e.status,
      );
    }
  });

  // Export run now, optionally for a one-off window (`datasync export run ID --from --to`).
  pages.post('/exports/:instanceId/run', async (req, reply) => {
    const instanceId = (req.params as { instanceId: string }).instanceId;
    const f = form(req);
    const body = { from: utcInstant(f.from), to: utcInstant(f.to) };
    const r = await s(req).api.send<Parameters<typeof exportResultPage>[2]>(
      'POST',
      `/api/v1/exports/${enc(instanceId)}/run`,
      body,
    );
    const job = await s(req).api.get<{ accountId: string }>(`/api/v1/jobs/${enc(r.jobId)}`);
    const out = exportResultPage(job.accountId, instanceId, r);
    return sendPage(reply, page(req, out.title, out.body, { section: 'instances', account: job.accountId }));
  });

  // SFTP users and keys (`datasync users …`).
  pages.get('/sftp-users', async (req, reply) => {
    const account = accountOf(req, q(req).account);
    const r = await sftpUsersPage(s(req).api, account, q(req).done);
    return sendPage(reply, page(req, 'SFTP users', r.body, { section: 'sftp', account }));
  });
  const users = (account: string, user?: string) =>
    `/api/v1/accounts/${enc(account)}/sftp-users${user ? `/${enc(user)}` : ''}`;
  const back = (reply: FastifyReply, account: string, done: string) =>
    redirectDone(reply, '/sftp-users', account, done);
  pages.post('/sftp-users/:accountId', async (req, reply) => {
    const account = (req.params as { accountId: string }).accountId;
    const f = form(req);
    await s(req).api.send('POST', users(account), {
      username: (f.username ?? '').trim(),
      ...(f.password ? { password: f.password } : {}),
      ...(f.authorizedKeys?.trim() ? { authorizedKeys: f.authorizedKeys } : {}),
    });
    return back(reply, account, `Added user ${f.username}.`);
  });
  pages.post('/sftp-users/:accountId/:username/password', async (req, reply) => {
    const { accountId, username } = req.params as { accountId: string; username: string };
    const f = form(req);
    await s(req).api.send('PUT', `${users(accountId, username)}/password`, {
      password: f.remove ? null : (f.password ?? ''),
    });
    return back(
      reply,
      accountId,
      f.remove ? `Removed the password of ${username}.` : `Set the password of ${username}.`,
    );
  });
  pages.post('/sftp-users/:accountId/:username/keys', async (req, reply) => {
    const { accountId, username } = req.params as { accountId: string; username: string };
    const r = await s(req).api.send<{ added: unknown[] }>('POST', `${users(accountId, username)}/keys`, {
      authorizedKeys: form(req).authorizedKeys ?? '',
    });
    return back(reply, accountId, `Added ${r.added.length} key(s) to ${username}.`);
  });
  pages.post('/sftp-users/:accountId/:username/keys/remove', async (req, reply) => {
    const { accountId, username } = req.params as { accountId: string; username: string };
    await s(req).api.send(
      'DELETE',
      `${users(accountId, username)}/keys${qs({ fingerprint: form(req).fingerprint })}`,
    );
    return back(reply, accountId, `Removed a key of ${username}.`);
  });
  pages.post('/sftp-users/:accountId/:username/remove', async (req, reply) => {
    const { accountId, username } = req.params as { accountId: string; username: string };
    await s(req).api.send('DELETE', users(accountId, username));
    return back(reply, accountId, `Removed user ${username}.`);
  });
}
