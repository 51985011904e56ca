import { db } from './proxies';

/**
 * Every minute: job rows inserted by other systems (status pending) are claimed with SKIP
 * LOCKED and started as `job-<id>` workflows. Jobs created through the API start at once;
 * intake is the safety net for those too (a crash between insert and start).
 */
export async function jobIntake(input: { max?: number } = {}): Promise<{ claimed: number; started: number[] }> {
  const jobs = await db.claimAndStartJobs({ max: input.max ?? 20 });
  return { claimed: jobs.length, started: jobs.filter((j) => j.started).map((j) => j.jobId) };
}
