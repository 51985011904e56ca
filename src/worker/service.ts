import { hostname } from 'node:os';
import path from 'node:path';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities';
import { describeStore, secretValues, type Config } from '../config/config';
import { dashboardRouter } from '../dashboard/router';
import { openMigratedStore, type Store } from '../store';
import { llmStrategy, rulesStrategy, type VariantStrategy } from '../variants';
import { createHttpApp } from '../http';
import { listenWithLimits } from './http-server';
import { createLogger } from './logger';
import { WorkerMetrics } from './metrics';
import { ensureSchedules } from './schedules';
import { newHealthCounters, type HealthCounters } from './counters';
import { connectTemporal, type TemporalConnections } from './temporal';

export interface ServiceOptions {
  logger?: Logger;
  /** Ready-made connections (tests share one dev server); otherwise from config. */
  temporal?: TemporalConnections;
  /** Prebuilt workflow bundle (the Docker image builds it at build time). */
  workflowBundlePath?: string;
  /** Prometheus text of the Temporal core runtime, when it was installed with a scrape endpoint. */
  extraMetrics?: () => Promise<string>;
  /** Extra strategies (tests). */
  strategies?: Record<string, VariantStrategy>;
  clock?: () => Date;
}

export interface RunningService {
  config: Config;
  logger: Logger;
  store: Store;
  temporal: TemporalConnections;
  worker: Worker;
  counters: HealthCounters;
  httpPort: number;
  /** Stops polling, lets running activities finish within the grace time, closes everything. */
  stop(): Promise<void>;
  /** Resolves when the worker stops running (after stop(), or on a fatal worker error). */
  done: Promise<void>;
}

function strategiesFor(config: Config, extra: Record<string, VariantStrategy> = {}): Record<string, VariantStrategy> {
  const strategies: Record<string, VariantStrategy> = { rules: rulesStrategy, ...extra };
  const llm = config.variants.llm;
  if (llm) strategies.llm = llmStrategy({ baseURL: llm.baseURL, apiKey: llm.apiKey, model: llm.model, timeoutMs: llm.timeoutMs });
  return strategies;
}

/** The Temporal worker: bundled workflows when a prebuilt bundle is given (the image), sources otherwise. */
async function createWorker(
  config: Config,
  temporal: { nativeConnection: WorkerOptions['connection'] },
  activities: WorkerOptions['activities'],
  metrics: WorkerMetrics,
  workflowBundlePath: string | undefined,
): Promise<Worker> {
  const workflowSource: Pick<WorkerOptions, 'workflowsPath' | 'workflowBundle'> = workflowBundlePath
    ? { workflowBundle: { codePath: workflowBundlePath } }
    : { workflowsPath: path.join(__dirname, '../workflows', `index${path.extname(__filename)}`) };
  return Worker.create({
    connection: temporal.nativeConnection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    activities,
    ...workflowSource,
    shutdownGraceTime: config.shutdownGraceMs,
    // Activities stuck past the grace (e.g. a query on a dead connection) must not hold the
    // process past the platform's kill deadline.
    shutdownForceTime: config.shutdownGraceMs + 5_000,
    interceptors: { activity: [metrics.activityInterceptor] },
  });
}

export async function startService(config: Config, opts: ServiceOptions = {}): Promise<RunningService> {
  const logger = opts.logger ?? createLogger({ level: config.logLevel, secrets: secretValues(config) });
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch((err) => logger.error({ err: (err as Error).message }, 'cleanup failed'));
  };

  try {
    const { store, migrations } = await openMigratedStore(config.store, {
      migrate: config.migrateOnStart,
      onIdleError: (err) => logger.warn({ err: err.message }, 'database connection lost (will reconnect)'),
    });
    cleanups.push(() => store.close());
    logger.info({ store: describeStore(config.store), applied: migrations?.applied.length ?? 0 }, 'store ready');

    const temporal = opts.temporal ?? (await connectTemporal(config.temporal, logger));
    if (!opts.temporal) cleanups.push(() => temporal.close());
    logger.info({ address: temporal.address, namespace: config.temporal.namespace, ui: config.temporal.uiUrl }, 'temporal connected');

    if (config.schedules.enabled) {
      const result = await ensureSchedules(temporal.client, { taskQueue: config.temporal.taskQueue, ...config.schedules });
      logger.info({ schedules: result }, 'schedules ensured');
    }

    const counters = newHealthCounters();
    const metrics = new WorkerMetrics();
    const strategies = strategiesFor(config, opts.strategies);
    const activities = createActivities({
      store,
      strategies,
      defaultStrategy: config.variants.strategy,
      temporal: { client: temporal.client, taskQueue: config.temporal.taskQueue },
      logger,
      counters,
      rejections: metrics.rejectionCounter,
      clock: opts.clock ?? (() => new Date()),
      workerId: `${hostname()}:${process.pid}`,
      analysisWindowHours: config.analysisWindowHours,
    });
    const worker = await createWorker(config, temporal, activities, metrics, opts.workflowBundlePath);

    const done = worker.run().then(
      () => logger.info('temporal worker stopped'),
      (err) => logger.error({ err: (err as Error).message }, 'temporal worker failed'),
    );

    const app = createHttpApp({
      store,
      client: temporal.client,
      taskQueue: config.temporal.taskQueue,
      namespace: config.temporal.namespace,
      uiUrl: config.temporal.uiUrl,
      adminToken: config.adminToken,
      ingestToken: config.ingestToken,
      counters,
      metrics,
      logger,
      workerProblem: () => (worker.getState() === 'RUNNING' ? null : `temporal worker is ${worker.getState()}`),
      extraMetrics: opts.extraMetrics,
      startedAt: Date.now(),
      feedbackWindowMs: config.feedbackWindowMs,
      mounts: [
        {
          path: '/dashboard',
          router: dashboardRouter({
            store,
            client: temporal.client,
            namespace: config.temporal.namespace,
            uiUrl: config.temporal.uiUrl,
            adminToken: config.adminToken,
            logger,
          }),
        },
      ],
    });
    const { server, port: httpPort } = await listenWithLimits(app, config.port, config.http);
    logger.info({ port: httpPort }, 'http listening');

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        logger.info('shutting down');
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
        // Let in-flight requests (e.g. conversation logging) finish; cut what is left after 5 s.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), 5_000);
        await closed;
        clearTimeout(force);
        await cleanup();
        logger.info('shutdown complete');
      })();
      return stopping;
    };
    return { config, logger, store, temporal, worker, counters, httpPort, stop, done };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
