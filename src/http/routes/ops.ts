import { Router } from 'express';
import type { HealthTotals } from '../../store';
import type { HttpDeps } from '../deps';

const CHECK_TIMEOUT_MS = 2_000;

type Probe = 'ok' | 'unreachable';
interface Checks {
  store: Probe;
  temporal: Probe;
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  return Promise.race([work, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

const probe = (call: () => Promise<unknown>): Promise<Probe> =>
  withTimeout(call(), CHECK_TIMEOUT_MS).then(
    () => 'ok',
    () => 'unreachable',
  );

/**
 * One call in flight at a time, shared by every request that arrives meanwhile: a load test or a
 * busy balancer hammering /health sends Temporal and the database one probe at a time, never a
 * pile of them. Results are not reused once settled, so an outage shows on the next request.
 */
function shared<T>(fn: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    inFlight ??= fn().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}

function reasonOf(c: Checks, workerProblem: string | null): string | null {
  const reasons = [workerProblem, c.store === 'ok' ? null : 'store unreachable', c.temporal === 'ok' ? null : 'temporal unreachable'];
  const found = reasons.filter((r): r is string => Boolean(r));
  return found.length > 0 ? found.join('; ') : null;
}

/**
 * `/health` (200 healthy or 503 with a reason) and `/metrics` (Prometheus text). No token:
 * platforms probe them. Healthy means the Temporal worker runs, the store answers a ping and the
 * Temporal frontend answers a cheap call (GetSystemInfo): a worker cut off from either cannot do
 * its job, so the platform should know. `stats` counts what this process did since it started
 * (reset on restart; one worker only); `totals` are the database's counts across every worker and
 * restart (null while the store is unreachable).
 */
export function opsRouter(deps: HttpDeps): Router {
  const router = Router();
  const checks = shared(async (): Promise<Checks> => {
    const [store, temporal] = await Promise.all([
      probe(() => deps.store.ping()),
      probe(() => deps.client.workflowService.getSystemInfo({})),
    ]);
    return { store, temporal };
  });
  const totals = shared((): Promise<HealthTotals | null> => withTimeout(deps.store.healthTotals(), CHECK_TIMEOUT_MS).catch(() => null));

  router.get('/health', async (_req, res) => {
    const workerProblem = deps.workerProblem();
    const c = await checks();
    const reason = reasonOf(c, workerProblem);
    const body = {
      uptime: Math.round((Date.now() - deps.startedAt) / 1000),
      // worker: 'ok', or why not (e.g. "temporal worker is STOPPING").
      checks: { worker: workerProblem ?? 'ok', ...c },
      stats: { ...deps.counters },
      totals: c.store === 'ok' ? await totals() : null,
      timestamp: new Date().toISOString(),
    };
    if (reason) res.status(503).json({ status: 'unhealthy', reason, ...body });
    else res.json({ status: 'healthy', ...body });
  });

  // Browsers ask for /favicon.ico at the root whatever the page links; the dashboard has the icon.
  router.get('/favicon.ico', (_req, res) => {
    res.redirect(301, '/dashboard/favicon.svg');
  });

  router.get('/metrics', async (_req, res) => {
    const own = await deps.metrics.registry.metrics();
    const extra = deps.extraMetrics ? await deps.extraMetrics().catch(() => '') : '';
    res.type(deps.metrics.registry.contentType).send(extra ? `${own}\n${extra}` : own);
  });

  return router;
}
