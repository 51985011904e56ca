import { ApplicationFailure } from '@temporalio/activity';
import { z } from 'zod';
import type { JobRow, JobType } from '../store';
import type { ActivityDeps } from './deps';
import { finalOnBadInput } from './errors';

const promptKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be a prompt key');
const policy = z.record(z.string(), z.unknown()).optional();

/** Parameters each job type accepts; what the API validates too. */
export const JOB_PARAMS = {
  full_cycle: z.object({
    promptKey, variantCount: z.number().int().min(1).max(5).optional(), strategy: z.enum(['rules', 'llm']).optional(),
    force: z.boolean().optional(), policy,
  }).strict(),
  pattern_analysis: z.object({ promptKey, windowHours: z.number().int().min(1).max(8760).optional() }).strict(),
  variant_generation: z.object({
    promptKey, variantCount: z.number().int().min(1).max(5).optional(), strategy: z.enum(['rules', 'llm']).optional(),
  }).strict(),
  experiment_creation: z.object({
    promptKey, variantVersionIds: z.array(z.uuid()).min(1).max(15), weights: z.array(z.number().positive().max(1)).optional(),
    metric: z.enum(['success', 'rating']).optional(), policy,
  }).strict(),
  experiment_monitoring: z.object({ experimentId: z.uuid() }).strict(),
} satisfies Record<JobType, z.ZodType>;

export type JobParams<T extends JobType> = z.infer<(typeof JOB_PARAMS)[T]>;
export type StartedJob = { [T in JobType]: { id: number; type: T; params: JobParams<T> } }[JobType];

export function parseJobParams(type: JobType, params: unknown): { ok: true; params: StartedJob['params'] } | { ok: false; error: string } {
  const parsed = JOB_PARAMS[type].safeParse(params);
  if (parsed.success) return { ok: true, params: parsed.data };
  return { ok: false, error: parsed.error.issues.map((i) => `params.${i.path.join('.')}: ${i.message}`).join('; ') };
}

export function jobActivities(deps: ActivityDeps) {
  const { store, stats } = deps;
  return {
    /** Marks the job running under this workflow and returns its validated parameters. */
    async startJob(input: { jobId: number; workflowId: string }): Promise<StartedJob> {
      const job: JobRow = await finalOnBadInput(() => store.startJob(input.jobId, input.workflowId));
      const parsed = parseJobParams(job.type, job.params);
      if (!parsed.ok) {
        throw ApplicationFailure.create({ type: 'InvalidJobParams', message: parsed.error, nonRetryable: true });
      }
      return { id: job.id, type: job.type, params: parsed.params } as StartedJob;
    },

    async completeJob(input: { jobId: number; result: unknown }): Promise<void> {
      const before = await finalOnBadInput(() => store.getJob(input.jobId));
      await finalOnBadInput(() => store.completeJob(input.jobId, input.result));
      if (before.status !== 'completed') stats.jobsCompleted++;
    },

    async failJob(input: { jobId: number; error: string }): Promise<void> {
      const before = await finalOnBadInput(() => store.getJob(input.jobId));
      await finalOnBadInput(() => store.failJob(input.jobId, input.error));
      if (before.status !== 'failed') stats.jobsFailed++;
    },
  };
}
