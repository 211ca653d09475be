/**
 * Host keys: generated once into `<dataDir>/keys/` and reused on every start, so clients never see a changed
 * host key (which OpenSSH reports as a possible man-in-the-middle and refuses). Several nodes sharing the data
 * directory share the keys. Files are in OpenSSH format, so operators can inspect them with `ssh-keygen -lf`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import ssh2 from 'ssh2';

const { utils } = ssh2;

const KEYS = [
  { file: 'ssh_host_ed25519_key', type: 'ed25519' },
  { file: 'ssh_host_rsa_key', type: 'rsa' },
] as const;

/**
 * A new host key pair that ssh2 itself can read back. ssh2's generator strips every leading zero byte of an
 * ed25519 public key, so about one key in 256 comes out malformed (mscdex/ssh2#1390, #1513) and `parseKey`
 * refuses it; written to disk, such a key would stop every later start. Pairs are checked and drawn again.
 */
export function generateHostKey(type: 'ed25519' | 'rsa'): { private: string; public: string } {
  for (let attempt = 0; attempt < 32; attempt++) {
    const pair =
      type === 'rsa'
        ? utils.generateKeyPairSync('rsa', { bits: 3072 })
        : utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error))
      return pair;
  }
  throw new Error(`could not generate a readable ${type} host key`);
}

async function readIfExists(p: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Loads (creating when missing) the ed25519 and RSA host keys; returns the private keys, ed25519 first. */
export async function loadOrCreateHostKeys(dataDir: string): Promise<Buffer[]> {
  const dir = path.join(dataDir, 'keys');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const out: Buffer[] = [];
  for (const k of KEYS) {
    const file = path.join(dir, k.file);
    let key = await readIfExists(file);
    if (!key) {
      const pair = generateHostKey(k.type);
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
      await fs.writeFile(tmp, pair.private, { mode: 0o600 });
      // link(2) fails if another process created the key meanwhile: then its key wins and ours is dropped, so
      // every node ends up with the same key.
      try {
        await fs.link(tmp, file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      } finally {
        await fs.unlink(tmp);
      }
      key = await fs.readFile(file);
    }
    const parsed = utils.parseKey(key);
    if (parsed instanceof Error)
      throw new Error(
        `host key ${file} cannot be read: ${parsed.message}. Restore it from a backup, or delete it (and its ` +
          `.pub) to generate a new one: clients will then see a changed host key`,
      );
    const pub = Array.isArray(parsed) ? parsed[0] : parsed;
    if (pub && !(await readIfExists(`${file}.pub`))) {
      // Written from the key that won, for operators who publish the fingerprint to customers.
      await fs.writeFile(`${file}.pub`, `${pub.type} ${pub.getPublicSSH().toString('base64')} datasync\n`);
    }
    out.push(key);
  }
  return out;
}
