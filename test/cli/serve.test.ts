/**
 * `datasync serve` as a newcomer runs it: first start on an empty data dir prints the demo credentials once,
 * HTTP answers, the demo user logs in over SFTP with OpenSSH's client, and SIGTERM stops the process cleanly.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, stopServe, type Served } from '../helpers/cli.js';
import { runSftp } from '../sftp/sftp-harness.js';

describe('datasync serve (first start, embedded defaults)', () => {
  let cwd: string;
  let s: Served;
  beforeAll(async () => {
    cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-serve-'));
    s = await startServe(cwd, {}, true);
  });
  afterAll(async () => {
    if (s?.child.exitCode === null) await stopServe(s.child);
  });

  it('prints the admin token and the demo SFTP password once, and stores no clear secret', async () => {
    const err = s.stderr();
    expect(err).toMatch(/admin API token: +ds_adm_/);
    const password = /demo password: +(\S+)/.exec(err)?.[1];
    expect(password).toBeTruthy();
    const db = fs.readFileSync(path.join(cwd, 'data', 'datasync.db'));
    expect(db.includes(Buffer.from(password!))).toBe(false);
  });

  it('answers /healthz and /readyz', async () => {
    const h = await fetch(`http://127.0.0.1:${s.httpPort}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toEqual({ status: 'ok' });
    expect((await fetch(`http://127.0.0.1:${s.httpPort}/readyz`)).status).toBe(200);
  });

  it('lets the demo user log in with OpenSSH sftp and see the folders of the hosted space', async () => {
    const password = /demo password: +(\S+)/.exec(s.stderr())![1]!;
    const r = await runSftp({ port: s.sftpPort, dir: cwd }, 'demo', ['ls -1 /'], { password });
    expect(r.code).toBe(0);
    for (const folder of ['export', 'import', 'import_zip', 'sms']) expect(r.stdout).toContain(folder);
    const bad = await runSftp({ port: s.sftpPort, dir: cwd }, 'demo', ['ls /'], {
      password: 'wrong-password',
    });
    expect(bad.code).not.toBe(0);
  });

  it('imports a CSV uploaded to /import through the demo instance and writes the result files', async () => {
    const password = /demo password: +(\S+)/.exec(s.stderr())![1]!;
    const csv = path.join(cwd, 'contacts.csv');
    fs.writeFileSync(
      csv,
      '1;2;111;444\nMario;Rossi;mario.rossi@example.com;+393471234567\nAnna;Bianchi;not-an-email;\n',
    );
    const put = await runSftp({ port: s.sftpPort, dir: cwd }, 'demo', [`put ${csv} /import/contacts.csv`], {
      password,
    });
    expect(put.code).toBe(0);
    // The upload's job runs in the server's worker: wait for its result file (bounded; the job is quick).
    const done = path.join(cwd, 'data', 'spaces', 'demo', 'import', 'done');
    let files: string[] = [];
    for (let i = 0; i < 120 && !files.some((f) => f.endsWith('.result.json')); i++) {
      await new Promise((r) => setTimeout(r, 250));
      files = fs.existsSync(done) ? fs.readdirSync(done) : [];
    }
    const result = files.find((f) => f.endsWith('.result.json'));
    expect(result, `files in done/: ${files.join(', ')}`).toBeTruthy();
    const r = JSON.parse(fs.readFileSync(path.join(done, result!), 'utf8')) as {
      status: string;
      counters: { processed: number; valid: number; rejected: number };
    };
    expect(r.status).toBe('partial');
    expect(r.counters).toMatchObject({ processed: 2, valid: 1, rejected: 1 });
    const rejected = files.find((f) => f.endsWith('.rejected.csv'))!;
    expect(fs.readFileSync(path.join(done, rejected), 'utf8')).toContain('DS_EMAIL_INVALID');
    expect(fs.existsSync(path.join(cwd, 'data', 'spaces', 'demo', 'import', 'contacts.csv'))).toBe(false);
  });

  it('stops cleanly on SIGTERM and does not print the secrets again on the next start', async () => {
    expect(await stopServe(s.child)).toBe(0);
    const again = await startServe(cwd, {});
    try {
      expect(again.stderr()).not.toMatch(/demo password/);
      expect(again.stderr()).not.toMatch(/admin API token/);
      // One request round trip before the signal: the process is serving, not between "ready" and its handlers.
      expect((await fetch(`http://127.0.0.1:${again.httpPort}/healthz`)).status).toBe(200);
    } finally {
      const code = await stopServe(again.child);
      if (code !== 0) console.log('STDOUT', again.stdout(), 'STDERR', again.stderr());
      expect(code).toBe(0);
    }
  });
});
