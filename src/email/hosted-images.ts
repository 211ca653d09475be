/**
 * Hosted images (`EmbeddedImages=false`): instead of travelling as CID parts in every message, the images
 * of a campaign are stored once by datasync and the message links them by URL (`GET /m/…`,
 * http/media.routes.ts).
 *
 * - Content-addressed: `<dataDir>/media/<accountId>/<sha256>.<ext>`. The same image uploaded twice is one
 *   file; a name never changes content, so it can be cached forever; the hash makes names unguessable.
 * - Whitelisted by magic bytes: PNG, JPEG, GIF, WebP. The extension (and so the served Content-Type) comes
 *   from the content, never from the archive's file name. SVG is refused: served from datasync's own origin
 *   (the dashboard's too) a script in it would run there if the URL were opened directly.
 * - Written atomically: a temporary name (never matching the served pattern) renamed into place, so a
 *   reader sees the whole file or nothing. The worker writes and the HTTP role serves, so both must share
 *   the data directory (as they share the hosted spaces).
 */
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { mediaFile, mediaUrl, type MediaExt } from '../http/index.js';

export interface HostedImages {
  /** The data directory (`config.dataDir`). */
  dataDir: string;
  /** Base URL mail clients reach (`http.publicUrl`, as for tracking links). */
  publicUrl: string;
}

/** The hostable type of `content` by its magic bytes, or null (SVG, HTML, anything else). */
export function sniffImage(content: Buffer): MediaExt | null {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => content[at + i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (starts([0xff, 0xd8, 0xff])) return 'jpg';
  const head = content.subarray(0, 12).toString('latin1');
  if (head.startsWith('GIF87a') || head.startsWith('GIF89a')) return 'gif';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return 'webp';
  return null;
}

/**
 * Store `content` for `accountId`; returns its public URL, or null when it is not a hostable image type.
 * An existing file of the same name is the same content and is left as it is.
 */
export async function hostImage(
  h: HostedImages,
  accountId: string,
  content: Buffer,
): Promise<{ url: string; name: string } | null> {
  const ext = sniffImage(content);
  if (!ext) return null;
  const name = `${createHash('sha256').update(content).digest('hex')}.${ext}`;
  const file = mediaFile(h.dataDir, accountId, name);
  if (!file) throw new Error(`account id ${JSON.stringify(accountId)} cannot name a media folder`);
  const exists = await fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
  if (!exists) {
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o750 });
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      await fs.writeFile(tmp, content, { mode: 0o640, flag: 'wx' });
      await fs.rename(tmp, file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }
  return { url: mediaUrl(h.publicUrl, accountId, name), name };
}
