/**
 * Hosted images (`EmbeddedImages=false`): the images of Markup.htm are stored content-addressed under the
 * data dir and linked by URL; the running app serves them at `/m/<account>/<sha256>.<ext>` (and nothing else).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sniffImage } from '../../src/email/index.js';
import { getMessage } from '../../src/store/index.js';
import { DIALECTS } from '../helpers/store.js';
import {
  MARKUP,
  PNG,
  RECIPIENTS,
  buildZip,
  campaignZip,
  listTree,
  settingsXml,
  startRig,
  type FtpZipRig,
} from './ftpzip-harness.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** JPEG magic and some bytes: sniffing looks at the signature only. */
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF-body-bytes')]);
const SVG = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>';

const HOSTED_MARKUP = `<html><body><h1>Hi [1]</h1>
<img src="logo.png" alt="logo"><img src='./pics/Photo.png'>
<img src="LOGO.PNG"><img src="https://cdn.example.com/x.gif">
<p><a href="https://shop.example.com/offer">Offer</a></p></body></html>`;

describe.each(DIALECTS)('ftpzip hosted images (%s)', (dialect) => {
  let r: FtpZipRig;
  let mediaDir: string;
  beforeEach(async () => {
    r = await startRig(dialect);
    mediaDir = path.join(r.h.dataDir, 'media');
  });
  afterEach(() => r.close());

  it('FULL with EmbeddedImages false: no CID parts, <img> links the served file, same bytes and type', async () => {
    const s = await r.run(
      await buildZip({
        'Settings.xml': settingsXml({ embeddedImages: 'false' }),
        'Markup.htm': HOSTED_MARKUP,
        'logo.png': PNG,
        // A JPEG under a .png name: the served type and extension follow the content.
        'pics/photo.png': JPEG,
        'Recipients.csv': RECIPIENTS,
      }),
    );
    expect(s.error).toBeNull();
    expect(s.counters).toMatchObject({ sent: 2 });
    const pngUrl = `${r.h.base}/m/${r.seed.accountId}/${sha(PNG)}.png`;
    const jpgUrl = `${r.h.base}/m/${r.seed.accountId}/${sha(JPEG)}.jpg`;

    const mails = await r.sink.waitFor(2);
    for (const m of mails) {
      expect(m.attachments).toEqual([]);
      const html = String(m.html);
      expect(html).not.toContain('cid:');
      // Both references to logo.png (any case) point to the one stored file; absolute URLs stay as they are.
      expect(html.split(`<img src="${pngUrl}"`).length).toBe(3);
      expect(html).toContain(`<img src="${jpgUrl}">`);
      expect(html).toContain('<img src="https://cdn.example.com/x.gif">');
    }
    const message = await getMessage(r.h.store.db, r.seed.accountId, 'email', s.idNl!);
    expect(message.attachments).toEqual([]);
    expect(listTree(mediaDir)).toEqual(
      [`${r.seed.accountId}/${sha(PNG)}.png`, `${r.seed.accountId}/${sha(JPEG)}.jpg`].sort(),
    );

    const png = await fetch(pngUrl);
    expect(png.status).toBe(200);
    expect(png.headers.get('content-type')).toBe('image/png');
    expect(png.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(png.headers.get('etag')).toBe(`"${sha(PNG)}"`);
    expect(png.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await png.arrayBuffer()).equals(PNG)).toBe(true);
    const jpg = await fetch(jpgUrl);
    expect(jpg.headers.get('content-type')).toBe('image/jpeg');
    expect(Buffer.from(await jpg.arrayBuffer()).equals(JPEG)).toBe(true);
    const again = await fetch(pngUrl, { headers: { 'if-none-match': `"${sha(PNG)}"` } });
    expect(again.status).toBe(304);

    // Tracking still works next to hosted images.
    const click = /href="([^"]*\/t\/c\/[^"]+)"/.exec(String(mails[0]!.html))![1]!;
    expect((await fetch(click, { redirect: 'manual' })).status).toBe(302);
  });

  it('a second archive with the same image reuses the file; SAVE stores the linked HTML', async () => {
    const zip = await buildZip({
      'Settings.xml': settingsXml({ action: 'save', embeddedImages: 'false' }),
      'Markup.htm': MARKUP,
      'logo.png': PNG,
    });
    const a = await r.run(zip, 'a.zip');
    const b = await r.run(zip, 'b.zip');
    expect([a.status, b.status]).toEqual(['succeeded', 'succeeded']);
    const m = await getMessage(r.h.store.db, r.seed.accountId, 'email', b.idNl!);
    expect(m.html).toContain(`<img src="${r.h.base}/m/${r.seed.accountId}/${sha(PNG)}.png" alt="logo">`);
    expect(m.attachments).toEqual([]);
    expect(listTree(mediaDir)).toEqual([`${r.seed.accountId}/${sha(PNG)}.png`]);
  });

  it('unknown names, traversal, other methods and non-image names are 404', async () => {
    await r.run(
      await buildZip({
        'Settings.xml': settingsXml({ action: 'save', embeddedImages: 'false' }),
        'Markup.htm': MARKUP,
        'logo.png': PNG,
      }),
    );
    const acct = r.seed.accountId;
    const good = `/m/${acct}/${sha(PNG)}.png`;
    expect((await fetch(r.h.base + good)).status).toBe(200);
    // A file planted by hand next to the images is still not reachable: its name does not match.
    fs.writeFileSync(path.join(mediaDir, acct, 'evil.html'), '<script>1</script>');
    const bad = [
      `/m/${acct}/${sha(Buffer.from('other'))}.png`, // well-formed, unknown
      `/m/${acct}/${sha(PNG)}.jpg`, // right hash, wrong extension
      `/m/${acct}/${sha(PNG).toUpperCase()}.png`,
      `/m/${acct}/${sha(PNG)}.svg`,
      `/m/${acct}/evil.html`,
      `/m/noise/${sha(PNG)}.png`, // another account
      `/m/${acct}/..%2F..%2Fkeys%2Ftracking.key`,
      `/m/..%2Fkeys/tracking.key`,
      `/m/${acct}/%2e%2e`,
      `/m/${acct}/`,
      `/m/${acct}`,
    ];
    for (const url of bad) {
      const res = await fetch(r.h.base + url);
      expect([url, res.status]).toEqual([url, 404]);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('DS_NOT_FOUND');
    }
    // Raw paths that a fetch client would normalise before sending.
    for (const url of [`/m/${acct}/../../keys/tracking.key`, `/m/../keys/tracking.key`]) {
      const res = await r.h.app.inject({ method: 'GET', url });
      expect([url, res.statusCode]).toEqual([url, 404]);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD'] as const) {
      const res = await r.h.app.inject({ method, url: good });
      expect([method, res.statusCode]).toEqual([method, 404]);
    }
  });

  it('refuses SVG and non-image content when hosting; nothing is stored or sent', async () => {
    for (const [name, content] of [
      ['logo.svg', SVG],
      ['logo.png', '<html><script>alert(1)</script></html>'],
    ] as const) {
      const s = await r.run(
        await buildZip({
          'Settings.xml': settingsXml({ embeddedImages: 'false' }),
          'Markup.htm': `<html><body><img src="${name}"></body></html>`,
          [name]: content,
          'Recipients.csv': RECIPIENTS,
        }),
        `bad-${name}.zip`,
      );
      expect(s.status).toBe('failed');
      expect(s.error?.code).toBe('DS_FTPZIP_IMAGE_REFUSED');
      expect(s.error?.message).toContain(`"${name}"`);
      expect(s.idNl).toBeNull();
    }
    expect(fs.existsSync(path.join(mediaDir, r.seed.accountId))).toBe(false);
    expect(r.sink.messages).toHaveLength(0);
  });

  it('EmbeddedImages true keeps CID parts and writes no media', async () => {
    const s = await r.run(await campaignZip({ embeddedImages: 'true' }));
    expect(s.counters.sent).toBe(2);
    const [m] = await r.sink.waitFor(2);
    const img = m!.attachments.find((a) => a.contentType === 'image/png')!;
    expect(String(m!.html)).toContain(`src="cid:${img.cid}"`);
    expect(String(m!.html)).not.toContain('/m/');
    expect(fs.existsSync(mediaDir)).toBe(false);
  });
});

describe('sniffImage', () => {
  it('knows PNG, JPEG, GIF, WebP by their signatures and nothing else', () => {
    expect(sniffImage(PNG)).toBe('png');
    expect(sniffImage(JPEG)).toBe('jpg');
    expect(sniffImage(Buffer.from('GIF89a\x01\x00'))).toBe('gif');
    expect(sniffImage(Buffer.from('GIF87a\x01\x00'))).toBe('gif');
    expect(sniffImage(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 '))).toBe('webp');
    expect(sniffImage(Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt '))).toBeNull();
    expect(sniffImage(Buffer.from(SVG))).toBeNull();
    expect(sniffImage(Buffer.from('<?xml version="1.0"?><svg/>'))).toBeNull();
    expect(sniffImage(Buffer.alloc(0))).toBeNull();
  });
});
