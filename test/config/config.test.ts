import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, redactConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';

function writeYaml(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ds-config-'));
  const file = path.join(dir, 'datasync.yaml');
  fs.writeFileSync(file, text);
  return file;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('has working embedded defaults with no file', () => {
    const c = loadConfig({ env: {} });
    expect(c.dataDir).toBe('./data');
    expect(c.database).toBe('sqlite');
    expect(c.sftp.port).toBe(2222);
    expect(c.http.port).toBe(8080);
    expect(Object.isFrozen(c.sftp)).toBe(true);
  });

  it('reads YAML and lets DATASYNC_* variables override it, with __ nesting and snake_case keys', () => {
    const file = writeYaml('sftp:\n  port: 22\n  bruteForce:\n    maxFailures: 3\nhttp:\n  port: 9000\n');
    const c = loadConfig({
      file,
      env: {
        DATASYNC_HTTP__PORT: '9100',
        DATASYNC_SFTP__BRUTE_FORCE__BAN_SECONDS: '60',
        DATASYNC_DEMO: 'false',
      },
    });
    expect(c.sftp.port).toBe(22);
    expect(c.sftp.bruteForce).toEqual({ maxFailures: 3, windowSeconds: 300, banSeconds: 60 });
    expect(c.http.port).toBe(9100);
    expect(c.demo).toBe(false);
  });

  it('takes DATABASE_URL when no database key is given', () => {
    expect(loadConfig({ env: { DATABASE_URL: 'postgres://u:p@h/db' } }).database).toBe('postgres://u:p@h/db');
    expect(
      loadConfig({ env: { DATABASE_URL: 'postgres://u:p@h/db', DATASYNC_DATABASE: 'sqlite' } }).database,
    ).toBe('sqlite');
  });

  it('lists every problem with its path (three mistakes, three lines)', () => {
    const file = writeYaml('sftp:\n  port: "not a port"\n  prot: 22\nhttp:\n  port: 70000\n');
    const p = problems(() => loadConfig({ file, env: {} }));
    expect(p).toHaveLength(3);
    expect(p.some((l) => l.startsWith('sftp.port:'))).toBe(true);
    expect(p.some((l) => l.startsWith('sftp:') && l.includes('prot'))).toBe(true);
    expect(p.some((l) => l.startsWith('http.port:'))).toBe(true);
  });

  it('reports YAML syntax errors and unreadable files', () => {
    expect(problems(() => loadConfig({ file: writeYaml('sftp: [unclosed\n'), env: {} }))[0]).toMatch(/YAML/);
    expect(problems(() => loadConfig({ file: '/nonexistent/datasync.yaml', env: {} }))[0]).toMatch(
      /cannot read/,
    );
  });

  it('redacts secrets for logs', () => {
    const c = loadConfig({
      env: {
        DATASYNC_SMTP__PASSWORD: 's3cret',
        DATASYNC_HTTP__ADMIN_TOKEN: 'abcdefghijklmnopqrstuvwxyz',
        DATABASE_URL: 'postgres://me:pw@db/x',
      },
    });
    const text = JSON.stringify(redactConfig(c));
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('abcdefghijklmnop');
    expect(text).not.toContain(':pw@');
    expect(text).toContain('postgres://me:***@db/x');
  });
});
