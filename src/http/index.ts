/** The HTTP API: composition (app.ts), auth, errors, validation, one router per resource (routes/). */
export { createHttpApp } from './app';
export type { HttpDeps, HttpMetrics } from './deps';
export { bearerToken, requireToken, tokenMatches } from './auth';
export { HttpError } from './errors';
