/**
 * One check of a guarded rollout: the watch's statistics (watch.ts) plus the ramp. What may
 * happen, in this order:
 *
 * - `rollback`: the promoted version is shown worse than the holdback beyond the margin, or
 *   breaks a guardrail, at any step (a regression during the ramp is as real as one after it);
 * - `advance`: the current step has been held for its `holdHours`, another step follows, and no
 *   operator holds the ramp;
 * - `complete`: the last step is reached and the watch is over (`watchHours` since the
 *   promotion), or the plan keeps no holdback at its last step (nothing left to compare with);
 * - `continue`.
 *
 * A held rollout keeps its split and its watch (it still rolls back), but neither advances nor
 * completes on its own. Pure: the caller carries `memory` between checks.
 */
import type { ArmStats, ExperimentPolicy, RolloutPlan } from '../domain/types';
import { watch, type WatchDecision, type WatchMemory } from './watch';

export type RolloutAction = 'continue' | 'advance' | 'rollback' | 'complete';

export interface RolloutCheckInput {
  /** rollout_arm_stats: arm 0 the holdback, arm 1 the promoted version. */
  arms: ArmStats[];
  plan: RolloutPlan;
  /** The experiment's policy: metric, alpha, guardrails, minimum samples. */
  policy: ExperimentPolicy;
  memory?: WatchMemory;
  /** Current step (0-based), whether an operator holds the ramp, and the hours since the step began and since the promotion. */
  step: number;
  held: boolean;
  stepHours: number;
  elapsedHours: number;
}

export interface RolloutDecision extends Omit<WatchDecision, 'action'> {
  action: RolloutAction;
  /** The step this decision was taken at (an `advance` moves from it). */
  step: number;
  elapsedHours: number;
}

export function checkRollout(input: RolloutCheckInput): { decision: RolloutDecision; memory: WatchMemory } {
  const { plan, policy, step, held } = input;
  const holdback = input.arms.find((a) => a.arm === 0);
  const promoted = input.arms.find((a) => a.arm === 1);
  if (!holdback || !promoted) throw new Error('rollout statistics need arm 0 (holdback) and arm 1 (promoted)');
  const lastStep = step >= plan.steps.length - 1;
  const out = watch({
    promoted,
    holdback,
    memory: input.memory,
    elapsedHours: input.elapsedHours,
    policy: {
      metric: policy.metric,
      alpha: policy.alpha,
      margin: plan.margin,
      expectedEffect: policy.expectedEffect,
      guardrails: policy.guardrails,
      minSamplesPerArm: policy.minSamplesPerArm,
      watchHours: plan.watchHours,
    },
  });
  const base = { ...out.decision, step, elapsedHours: input.elapsedHours };
  const decide = (action: RolloutAction, reason: string) => ({ decision: { ...base, action, reason }, memory: out.memory });

  if (out.decision.action === 'rollback') return decide('rollback', out.decision.reason);
  if (held) return decide('continue', `Held by an operator at step ${step + 1} of ${plan.steps.length}. ${out.decision.reason}`);
  if (!lastStep) {
    const hold = plan.steps[step]!.holdHours;
    if (input.stepHours >= hold) {
      const next = plan.steps[step + 1]!;
      return decide(
        'advance',
        `Step ${step + 1} held ${hold} h without a regression shown; moving to step ${step + 2} (${Math.round(next.share * 100)}%). ${out.decision.reason}`,
      );
    }
    return decide('continue', out.decision.reason);
  }
  if (plan.holdbackShare === 0) return decide('complete', 'The ramp reached 100% and the plan keeps no holdback to watch against; done.');
  if (out.decision.action === 'complete') return decide('complete', out.decision.reason);
  return decide('continue', out.decision.reason);
}
