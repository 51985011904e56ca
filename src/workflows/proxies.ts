import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

/**
 * Activity stubs with explicit timeouts and retries. Database steps retry with backoff for
 * about ten minutes (a restarting database must not fail a week-long experiment); final errors
 * (bad input, not found, conflict) are non-retryable ApplicationFailures raised by the activities.
 */
const databaseRetry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 25 } as const;

export const db = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: databaseRetry,
});

/** Aggregations over large windows: longer, heartbeating. */
export const heavy = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: databaseRetry,
});

/** LLM calls: slow, flaky upstreams; the strategy heartbeats while it waits. */
export const generation = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  heartbeatTimeout: '1m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 6 },
});

/** Terminal job-row writes: retried until they land (no attempt limit), so a row never stays running. */
export const bookkeeping = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' }, // no maximumAttempts: unlimited
});
