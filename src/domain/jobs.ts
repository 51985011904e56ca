import { z } from 'zod';
import { PolicyOverrides } from './policy';
import { PromptKey } from './prompt-key';
import { MAX_REVIEW_TIMEOUT_HOURS } from './review';

/**
 * Job types and the parameters each accepts: what the HTTP API validates on submission and what
 * `startJob` validates again when a row inserted by another system is claimed. The store checks
 * at compile time that JOB_TYPES matches the database enum.
 */
export const JOB_TYPES = ['pattern_analysis', 'variant_generation', 'experiment_creation', 'experiment_monitoring', 'full_cycle'] as const;

export type JobType = (typeof JOB_TYPES)[number];

const variantCount = z.number().int().min(1).max(5);
const strategy = z.enum(['rules', 'llm']);

export const JOB_PARAMS = {
  full_cycle: z
    .object({
      promptKey: PromptKey,
      variantCount: variantCount.optional(),
      strategy: strategy.optional(),
      force: z.boolean().optional(),
      policy: PolicyOverrides.optional(),
      // Review before exposure (src/domain/review.ts): a cycle parameter, not an experiment policy,
      // because it gates whether an experiment is created at all.
      review: z.boolean().optional(),
      reviewTimeoutHours: z.number().int().min(1).max(MAX_REVIEW_TIMEOUT_HOURS).optional(),
    })
    .strict(),
  pattern_analysis: z.object({ promptKey: PromptKey, windowHours: z.number().int().min(1).max(8760).optional() }).strict(),
  variant_generation: z.object({ promptKey: PromptKey, variantCount: variantCount.optional(), strategy: strategy.optional() }).strict(),
  experiment_creation: z
    .object({
      promptKey: PromptKey,
      variantVersionIds: z.array(z.uuid()).min(1).max(15),
      weights: z.array(z.number().positive().max(1)).optional(),
      metric: z.enum(['success', 'rating']).optional(),
      policy: PolicyOverrides.optional(),
    })
    .strict(),
  experiment_monitoring: z.object({ experimentId: z.uuid() }).strict(),
} satisfies Record<JobType, z.ZodType>;

export type JobParams<T extends JobType> = z.infer<(typeof JOB_PARAMS)[T]>;

/** A job row whose parameters passed JOB_PARAMS, discriminated by type. */
export type StartedJob = { [T in JobType]: { id: number; type: T; params: JobParams<T> } }[JobType];

export type JobParamsResult = { ok: true; params: StartedJob['params'] } | { ok: false; error: string };

export function parseJobParams(type: JobType, params: unknown): JobParamsResult {
  const parsed = JOB_PARAMS[type].safeParse(params);
  if (parsed.success) return { ok: true, params: parsed.data };
  return { ok: false, error: parsed.error.issues.map((i) => `${['params', ...i.path].join('.')}: ${i.message}`).join('; ') };
}
