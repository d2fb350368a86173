import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

/** The session cookie: a MAC of the token, never the token itself, so a stolen cookie jar does not hold the admin token. */
export const SESSION_COOKIE = 'mf_console';

/** How long a login lasts; then the login form again. */
const SESSION_SECONDS = 8 * 3600;

/**
 * The console's one secret check (ADR 40). The token comes in an
 * `Authorization: Bearer` header (scripts) or as the session cookie the login
 * form's POST set (the browser): never in a URL, which logs and histories keep.
 * Comparisons are constant-time over digests of equal length.
 */
export class ConsoleAuth {
  private readonly tokenDigest: Buffer;
  private readonly session: string;

  constructor(token: string) {
    this.tokenDigest = digest(token);
    this.session = createHmac('sha256', token).update('monolith-first console session v1').digest('base64url');
  }

  /** Whether this candidate token is the admin token. */
  matches(candidate: unknown): boolean {
    return typeof candidate === 'string' && candidate.length <= 1024 && timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  /** Whether the request carries the token (header) or a session the token opened (cookie). */
  admits(request: Request): boolean {
    const authorization = request.headers.authorization;
    if (typeof authorization === 'string' && /^Bearer /i.test(authorization)) return this.matches(authorization.slice(7).trim());
    const cookie = cookieOf(request, SESSION_COOKIE);
    return cookie !== undefined && timingSafeEqual(digest(cookie), digest(this.session));
  }

  /** HttpOnly: no script reads it; SameSite=Strict: no other site's page sends it; Secure when the request came over TLS. */
  openSession(request: Request, response: Response): void {
    response.setHeader('Set-Cookie', cookieHeader(this.session, SESSION_SECONDS, isTls(request)));
  }

  closeSession(request: Request, response: Response): void {
    response.setHeader('Set-Cookie', cookieHeader('', 0, isTls(request)));
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function cookieHeader(value: string, maxAge: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/console; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

function isTls(request: Request): boolean {
  return request.secure || request.headers['x-forwarded-proto'] === 'https';
}

function cookieOf(request: Request, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}
