import type { Client } from '@temporalio/client';
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import type { ActivityCounters } from '../activities';
import type { Store } from '../store';

/** The metrics the HTTP layer reports to and serves (the worker's registry). */
export interface HttpMetrics {
  registry: Registry;
  httpRequests: Counter<'route' | 'status'>;
}

/** Everything the routers need; the worker builds it once (src/worker/service.ts). */
export interface HttpDeps {
  store: Store;
  client: Client;
  taskQueue: string;
  namespace: string;
  uiUrl: string;
  adminToken?: string;
  ingestToken?: string;
  counters: ActivityCounters;
  metrics: HttpMetrics;
  logger: Logger;
  /** Why the worker is not healthy, or null when it is. */
  workerProblem: () => string | null;
  /** Extra Prometheus text (the Temporal core's own metrics), when available. */
  extraMetrics?: () => Promise<string>;
  startedAt: number;
  /** POST /v1/feedback changes conversations logged at most this long ago (FEEDBACK_WINDOW, default 7 days). */
  feedbackWindowMs?: number;
  /** Extra routers (e.g. the dashboard), mounted before the 404 handler. */
  mounts?: Array<{ path: string; router: Router }>;
}

/** Web UI link of a workflow, as every router returns them. */
export type WorkflowLink = (workflowId: string) => string;
