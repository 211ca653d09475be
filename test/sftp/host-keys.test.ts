/**
 * Host key generation: ssh2's ed25519 generator makes about one key in 256 that its own parser refuses
 * (mscdex/ssh2#1390); a server that wrote one to disk could never start again. 3,000 keys drawn here would hit
 * that about 12 times with the raw generator; every key `generateHostKey` returns must parse, and a server
 * started on a fresh data dir must write keys that parse.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateHostKey, loadOrCreateHostKeys } from '../../src/sftp/host-keys.js';

describe('host keys', () => {
  it('every generated ed25519 pair parses back (private and public)', () => {
    let bad = 0;
    for (let i = 0; i < 3000; i++) {
      const pair = generateHostKey('ed25519');
      if (ssh2.utils.parseKey(pair.private) instanceof Error) bad++;
      if (ssh2.utils.parseKey(pair.public) instanceof Error) bad++;
    }
    expect(bad).toBe(0);
  });

  it('keys written on a fresh data dir parse, and a broken key file is refused with what to do', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ds-hostkeys-'));
    try {
      const keys = await loadOrCreateHostKeys(dir);
      expect(keys).toHaveLength(2);
      for (const k of keys) expect(ssh2.utils.parseKey(k)).not.toBeInstanceOf(Error);
      expect(await loadOrCreateHostKeys(dir)).toEqual(keys); // same keys on the next start
      await fs.writeFile(path.join(dir, 'keys', 'ssh_host_ed25519_key'), 'garbage');
      await expect(loadOrCreateHostKeys(dir)).rejects.toThrow(/cannot be read.*delete it/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
