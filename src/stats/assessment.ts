/**
 * One variant against control at one check: the estimate (topic-adjusted where possible), its
 * running and current one-sided evidence, the guardrails and the recent window; then Holm across
 * the variants, and the public VariantAssessment that is stored.
 */
import type { ArmStats, DecisionMemory, ExperimentPolicy, VariantAssessment } from '../domain/types';
import { estimateDifference, type Estimate } from './adjust';
import { expectedLoss, probBeatControl } from './bayes';
import { formatCount } from './format';
import { checkGuardrails } from './guardrails';
import { holm } from './holm';
import { metricRange } from './metric';
import { confidenceSequence, oneSidedPValue, updateDirectional, type DirectionalPValues } from './msprt';
import { checkRecent } from './recent';
import { armName, type AssessedVariant } from './reasons';

/** Internal per-variant state; the public VariantAssessment is derived from it. */
export interface Assessment extends AssessedVariant {
  ci: [number, number];
  pValue: number;
  directional: DirectionalPValues;
  /** One-sided "better" p of this check alone, before Holm. */
  currentUpRaw: number;
}

// ---------------------------------------------------------------------------------------------
// Gates.

/**
 * Minimum sample per arm before its data can move a p-value or allow a promotion: the normal
 * approximation behind the mSPRT is poor for a few dozen conversations or a handful of
 * successes. For the `rating` metric the success minimum applies to rated conversations
 * instead (ratings are optional, so n alone says little about the rating estimate).
 */
export function armGateShortfall(arm: ArmStats, policy: ExperimentPolicy): string | null {
  const needN = policy.minSamplesPerArm;
  const needK = policy.minSuccessesPerArm;
  const label = armName(arm, true);
  if (arm.n < needN) return `${label} has ${formatCount(arm.n)} of ${formatCount(needN)} conversations`;
  if (policy.metric === 'rating') {
    const need = Math.max(2, needK);
    if (arm.ratingN < need) return `${label} has ${formatCount(arm.ratingN)} of ${formatCount(need)} ratings`;
  } else if (arm.successes < needK) {
    return `${label} has ${formatCount(arm.successes)} of ${formatCount(needK)} successes`;
  }
  return null;
}

function passesGate(arm: ArmStats, policy: ExperimentPolicy): boolean {
  return armGateShortfall(arm, policy) === null;
}

// ---------------------------------------------------------------------------------------------
// Per-variant statistics.

function clipInterval([lo, hi]: [number, number], range: number): [number, number] {
  return [Math.max(-range, Math.min(range, lo)), Math.max(-range, Math.min(range, hi))];
}

export type Unadjusted = Omit<Assessment, 'adjustedUp' | 'adjustedDown' | 'currentUp'>;

export function assessVariant(
  control: ArmStats,
  variant: ArmStats,
  policy: ExperimentPolicy,
  memory: DecisionMemory,
  elapsedHours: number,
): Unadjusted {
  const estimate = estimateDifference(control, variant, policy.metric, policy.topicAdjustment);
  const range = metricRange(policy.metric);
  const pairGate = passesGate(control, policy) && passesGate(variant, policy);
  const tau = policy.expectedEffect;
  const stored = memory.directional?.[variant.versionId];
  let directional: DirectionalPValues = { up: stored?.up ?? 1, down: stored?.down ?? 1 };
  let pValue = memory.pValues[variant.versionId] ?? 1;
  let currentUpRaw = 1;
  // Evidence only accrues once both arms pass the gate. Starting the running minimum late is
  // still valid (it is a minimum over a subset of checks) and keeps small-sample noise out of it.
  if (pairGate && estimate.informative) {
    directional = updateDirectional(directional, estimate.d, estimate.variance, tau);
    currentUpRaw = oneSidedPValue(estimate.d, estimate.variance, tau, 1);
  }
  pValue = Math.min(pValue, directional.up, directional.down);
  const ci = estimate.informative
    ? clipInterval(confidenceSequence(estimate.d, estimate.variance, tau, policy.alpha), range)
    : ([-range, range] as [number, number]);
  const sampleGate = control.n >= policy.minSamplesPerArm && variant.n >= policy.minSamplesPerArm;
  return {
    arm: variant,
    estimate,
    ci,
    pValue,
    directional,
    currentUpRaw,
    guard: checkGuardrails(control, variant, policy.guardrails, policy.alpha, sampleGate),
    recent: checkRecent(control, variant, policy.metric, elapsedHours, policy.minSamplesPerArm, topicVarianceFactor(estimate)),
  };
}

/** How much the topic adjustment shrank the variance (1 when it did not apply). */
function topicVarianceFactor(estimate: Estimate): number {
  return estimate.adjusted && estimate.unadjustedVariance > 0 ? estimate.variance / estimate.unadjustedVariance : 1;
}

/**
 * Holm runs separately over the "better" and the "worse" families, and over this check's own
 * "better" p-values (what a promotion needs). A variant's reported adjustedPValue is the one for
 * the direction of its current estimate.
 */
export function withHolm(assessments: Unadjusted[]): Assessment[] {
  const up = holm(assessments.map((a) => a.directional.up));
  const down = holm(assessments.map((a) => a.directional.down));
  const current = holm(assessments.map((a) => a.currentUpRaw));
  return assessments.map((a, i) => ({ ...a, adjustedUp: up[i] ?? 1, adjustedDown: down[i] ?? 1, currentUp: current[i] ?? 1 }));
}

export function adjustedPValue(a: Assessment): number {
  if (a.estimate.d > 0) return a.adjustedUp;
  if (a.estimate.d < 0) return a.adjustedDown;
  return Math.min(a.adjustedUp, a.adjustedDown);
}

/** Significantly better at this check (the running minimum alone is not enough to promote). */
export function isBetter(a: Assessment, alpha: number): boolean {
  return a.estimate.d > 0 && a.currentUp <= alpha;
}

export function isWorse(a: Assessment, alpha: number): boolean {
  return a.estimate.d < 0 && a.adjustedDown <= alpha;
}

export function toPublic(a: Assessment, eligible: boolean): VariantAssessment {
  return {
    arm: a.arm.arm,
    versionId: a.arm.versionId,
    estimate: a.estimate.d,
    ci: a.ci,
    pValue: a.pValue,
    adjustedPValue: adjustedPValue(a),
    currentPValue: a.currentUp,
    probBeatControl: probBeatControl(a.estimate.d, a.estimate.variance),
    expectedLoss: expectedLoss(a.estimate.d, a.estimate.variance),
    guardrailViolations: a.guard.violations,
    guardrails: a.guard.results,
    adjusted: a.estimate.adjusted,
    ...(a.recent ? { recent: a.recent } : {}),
    eligible,
  };
}
