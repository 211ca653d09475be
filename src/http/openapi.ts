/**
 * zod schemas on fastify routes, and the OpenAPI document generated from them.
 *
 * Why not fastify-type-provider-zod + @fastify/swagger: zod 4 ships `z.toJSONSchema()`, so what those two
 * packages add for us is a validator compiler (5 lines), a type provider (4 lines) and walking the routes
 * (one `onRoute` hook). Doing it here keeps two dependencies and their fastify/zod version coupling out,
 * and zod stays the only validator: the schema that validates a request is the one that types the handler
 * and the one that documents it.
 *
 * Routes declare `schema: { params, querystring, body, response: { 200: … } }` with zod types, plus
 * `config: { openapi: { summary, tags } }`; routes with `config.openapi.hide` (or no schema) stay out.
 */
import type { FastifyInstance, FastifySchema, FastifyTypeProvider, RouteOptions } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../errors.js';

/** Types route handlers from their zod schemas (`app.withTypeProvider<ZodTypeProvider>()`). */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown;
  serializer: this['schema'] extends z.ZodType ? z.input<this['schema']> : unknown;
}

/** What a route may put in `config.openapi`. */
export interface OpenApiRouteConfig {
  summary?: string;
  description?: string;
  tags?: string[];
  /** Leave the route out of the document. */
  hide?: boolean;
  /** The route needs no bearer token (webhooks authenticate their own way, tracking needs nothing). */
  public?: boolean;
  /** Document this request body without validating it as a whole (routes that validate item by item). */
  body?: unknown;
  /** Content types of the request body, when not only application/json. */
  bodyContentTypes?: string[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    openapi?: OpenApiRouteConfig;
  }
}

function issuesText(
  err: z.ZodError,
  where: string,
): { message: string; issues: { path: string; message: string }[] } {
  const issues = err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const text = issues
    .slice(0, 5)
    .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
    .join('; ');
  return {
    message: `invalid ${where}: ${text}${issues.length > 5 ? ` (+${issues.length - 5} more)` : ''}`,
    issues,
  };
}

/** Install zod as the validator (requests) and plain JSON.stringify as the serializer (responses). */
export function useZod(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const s = schema as unknown as z.ZodType;
    return (data: unknown) => {
      const r = s.safeParse(data);
      if (r.success) return { value: r.data };
      const { message, issues } = issuesText(r.error, httpPart ?? 'request');
      return { error: new ValidationError(message, { details: { issues } }) };
    };
  });
  // Responses are built by our own code from typed values; the schema documents them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
}

interface CollectedRoute {
  method: string;
  url: string;
  schema: FastifySchema;
  openapi: OpenApiRouteConfig;
}

const jsonSchema = (s: unknown, io: 'input' | 'output') =>
  z.toJSONSchema(s as z.ZodType, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;

/**
 * Collect routes as they are added (call before registering them) and serve `/api/openapi.json`.
 * The document is built once, at the first request, when every route is known.
 */
export function registerOpenApi(app: FastifyInstance, info: { title: string; version: string }): void {
  const routes: CollectedRoute[] = [];
  app.addHook('onRoute', (r: RouteOptions) => {
    const openapi = (r.config as { openapi?: OpenApiRouteConfig } | undefined)?.openapi;
    if ((!r.schema && !openapi) || openapi?.hide) return;
    for (const m of [r.method].flat()) {
      if (m === 'HEAD') continue;
      routes.push({ method: m.toLowerCase(), url: r.url, schema: r.schema ?? {}, openapi: openapi ?? {} });
    }
  });
  let doc: unknown;
  app.get(
    '/api/openapi.json',
    { config: { openapi: { hide: true } } },
    async () => (doc ??= build(routes, info)),
  );
}

function build(routes: CollectedRoute[], info: { title: string; version: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [part, where] of [
      ['params', 'path'],
      ['querystring', 'query'],
    ] as const) {
      const s = r.schema[part];
      if (!s) continue;
      const js = jsonSchema(s, 'input');
      const required = new Set((js.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((js.properties as Record<string, unknown>) ?? {}))
        parameters.push({ name, in: where, required: where === 'path' || required.has(name), schema });
    }
    const op: Record<string, unknown> = {
      summary: r.openapi.summary,
      description: r.openapi.description,
      tags: r.openapi.tags,
      parameters: parameters.length ? parameters : undefined,
      security: r.openapi.public ? [] : [{ bearer: [] }],
      responses: {} as Record<string, unknown>,
    };
    const body = r.schema.body ?? r.openapi.body;
    if (body) {
      const schema = jsonSchema(body, 'input');
      const types = r.openapi.bodyContentTypes ?? ['application/json'];
      op.requestBody = { required: true, content: Object.fromEntries(types.map((t) => [t, { schema }])) };
    }
    const responses = (r.schema.response ?? {}) as Record<string, unknown>;
    for (const [code, s] of Object.entries(responses))
      (op.responses as Record<string, unknown>)[code] = {
        description: code.startsWith('2') ? 'success' : 'error',
        content: { 'application/json': { schema: jsonSchema(s, 'output') } },
      };
    (op.responses as Record<string, unknown>).default = {
      description: 'error: `{ "error": { "code": "DS_…", "message": "…" } }` (codes in docs/errors.md)',
      content: { 'application/json': { schema: jsonSchema(errorBodySchema, 'output') } },
    };
    (paths[path] ??= {})[r.method] = op;
  }
  return {
    openapi: '3.1.0',
    info,
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}

/** The one error body of every route (CONVENTIONS #7). */
export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
