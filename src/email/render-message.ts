/**
 * One message for one recipient: dynamic fields, tracked links, the unsubscribe link, the open pixel and the
 * RFC 8058 headers. Pure (no I/O), so the benchmark measures rendering and the tests can call it directly.
 */
import type { TrackingLinks } from '../http/index.js';
import type { MessageAttachment } from '../store/engagement-messages.repository.js';
import { DEFAULT_LINK_TRACKING, rewriteLinks, type LinkTrackingOptions } from './link-tracking.js';
import { escapeHtml, personalize, type FieldValues } from './personalize.js';

/** What a message looks like before personalisation (a `messages` row, plus per-send options). */
export interface MessageTemplate {
  subject: string;
  html: string | null;
  text: string | null;
  senderEmail: string;
  senderName: string | null;
  replyTo: string | null;
  /** Files attached to every message; an attachment with a `cid` is an inline image (`<img src="cid:…">`). */
  attachments: Array<MessageAttachment & { cid?: string }>;
}

export interface RenderOptions {
  /** Substitute `[field]` placeholders (`DynamicFields`). Default true. */
  dynamicFields?: boolean;
  tracking?: LinkTrackingOptions;
  /** Add the 1×1 open pixel to HTML bodies. Default true. */
  openPixel?: boolean;
}

export interface RenderedMessage {
  from: { name: string; address: string } | string;
  to: string;
  replyTo?: string;
  subject: string;
  html?: string;
  text?: string;
  headers: Record<string, string>;
  attachments: Array<{ filename: string; contentType: string; content: Buffer; cid?: string }>;
}

const UNSUBSCRIBE_NAMES = new Set(['unsubscribe', 'unsubscribe_url', 'unsubscribeurl']);

/** Render `t` for one recipient of sending `sendingId` (internal ids, as tracking tokens carry). */
export function renderMessage(
  t: MessageTemplate,
  recipient: { id: number; email: string; values: FieldValues },
  sendingId: number,
  links: TrackingLinks,
  opts: RenderOptions = {},
  /** Decoded attachments, shared by every message of a send (decode base64 once, not per recipient). */
  attachments?: RenderedMessage['attachments'],
): RenderedMessage {
  const dynamic = opts.dynamicFields ?? true;
  const unsubscribeUrl = links.unsubscribeUrl(sendingId, recipient.id);
  const special = (name: string) => (UNSUBSCRIBE_NAMES.has(name) ? unsubscribeUrl : undefined);
  const sub = (s: string, html: boolean) =>
    dynamic
      ? personalize(s, recipient.values, { html, special: html ? (n) => escapeAttr(special(n)) : special })
      : s;

  let html: string | undefined;
  if (t.html) {
    html = sub(t.html, true);
    html = rewriteLinks(
      html,
      opts.tracking ?? DEFAULT_LINK_TRACKING,
      (url) => links.clickUrl(sendingId, recipient.id, url),
      (url) => url === unsubscribeUrl,
    );
    // Every message carries a working unsubscribe link, whether or not the template placed one.
    if (!html.includes(escapeHtml(unsubscribeUrl)) && !html.includes(unsubscribeUrl))
      html = beforeBodyEnd(
        html,
        `<p style="font-size:12px;color:#666">To stop receiving these emails, <a href="${escapeHtml(unsubscribeUrl)}">unsubscribe</a>.</p>`,
      );
    if (opts.openPixel ?? true)
      html = beforeBodyEnd(
        html,
        `<img src="${escapeHtml(links.openUrl(sendingId, recipient.id))}" width="1" height="1" alt="" style="display:block;border:0">`,
      );
  }
  let text: string | undefined;
  if (t.text) {
    text = sub(t.text, false);
    if (!text.includes(unsubscribeUrl)) text += `\n\nUnsubscribe: ${unsubscribeUrl}\n`;
  } else if (!html) text = `Unsubscribe: ${unsubscribeUrl}\n`;

  return {
    from: t.senderName ? { name: t.senderName, address: t.senderEmail } : t.senderEmail,
    to: recipient.email,
    ...(t.replyTo ? { replyTo: t.replyTo } : {}),
    subject: sub(t.subject, false),
    ...(html !== undefined ? { html } : {}),
    ...(text !== undefined ? { text } : {}),
    // RFC 8058 headers, as links.listUnsubscribeHeaders() writes them, from the URL sealed above (sealing is
    // a third of the rendering cost; no need to seal the same token twice).
    headers: {
      'List-Unsubscribe': `<${unsubscribeUrl}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    attachments: attachments ?? decodeAttachments(t.attachments),
  };
}

export function decodeAttachments(list: MessageTemplate['attachments']): RenderedMessage['attachments'] {
  return list.map((a) => ({
    filename: a.filename,
    contentType: a.contentType,
    content: Buffer.from(a.content, 'base64'),
    ...(a.cid ? { cid: a.cid } : {}),
  }));
}

function escapeAttr(s: string | undefined): string | undefined {
  return s === undefined ? undefined : escapeHtml(s);
}

function beforeBodyEnd(html: string, snippet: string): string {
  const i = html.search(/<\/body\s*>/i);
  return i < 0 ? html + snippet : html.slice(0, i) + snippet + html.slice(i);
}
