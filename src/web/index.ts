/**
 * web/ — the operator dashboard, served at `/` by the HTTP role (`dashboardRoutes`, a fastify plugin that
 * needs the admin API plugin `adminApiRoutes` registered on the same app: its pages render from that API).
 */
export { dashboardRoutes, type DashboardOptions } from './dashboard.routes.js';
export { escapeHtml, html, raw } from './html.js';
