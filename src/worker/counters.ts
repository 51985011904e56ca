import type { ActivityCounters } from '../activities';

/**
 * The counters /health reports under `stats`. They count what this process did since it started
 * (activities increment them); totals across restarts and workers are in the database.
 */
export type HealthCounters = ActivityCounters;

export function newHealthCounters(): HealthCounters {
  return { jobsCompleted: 0, jobsFailed: 0, patternsAnalyzed: 0, variantsGenerated: 0, experimentsCreated: 0, experimentsCompleted: 0 };
}
