/**
 * email/ — the sending engine: per-recipient rendering (dynamic fields, tracked links, open pixel,
 * unsubscribe link and RFC 8058 headers) and campaign sends over a pooled SMTP transport (nodemailer).
 * Syntax of dynamic fields: personalize.ts and docs/ftpzip.md.
 */
export { personalize, recipientValues, escapeHtml, type FieldValues } from './personalize.js';
export {
  rewriteLinks,
  appendQuery,
  DEFAULT_LINK_TRACKING,
  type LinkTrackingOptions,
} from './link-tracking.js';
export {
  renderMessage,
  decodeAttachments,
  type MessageTemplate,
  type RenderOptions,
  type RenderedMessage,
} from './render-message.js';
export {
  createEmailTransport,
  smtpResponseCode,
  type EmailTransport,
  type SmtpSettings,
} from './email-transport.js';
export { sendCampaign, type SendCampaignInput, type SendCampaignResult } from './send-campaign.js';
export {
  sendTransactional,
  type SendTransactionalInput,
  type SendTransactionalResult,
} from './send-transactional.js';
export { type SendRate, type Delivery } from './deliver.js';
export { hostImage, sniffImage, type HostedImages } from './hosted-images.js';
