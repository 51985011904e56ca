import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Store } from '../store';
import type { VariantStrategy } from '../variants';
import type { HealthStats } from '../worker/stats';

/** What the activities need from the outside world; tests hand in real or small parts. */
export interface ActivityDeps {
  store: Store;
  /** Variant strategies by name; `rules` must always be present (offline default). */
  strategies: Record<string, VariantStrategy>;
  defaultStrategy: string;
  /** Starts and inspects workflows (monitors, jobs) from activities. */
  temporal: { client: Client; taskQueue: string };
  logger: Logger;
  stats: HealthStats;
  clock: () => Date;
  workerId: string;
  analysisWindowHours: number;
}
