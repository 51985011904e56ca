import express, { Router } from 'express';
import { requireToken } from './auth';
import type { HttpDeps } from './deps';
import { errorHandler, notFound } from './errors';
import { experimentsRouter } from './routes/experiments';
import { ingestRouter, isIngestPath, LARGE_BODY_PATHS } from './routes/ingest';
import { jobsRouter } from './routes/jobs';
import { opsRouter } from './routes/ops';
import { promptsRouter } from './routes/prompts';
import { reviewsRouter } from './routes/reviews';
import { rolloutsRouter } from './routes/rollouts';

export type { HttpDeps } from './deps';

/**
 * /v1: two tokens, each opening only its own routes. Every request is authenticated before it is
 * routed, so an unknown /v1 path is 401 without a valid token (the route map is not shown to
 * anonymous callers) and 404 with one.
 */
function v1Router(deps: HttpDeps): Router {
  const v1 = Router();
  // Prompts, excerpts and tokens-in-flight: no browser or proxy may keep a copy (errors included).
  v1.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  const admin = requireToken('admin', deps.adminToken);
  const ingest = requireToken('ingest', deps.ingestToken);
  v1.use((req, res, next) => (isIngestPath(req.path) ? ingest : admin)(req, res, next));
  // Parsed first with their own limit; the 100kb parser then skips an already parsed body.
  for (const [path, limit] of Object.entries(LARGE_BODY_PATHS)) v1.use(path, express.json({ limit, strict: true }));
  v1.use(express.json({ limit: '100kb', strict: true }));
  v1.use(ingestRouter(deps), jobsRouter(deps), experimentsRouter(deps), promptsRouter(deps), reviewsRouter(deps), rolloutsRouter(deps));
  return v1;
}

/** The worker's HTTP surface: /health and /metrics, the /v1 API, extra mounts (the dashboard). */
export function createHttpApp(deps: HttpDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use((req, res, next) => {
    res.on('finish', () => deps.metrics.httpRequests.inc({ route: req.route?.path ?? 'unmatched', status: String(res.statusCode) }));
    next();
  });
  app.use(opsRouter(deps));
  app.use('/v1', v1Router(deps));
  for (const m of deps.mounts ?? []) app.use(m.path, m.router);
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
