import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { StoreError } from '../store';

/** An error the API answers with its own status and a message safe to show. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

function storeErrorStatus(err: StoreError): number {
  switch (err.kind) {
    case 'validation':
      return 400;
    case 'not_found':
      return 404;
    case 'conflict':
      return 409;
    case 'unavailable':
      return 503;
    default:
      return 500;
  }
}

/** body-parser's limit in bytes, as configured ("100kb", "1mb"). */
function bodyLimit(bytes: number | undefined): string {
  if (!bytes) return '100kb';
  return bytes >= 1_048_576 ? `${Math.round(bytes / 1_048_576)}mb` : `${Math.round(bytes / 1024)}kb`;
}

const BODY_PARSE_FAILURES = new Set(['entity.parse.failed', 'encoding.unsupported', 'charset.unsupported']);

/** Express's last middleware: every error becomes JSON with a status; only 5xx are logged. */
export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const e = err as { type?: string; status?: number; limit?: number };
    if (err instanceof HttpError) {
      res.status(err.status).json({ error: err.message, ...(err.field ? { field: err.field } : {}) });
    } else if (e?.type === 'entity.too.large') {
      res.status(413).json({ error: `request body too large (limit ${bodyLimit(e.limit)})` });
    } else if (e?.type !== undefined && BODY_PARSE_FAILURES.has(e.type)) {
      res.status(400).json({ error: 'body: malformed JSON', field: 'body' });
    } else if (err instanceof StoreError) {
      const status = storeErrorStatus(err);
      if (status >= 500) logger.error({ err: err.message, code: err.code }, 'store error');
      res.status(status).json({ error: status === 500 ? 'internal error' : err.message });
    } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      // Other client errors raised by Express itself, e.g. a path parameter that is not valid
      // percent-encoding ("Failed to decode param"): the client's fault, not a 500.
      res.status(e.status).json({ error: e.status === 400 ? 'bad request: malformed URL or body' : 'request refused' });
    } else {
      logger.error({ err: (err as Error)?.message, path: req.path }, 'request failed');
      res.status(500).json({ error: 'internal error' });
    }
  };
}

export function notFound(_req: Request, _res: Response, next: NextFunction): void {
  next(new HttpError(404, 'not found'));
}
