/**
 * `GET /m/<accountId>/<sha256>.<ext>`: the images of FTPZIP campaigns sent with `EmbeddedImages=false`
 * (docs/ftpzip.md "Images"). The worker stores them content-addressed under `<dataDir>/media/<accountId>/`
 * (email/hosted-images.ts); mail clients fetch them here.
 *
 * - No auth: mail clients and webmail image proxies have no credentials. A name is the SHA-256 of the file,
 *   so only someone who received the message (or holds the file) can name it.
 * - No traversal by construction: the account id and the name must match strict patterns (lowercase
 *   account id as the store creates them; 64 hex digits and a whitelisted extension) before any path is
 *   built, so `..`, `/`, `%2f`, dot files and temporary files are 404s without touching the disk.
 * - Only PNG, JPEG, GIF and WebP are ever written (checked by magic bytes at intake, the extension comes from
 *   the content, not from the archive's file name), so the type is known from the extension. SVG is never
 *   hosted (script). `nosniff` and a sandboxing CSP are added all the same, in case a file is planted by hand.
 * - Content never changes for a name: one-year `immutable` cache, the hash as ETag, 304 on `If-None-Match`.
 */
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DatasyncError } from '../errors.js';

/** Extension → Content-Type of what is hosted. */
export const MEDIA_TYPES = {
  png: 'image/png',
  jpg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
} as const;
export type MediaExt = keyof typeof MEDIA_TYPES;

/** Account ids as `createAccount` allows them (store/accounts.ts). */
const ACCOUNT_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const NAME_RE = /^([0-9a-f]{64})\.(png|jpg|gif|webp)$/;

/** `<dataDir>/media` */
export function mediaRoot(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'media');
}

/** Where a hosted file lives; null when the account id or name does not match the patterns. */
export function mediaFile(dataDir: string, accountId: string, name: string): string | null {
  if (!ACCOUNT_RE.test(accountId) || !NAME_RE.test(name)) return null;
  return path.join(mediaRoot(dataDir), accountId, name);
}

/** The public URL of a hosted file. */
export function mediaUrl(publicUrl: string, accountId: string, name: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/m/${accountId}/${name}`;
}

export interface MediaRoutesOptions {
  /** The data directory (`config.dataDir`); files are served from `<dataDir>/media` only. */
  dataDir: string;
}

const notFound = () => new DatasyncError('DS_NOT_FOUND', 'no such image');

export async function mediaRoutes(app: FastifyInstance, opts: MediaRoutesOptions): Promise<void> {
  app.get<{ Params: { accountId: string; name: string } }>(
    '/m/:accountId/:name',
    // Per-request info lines would cost more than the work at campaign volumes (as for /t/…).
    { exposeHeadRoute: false, logLevel: 'warn', config: { openapi: { hide: true } } },
    async (req, reply) => {
      const { accountId, name } = req.params;
      const file = mediaFile(opts.dataDir, accountId, name);
      if (!file) throw notFound();
      const st = await fs.stat(file).catch(() => null);
      if (!st?.isFile()) throw notFound();
      const hash = name.slice(0, 64);
      const ext = name.slice(65) as MediaExt;
      const etag = `"${hash}"`;
      void reply.headers({
        'content-type': MEDIA_TYPES[ext],
        'cache-control': 'public, max-age=31536000, immutable',
        etag,
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; sandbox",
        // Webmail shows the image from its own origin.
        'cross-origin-resource-policy': 'cross-origin',
      });
      const inm = req.headers['if-none-match'];
      if (inm && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag))
        return reply.status(304).send();
      void reply.header('content-length', st.size);
      return reply.send(createReadStream(file));
    },
  );
}
