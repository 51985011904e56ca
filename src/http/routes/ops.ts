import { Router } from 'express';
import type { HttpDeps } from '../deps';

const PING_TIMEOUT_MS = 2_000;

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

/** `/health` (200 healthy or 503 with a reason) and `/metrics` (Prometheus text). No token: platforms probe them. */
export function opsRouter(deps: HttpDeps): Router {
  const router = Router();

  /** Why the service cannot do its job right now, or null. */
  async function problem(): Promise<string | null> {
    const worker = deps.workerProblem();
    if (worker) return worker;
    try {
      await withTimeout(deps.store.ping(), PING_TIMEOUT_MS);
      return null;
    } catch {
      return 'store unreachable';
    }
  }

  router.get('/health', async (_req, res) => {
    const base = { uptime: Math.round((Date.now() - deps.startedAt) / 1000), stats: { ...deps.counters }, timestamp: new Date().toISOString() };
    const reason = await problem();
    if (reason) res.status(503).json({ status: 'unhealthy', reason, ...base });
    else res.json({ status: 'healthy', ...base });
  });

  router.get('/metrics', async (_req, res) => {
    const own = await deps.metrics.registry.metrics();
    const extra = deps.extraMetrics ? await deps.extraMetrics().catch(() => '') : '';
    res.type(deps.metrics.registry.contentType).send(extra ? `${own}\n${extra}` : own);
  });

  return router;
}
