import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE } from '../domain/failures';
import { parseJobParams, type StartedJob } from '../domain/jobs';
import type { JobRow } from '../store';
import type { ActivityDeps } from './deps';
import { finalOnBadInput } from './errors';

export type { StartedJob } from '../domain/jobs';

export function jobActivities(deps: ActivityDeps) {
  const { store, counters } = deps;
  return {
    /** Marks the job running under this workflow and returns its validated parameters. */
    async startJob(input: { jobId: number; workflowId: string }): Promise<StartedJob> {
      const job: JobRow = await finalOnBadInput(() => store.startJob(input.jobId, input.workflowId));
      const parsed = parseJobParams(job.type, job.params);
      if (!parsed.ok) {
        throw ApplicationFailure.create({ type: FAILURE.InvalidJobParams, message: parsed.error, nonRetryable: true });
      }
      return { id: job.id, type: job.type, params: parsed.params } as StartedJob;
    },

    async completeJob(input: { jobId: number; result: unknown }): Promise<void> {
      const before = await finalOnBadInput(() => store.getJob(input.jobId));
      await finalOnBadInput(() => store.completeJob(input.jobId, input.result));
      if (before.status !== 'completed') counters.jobsCompleted++;
    },

    async failJob(input: { jobId: number; error: string }): Promise<void> {
      const before = await finalOnBadInput(() => store.getJob(input.jobId));
      await finalOnBadInput(() => store.failJob(input.jobId, input.error));
      if (before.status !== 'failed') counters.jobsFailed++;
    },
  };
}
