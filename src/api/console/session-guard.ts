import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ERRORS } from '../../errors.ts';
import type { CredentialLookup, Principal } from '../auth/ports.ts';
import type { ConsoleSession, SessionStore } from './sessions.ts';

// What stands between a browser and the console's JSON endpoints: the session cookie (HttpOnly,
// SameSite=Strict, path /console), a same-origin check, and the CSRF header every call must carry.

export const COOKIE = 'cpb_console';
export const CSRF_HEADER = 'x-cpb-csrf';

/** the token of the console cookie in a Cookie header */
export function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

const secure = (request: FastifyRequest) => (request.protocol === 'https' ? '; Secure' : '');

export function sessionCookie(request: FastifyRequest, token: string, maxAgeMs: number): string {
  const maxAge = Math.floor(maxAgeMs / 1000);
  return `${COOKIE}=${token}; Path=/console; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure(request)}`;
}

export function clearedCookie(request: FastifyRequest): string {
  return `${COOKIE}=; Path=/console; Max-Age=0; HttpOnly; SameSite=Strict${secure(request)}`;
}

/**
 * Refuses a request another site's page made: its Origin (sent by browsers on every POST and
 * cross-origin fetch) must name this service's host, and Sec-Fetch-Site, where the browser sends
 * it, be same-origin. The scheme is not compared: behind a TLS-terminating proxy the page is
 * https while this process is reached over http (the proxy must pass the Host header on).
 */
export function assertSameOrigin(request: FastifyRequest): void {
  const origin = request.headers.origin;
  if (origin !== undefined && hostOf(origin) !== request.host) {
    throw ERRORS.forbidden('The console answers only pages of its own origin.');
  }
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') {
    throw ERRORS.forbidden('The console answers only pages of its own origin.');
  }
}

const hostOf = (origin: string) => (URL.canParse(origin) ? new URL(origin).host : undefined);

const hash = (s: string) => createHash('sha256').update(s).digest();
/** compares digests, so neither the length nor the first differing byte shows in the time taken */
export const sameSecret = (a: string, b: string) => timingSafeEqual(hash(a), hash(b));

/**
 * The signed-in principal of a console API call, checked as the API checks a signed call: the
 * session's key must still exist and still belong to its account (a deleted key ends its
 * sessions), and the call must carry the session's CSRF token.
 */
export async function principalOf(
  request: FastifyRequest,
  sessions: SessionStore,
  credentials: CredentialLookup,
  opts: { csrf: boolean } = { csrf: true },
): Promise<Principal & { session: ConsoleSession }> {
  assertSameOrigin(request);
  const token = cookieToken(request.headers.cookie);
  const session = token === undefined ? undefined : sessions.touch(token);
  if (!session) throw ERRORS.consoleSessionRequired();
  const csrf = request.headers[CSRF_HEADER];
  if (opts.csrf && (typeof csrf !== 'string' || !sameSecret(csrf, session.csrf))) {
    throw ERRORS.forbidden(`The console request lacks the session's ${CSRF_HEADER} header.`);
  }
  const key = await credentials.find(session.accessKeyId);
  if (!key || key.account !== session.account) {
    sessions.deleteKey(session.accessKeyId);
    throw ERRORS.consoleSessionRequired();
  }
  return { accessKeyId: session.accessKeyId, account: session.account, session };
}
