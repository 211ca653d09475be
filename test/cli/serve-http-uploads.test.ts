/**
 * HTTP uploads on processes without the sftp role, both dialects, real `datasync serve` child processes over a
 * shared database and data directory (the demo account: `/import/*.csv` into list 1):
 *
 * 1. one process with the http and worker roles only: a CSV PUT over the API is imported through the demo
 *    instance with its result files in `/import/done/`, and a CSV2SMS file PUT into `/sms` runs as an SMS job;
 * 2. two processes, http in one and worker in the other: the upload is recorded and moved out of the customer's
 *    reach by the http process alone (the job waits, queued), and the worker started afterwards runs it once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openCliWorkspace, startServe, stopServe, type CliWorkspace, type Served } from '../helpers/cli.js';
import { DIALECTS } from '../helpers/store.js';

const TOKEN = 'ds_test_admin_token_0123456789';
const CSV = '1;2;111;444\nMario;Rossi;mario.rossi@example.com;+393471234567\nAnna;Bianchi;not-an-email;\n';

/** Polls `fn` every 250 ms until it returns a value; throws `what` after `ms`. */
async function until<T>(what: string, ms: number, fn: () => T | null | Promise<T | null>): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe.each(DIALECTS)('HTTP uploads without the sftp role (%s)', (dialect) => {
  let ws: CliWorkspace | undefined;
  const served: Served[] = [];
  afterEach(async () => {
    for (const s of served.splice(0)) if (s.child.exitCode === null) await stopServe(s.child);
    await ws?.close();
    ws = undefined;
  });

  const env = (w: CliWorkspace) => ({
    DATASYNC_DATABASE: w.database,
    DATASYNC_DATA_DIR: w.dataDir,
    DATASYNC_HTTP__ADMIN_TOKEN: TOKEN,
  });
  async function serve(w: CliWorkspace, roles: string[], firstStart: boolean): Promise<Served> {
    const s = await startServe(w.dir, env(w), firstStart, roles);
    served.push(s);
    return s;
  }
  const upload = (s: Served, folder: string, name: string, body: string) =>
    fetch(`http://127.0.0.1:${s.httpPort}/api/v1/accounts/demo/files/${folder}/${name}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv' },
      body,
    });
  const space = (w: CliWorkspace, ...p: string[]) => path.join(w.dataDir, 'spaces', 'demo', ...p);
  const jobs = (w: CliWorkspace) => w.store.db.selectFrom('jobs').selectAll().orderBy('id').execute();
  const resultFile = (dir: string) => () => {
    const f = fs.existsSync(dir) ? fs.readdirSync(dir).find((n) => n.endsWith('.result.json')) : undefined;
    return f ? path.join(dir, f) : null;
  };

  /** The demo import of CSV: one row imported, one rejected, the files in done/, the record ended. */
  async function expectImported(w: CliWorkspace): Promise<string> {
    // Ended for the worker too: the import files its results and records them, then the worker lets go.
    await until('the import job to end', 60_000, async () => {
      const j = (await jobs(w)).find((r) => r.kind === 'import');
      return j?.input_path?.startsWith('/import/done/') && j.lease_owner === null ? j : null;
    });
    const result = resultFile(space(w, 'import', 'done'))();
    const r = JSON.parse(fs.readFileSync(result!, 'utf8')) as { status: string; counters: object };
    expect(r.status).toBe('partial');
    expect(r.counters).toMatchObject({ processed: 2, valid: 1, rejected: 1 });
    const [job, ...more] = (await jobs(w)).filter((j) => j.kind === 'import');
    expect(more).toEqual([]);
    expect(job).toMatchObject({
      instance_id: 'demo-import',
      trigger: 'upload',
      status: 'partial',
      input_path: `/import/done/${job!.id}_contacts.csv`,
    });
    expect(fs.readdirSync(space(w, 'import', 'done')).sort()).toEqual([
      `${job!.id}_contacts.csv`,
      `${job!.id}_contacts.csv.rejected.csv`,
      `${job!.id}_contacts.csv.result.json`,
    ]);
    expect(
      fs.readFileSync(space(w, 'import', 'done', `${job!.id}_contacts.csv.rejected.csv`), 'utf8'),
    ).toContain('DS_EMAIL_INVALID');
    expect(fs.existsSync(space(w, 'import', 'contacts.csv'))).toBe(false);
    const mario = await w.store.db
      .selectFrom('recipients')
      .select('email')
      .where('account_id', '=', 'demo')
      .execute();
    expect(mario).toEqual([{ email: 'mario.rossi@example.com' }]);
    return job!.id;
  }

  it(
    'http + worker in one process: an API upload is imported, and a CSV2SMS upload runs',
    { timeout: 180_000 },
    async () => {
      ws = await openCliWorkspace(dialect, { prefix: 'ds-http-upload-', dataSubdir: 'data' });
      const s = await serve(ws, ['http', 'worker'], true);
      expect(s.sftpPort).toBe(0);

      const put = await upload(s, 'import', 'contacts.csv', CSV);
      expect(put.status, await put.clone().text()).toBe(201);
      expect(await put.json()).toMatchObject({ path: '/import/contacts.csv', size: CSV.length });
      await expectImported(ws);

      const sms = [
        '#peter@example.com',
        '#2012-03-01 14:30',
        '#I',
        '#MailUp',
        '#1',
        '#Special offers',
        '#COD1234567',
        'MOBILE NUMBER;TEXT;Field1;Field2;Field3;Field4;UNICODE',
        '393331234567;Hello [Field1];Peter;A12;;;0',
        '#end of file',
        '',
      ].join('\r\n');
      expect((await upload(s, 'sms', 'offers.csv', sms)).status).toBe(201);
      const w = ws;
      const job = await until('the CSV2SMS job to end', 60_000, async () => {
        const j = (await jobs(w)).find((r) => r.kind === 'csv2sms');
        return j?.ended_at && j.lease_owner === null ? j : null;
      });
      expect(job).toMatchObject({ trigger: 'upload', status: 'succeeded' });
      const result = resultFile(space(ws, 'sms', 'done'))();
      expect(JSON.parse(fs.readFileSync(result!, 'utf8'))).toMatchObject({
        status: 'succeeded',
        counters: { sent: 1 },
      });
      expect(await stopServe(s.child)).toBe(0);
    },
  );

  it(
    'http in one process, worker in another: the upload waits queued, then the worker imports it once',
    { timeout: 180_000 },
    async () => {
      ws = await openCliWorkspace(dialect, { prefix: 'ds-http-upload2-', dataSubdir: 'data' });
      const http = await serve(ws, ['http'], true);
      expect(http.sftpPort).toBe(0);
      const put = await upload(http, 'import', 'contacts.csv', CSV);
      expect(put.status, await put.clone().text()).toBe(201);

      // The http process alone records the job and takes the file out of the customer's reach (invariant 2).
      const w = ws;
      const queued = await until('the job record', 30_000, async () => {
        const [j] = await jobs(w);
        return j && !fs.existsSync(space(w, 'import', 'contacts.csv')) ? j : null;
      });
      expect(queued).toMatchObject({ kind: 'import', instance_id: 'demo-import', status: 'queued' });
      const workFile = path.join(ws.dataDir, 'work', 'imports', 'demo', queued.id, 'contacts.csv');
      expect(fs.readFileSync(workFile, 'utf8')).toBe(CSV);

      await serve(ws, ['worker'], false);
      expect(await expectImported(ws)).toBe(queued.id);
      expect(fs.existsSync(path.dirname(workFile))).toBe(false);
    },
  );
});
