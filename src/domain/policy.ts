import { z } from 'zod';
import { DEFAULT_POLICY, METRIC_DEFAULTS, type ExperimentPolicy, type RolloutPlan } from './types';

const RolloutStepSchema = z.object({ share: z.number().gt(0).max(1), holdHours: z.number().min(0).max(8760) }).strict();

/** A rollout plan, any subset (the rest from DEFAULT_ROLLOUT); the SQL checks the same rules again. */
export const RolloutPlanOverrides = z
  .object({
    steps: z
      .array(RolloutStepSchema)
      .min(1)
      .max(10)
      .refine((steps) => steps.every((s, i) => i === 0 || s.share > steps[i - 1]!.share), 'shares must increase from step to step')
      .refine((steps) => steps[steps.length - 1]!.share === 1, 'the last step must have share 1'),
    holdbackShare: z.number().min(0).max(0.5),
    watchHours: z.number().min(0).max(8760),
    margin: z.number().min(0).max(5),
  })
  .partial()
  .strict();

/**
 * Experiment policy overrides as stored in ai_ab_experiments.policy: any subset of
 * ExperimentPolicy. Unknown fields are refused so a typo never silently means "default".
 */
export const PolicyOverrides = z
  .object({
    metric: z.enum(['success', 'rating']),
    alpha: z.number().gt(0).max(0.5),
    expectedEffect: z.number().gt(0).max(5),
    minSamplesPerArm: z.number().int().min(1).max(10_000_000),
    minSuccessesPerArm: z.number().int().min(0).max(10_000_000),
    srmPValue: z.number().gt(0).max(0.5),
    guardrails: z
      .object({
        errorRateMargin: z.number().min(0).max(1),
        latencyP95Margin: z.number().min(0).max(100),
        tokensMargin: z.number().min(0).max(100),
      })
      .partial()
      .strict(),
    minDurationHours: z
      .number()
      .min(0)
      .max(24 * 365),
    recentWindowHours: z
      .number()
      .gt(0)
      .max(24 * 30),
    topicAdjustment: z.boolean(),
    maxDurationHours: z
      .number()
      .gt(0)
      .max(24 * 365),
    checkIntervalSeconds: z
      .number()
      .min(1)
      .max(7 * 86_400),
    requireApproval: z.boolean(),
    rollout: RolloutPlanOverrides,
  })
  .partial()
  .strict()
  .superRefine((o, ctx) => {
    if (!o.rollout) return;
    const plan = { ...DEFAULT_POLICY.rollout, ...o.rollout };
    if (!watchOutlastsRamp(plan))
      ctx.addIssue({
        code: 'custom',
        path: ['rollout', 'watchHours'],
        message: "must exceed the sum of the steps' holdHours while a holdback is kept (the watch counts from the promotion)",
      });
  });

/** The watch counts from the promotion, so with a holdback it must last longer than the ramp (as the SQL checks too). */
function watchOutlastsRamp(plan: RolloutPlan): boolean {
  const rampHours = plan.steps.reduce((sum, s) => sum + s.holdHours, 0);
  return !(plan.holdbackShare > 0 && rampHours > 0 && plan.watchHours <= rampHours);
}

export type PolicyOverrides = z.infer<typeof PolicyOverrides>;

/**
 * The full policy: defaults, then the overrides. Unit-bound defaults follow the metric, so a
 * `rating` experiment gets a rating-sized `expectedEffect` unless one is given.
 */
export function resolvePolicy(overrides: unknown, metric?: 'success' | 'rating'): ExperimentPolicy {
  const o = PolicyOverrides.parse(overrides ?? {});
  const resolvedMetric = metric ?? o.metric ?? DEFAULT_POLICY.metric;
  return {
    ...DEFAULT_POLICY,
    ...o,
    guardrails: { ...DEFAULT_POLICY.guardrails, ...o.guardrails },
    rollout: { ...DEFAULT_POLICY.rollout, ...o.rollout },
    metric: resolvedMetric,
    expectedEffect: o.expectedEffect ?? METRIC_DEFAULTS[resolvedMetric].expectedEffect,
  };
}
