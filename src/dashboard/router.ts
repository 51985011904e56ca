import express from 'express';
import { dashboardApiRouter, type DashboardDeps } from './api';
import { assetsRouter } from './assets';

export type { DashboardDeps } from './api';
export { dashboardPayload, dashboardPublicDir } from './assets';

/**
 * The dashboard at /dashboard: the static page (public) and its data under /api. Every endpoint
 * with data and every /v1 call the page makes needs the admin bearer token; the page keeps it in
 * sessionStorage.
 */
export function dashboardRouter(deps: DashboardDeps): express.Router {
  const router = express.Router();
  router.use(assetsRouter(deps.logger));
  router.use('/api', dashboardApiRouter(deps));
  return router;
}
