import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { HttpError } from './errors';

export type TokenScope = 'admin' | 'ingest';

const TOKEN_VARIABLE: Record<TokenScope, string> = { admin: 'ADMIN_API_TOKEN', ingest: 'INGEST_API_TOKEN' };

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison (hashing first makes lengths equal, so length leaks nothing either). */
export function tokenMatches(presented: string | undefined, expected: string | undefined): boolean {
  if (!presented || !expected) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 9110 11.1). */
export function bearerToken(req: Request): string | undefined {
  return /^Bearer (.+)$/i.exec(req.get('authorization') ?? '')?.[1];
}

/** Middleware: 503 while the scope has no token configured, 401 unless the request carries it. */
export function requireToken(scope: TokenScope, expected: string | undefined) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    if (!expected) return next(new HttpError(503, `${scope} API is disabled: set ${TOKEN_VARIABLE[scope]}`));
    if (!tokenMatches(bearerToken(req), expected)) return next(new HttpError(401, 'missing or invalid bearer token'));
    next();
  };
}
