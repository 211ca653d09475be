/**
 * http/ — fastify app: health, metrics, admin API (/api/v1, OpenAPI at /api/openapi.json), tracking (/t),
 * SMS delivery-report webhooks (/hooks/sms). What other capabilities use:
 * - `createTrackingLinks(publicUrl, loadTrackingKey(dataDir))` — tracked URLs for the email engine;
 * - `recordEvents(store, accountId, events)` — the engagement event write path with the status rules;
 * - `bearerAuth(db)` / `assertAccountAccess(req, accountId)` — API auth for more route files (dashboard).
 */
export { buildApp, createMetricsRegistry, type HttpAppOptions } from './app.js';
export {
  createApiToken,
  createApiTokenRecord,
  verifyApiToken,
  hashToken,
  listApiTokens,
  getApiToken,
  revokeApiToken,
  listAdminTokens,
  revokeAdminToken,
  type ApiTokenInfo,
  type AdminTokenInfo,
} from './tokens.js';
export { bearerAuth, assertAccountAccess, principalAccount, type Principal } from './auth.js';
export {
  useZod,
  registerOpenApi,
  errorBodySchema,
  type ZodTypeProvider,
  type OpenApiRouteConfig,
} from './openapi.js';
export { createTrackingLinks, type TrackingLinks } from './tracking-links.js';
export { mediaRoutes, mediaFile, mediaRoot, mediaUrl, MEDIA_TYPES, type MediaExt } from './media.routes.js';
export {
  loadTrackingKey,
  sealToken,
  openToken,
  type TrackingClaims,
  type TokenKind,
} from './tracking-token.js';
export {
  recordEvents,
  parseEventsText,
  type RecordEventsOptions,
  type RecordEventsResult,
  type RejectedEvent,
} from './events.service.js';
export {
  ingestEventSchema,
  INGEST_KINDS,
  type IngestEvent,
  type IngestEventInput,
} from './engagement-event.js';
export { DEFAULT_SOFT_BOUNCE_THRESHOLD, OPTOUT, hardBounceType } from './status-rules.js';
export { normalizeSmsStatus, SMS_STATUSES, type SmsStatus } from './sms-status.js';
export { adminApiRoutes, DEFAULT_UPLOAD_LIMITS, type AdminApiOptions } from './admin-api.routes.js';
export { assertUploadsProcessed, declaredLength } from './admin-files.routes.js';
export { messageSummary, type MessageSummary } from './admin-stats.routes.js';
export {
  instanceDefinitionSchema,
  validateInstanceDefinition,
  type InstanceDefinitionInput,
  type ValidatedInstance,
} from './instance-validation.js';
export {
  uploadToSpace,
  uploadPath,
  UPLOAD_FOLDERS,
  type UploadFolder,
  type UploadLimits,
  type SpaceUploadResult,
} from './space-upload.js';
export { JOB_FILES, resolveJobFile, sendJobFile, jobFilePath } from './admin-jobs.routes.js';
