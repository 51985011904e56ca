import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { RejectionCode } from '../domain/rejections';
import type { Store } from '../store';
import type { VariantStrategy } from '../variants';

/** Counters the activities increment (per process); the worker reports them on /health. */
export interface ActivityCounters {
  jobsCompleted: number;
  jobsFailed: number;
  patternsAnalyzed: number;
  variantsGenerated: number;
  experimentsCreated: number;
  experimentsCompleted: number;
}

/**
 * Where refused variant candidates are counted, by reason code and strategy (the worker backs it
 * with a Prometheus counter). A port, so activities need not know about prom-client or the worker.
 */
export interface RejectionCounter {
  count(labels: { code: RejectionCode; strategy: string }): void;
}

/** What the activities need from the outside world; tests hand in real or small parts. */
export interface ActivityDeps {
  store: Store;
  /** Variant strategies by name; `rules` must always be present (offline default). */
  strategies: Record<string, VariantStrategy>;
  defaultStrategy: string;
  /** Starts and inspects workflows (monitors, jobs) from activities. */
  temporal: { client: Client; taskQueue: string };
  logger: Logger;
  counters: ActivityCounters;
  rejections: RejectionCounter;
  clock: () => Date;
  workerId: string;
  analysisWindowHours: number;
}
