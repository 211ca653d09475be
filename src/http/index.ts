/** http/ — fastify app: health, metrics (and later the admin API, tracking and webhooks). */
export { buildApp, createMetricsRegistry, type HttpAppOptions } from './app.js';
export { createApiToken, verifyApiToken, hashToken } from './tokens.js';
