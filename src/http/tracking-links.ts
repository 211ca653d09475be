/**
 * Building tracked URLs for one recipient of one sending (the email engine calls this while rendering):
 * open pixel, click redirects, the unsubscribe page, and the RFC 8058 `List-Unsubscribe` headers.
 */
import { sealToken } from './tracking-token.js';

export interface TrackingLinks {
  /** `<publicUrl>/t/o/<token>.gif` — the 1×1 open pixel. */
  openUrl(sendingId: number, recipientId: number): string;
  /** `<publicUrl>/t/c/<token>` — redirects to `url` (absolute http(s) only, else DS_TRACKING_URL_REFUSED). */
  clickUrl(sendingId: number, recipientId: number, url: string): string;
  /** `<publicUrl>/t/u/<token>` — GET shows a confirmation, POST unsubscribes. */
  unsubscribeUrl(sendingId: number, recipientId: number): string;
  /** Headers for RFC 8058 one-click unsubscribe (webmail "unsubscribe" buttons). */
  listUnsubscribeHeaders(
    sendingId: number,
    recipientId: number,
  ): Record<'List-Unsubscribe' | 'List-Unsubscribe-Post', string>;
}

/**
 * @param publicUrl base URL recipients' mail clients reach (`http.publicUrl`), e.g. `https://t.example.com`
 * @param key the tracking secret (`loadTrackingKey(dataDir)`)
 * Ids are internal: `sendings.id` (Sending.id) and `recipients.id`.
 */
export function createTrackingLinks(publicUrl: string, key: Buffer): TrackingLinks {
  const base = publicUrl.replace(/\/+$/, '');
  const unsubscribeUrl = (sendingId: number, recipientId: number) =>
    `${base}/t/u/${sealToken(key, { kind: 'unsubscribe', sendingId, recipientId })}`;
  return {
    openUrl: (sendingId, recipientId) =>
      `${base}/t/o/${sealToken(key, { kind: 'open', sendingId, recipientId })}.gif`,
    clickUrl: (sendingId, recipientId, url) =>
      `${base}/t/c/${sealToken(key, { kind: 'click', sendingId, recipientId, url })}`,
    unsubscribeUrl,
    listUnsubscribeHeaders: (sendingId, recipientId) => ({
      'List-Unsubscribe': `<${unsubscribeUrl(sendingId, recipientId)}>`,
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    }),
  };
}
