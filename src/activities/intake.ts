import { startJobWorkflow } from '../temporal/start';
import type { ActivityDeps } from './deps';

export function intakeActivities(deps: ActivityDeps) {
  const { store, temporal } = deps;
  return {
    /** Claims pending job rows (SKIP LOCKED) and starts their workflows `job-<id>`. */
    async claimAndStartJobs(input: { max: number; leaseSeconds?: number }): Promise<Array<{ jobId: number; started: boolean }>> {
      const out: Array<{ jobId: number; started: boolean }> = [];
      for (let i = 0; i < input.max; i++) {
        const job = await store.claimNextJob(deps.workerId, input.leaseSeconds ?? 120);
        if (!job) break;
        const res = await startJobWorkflow(temporal.client, temporal.taskQueue, job.id);
        out.push({ jobId: job.id, started: res.started });
      }
      return out;
    },
  };
}
