/** Password hashes and authorized_keys parsing. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatePassword, hashPassword, parseAuthorizedKeys, verifyPassword } from '../../src/sftp/index.js';

describe('credentials', () => {
  it('hashes with scrypt and a random salt, and verifies', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, 'correct horse')).toBe(true);
    expect(await verifyPassword(a, 'correct horsE')).toBe(false);
    expect(await verifyPassword('garbage', 'x')).toBe(false);
    expect(await verifyPassword('scrypt$99999999$8$1$AAAA$BBBB', 'x')).toBe(false);
  });

  it('generates strong passwords', () => {
    const pw = generatePassword();
    expect(pw).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(generatePassword()).not.toBe(pw);
  });

  it('parses authorized_keys with comments, options and the fingerprints ssh-keygen prints', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ds-keys-'));
    const lines: string[] = [];
    const fps: string[] = [];
    for (const t of ['ed25519', 'rsa', 'ecdsa']) {
      const f = path.join(dir, t);
      execFileSync('ssh-keygen', ['-q', '-t', t, '-N', '', '-C', `${t}@host`, '-f', f]);
      lines.push((await fs.readFile(`${f}.pub`, 'utf8')).trim());
      fps.push(execFileSync('ssh-keygen', ['-lf', `${f}.pub`], { encoding: 'utf8' }).split(' ')[1]!);
    }
    const text = `# team keys\n\n${lines[0]}\nfrom="10.0.0.0/8",no-pty ${lines[1]}\r\n${lines[2]}\n`;
    const keys = parseAuthorizedKeys(text);
    expect(keys.map((k) => k.algo)).toEqual(['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256']);
    expect(keys.map((k) => k.fingerprint)).toEqual(fps);
    expect(keys.map((k) => k.comment)).toEqual(['ed25519@host', 'rsa@host', 'ecdsa@host']);
  });

  it('names every bad line', () => {
    expect(() => parseAuthorizedKeys('ssh-ed25519 AAAAnotakey x\nssh-dss AAAA y\n')).toThrow(
      expect.objectContaining({
        code: 'DS_VALIDATION',
        details: { problems: [expect.stringMatching(/^line 1: /), expect.stringMatching(/^line 2: /)] },
      }),
    );
  });
});
