/**
 * Dashboard sign-in: the API token is kept in an HttpOnly cookie.
 *
 * Why a cookie and not sessionStorage: the pages are rendered on the server, so plain navigations and file
 * downloads (`<a href>`) must carry the credential, which only a cookie does without client-side fetch code.
 * HttpOnly keeps the token out of reach of any script on the page; SameSite=Strict keeps other sites from
 * sending it (CSRF), and every POST also checks that its Origin, when sent, is this server. The cookie lives
 * for the browser session only (no Max-Age), like sessionStorage would.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'ds_token';

export function tokenFromCookie(req: FastifyRequest): string | undefined {
  return readCookie(req, SESSION_COOKIE);
}

/** One cookie of the request, decoded; undefined when absent or empty (a malformed escape reads as absent). */
export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    if (part.slice(0, i).trim() === name) {
      try {
        return decodeURIComponent(part.slice(i + 1).trim()) || undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function attributes(req: FastifyRequest): string {
  return `Path=/; HttpOnly; SameSite=Strict${req.protocol === 'https' ? '; Secure' : ''}`;
}

export function setSessionCookie(req: FastifyRequest, reply: FastifyReply, token: string): void {
  void reply.header('set-cookie', `${SESSION_COOKIE}=${encodeURIComponent(token)}; ${attributes(req)}`);
}

export function clearSessionCookie(req: FastifyRequest, reply: FastifyReply): void {
  void reply.header('set-cookie', `${SESSION_COOKIE}=; Max-Age=0; ${attributes(req)}`);
}

/** A POST from another origin is refused even if a browser sent the cookie (defence in depth over SameSite). */
export function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
