/**
 * The experiment decision engine: one pure function called at every check (every 15 minutes for
 * up to 14 days) with the cumulative arm statistics and the memory returned by the previous call.
 *
 * Why not "confidence > 90% and n > 100": that rule is a fixed-horizon test evaluated ~1,300
 * times, so a variant that is no better gets promoted about half the time. Here every p-value is
 * an always-valid mSPRT p-value (see msprt.ts), Holm-corrected across variants, so the chance of
 * promoting a variant that is not better stays <= alpha no matter how often we look.
 *
 * Order of precedence at each check:
 *   1. promote     - an eligible variant is significantly better at this check (Holm-adjusted
 *                    one-sided always-valid p <= alpha, estimate > 0); the best estimate wins.
 *   2. stop_guardrail - a variant is shown to breach a guardrail and no variant can still win.
 *   3. continue    - the sample ratio check has tripped (sticky): nothing can be promoted
 *                    (keep_control once the maximum duration is reached).
 *   4. keep_control - every variant is significantly worse, or the maximum duration is reached.
 *   5. continue    - otherwise, with the reason a promotion is not yet possible.
 * Eligible means: every arm at the minimum sample (gates), the minimum duration passed, no SRM
 * trip, no guardrail past its margin, the error rate shown within its margin, and the recent
 * window still a win (recent.ts). The estimate is compared within topics where the arms carry
 * topic counts (adjust.ts).
 *
 * Why "at this check": the running minimum of the p-value is valid, but a promotion resting on a
 * look days ago would ship an effect that may since have faded. Requiring the always-valid bound
 * to exclude 0 now is stricter, so the error guarantee still holds.
 *
 * Evidence is directional (see updateDirectional in msprt.ts): "better" and "worse" each have
 * their own one-sided mixture, running minimum and Holm family, so P(promoting any variant that is
 * not better) <= alpha, and likewise for declaring a variant worse. `pValue` in the assessment is
 * the smaller of the two running minima (never increases); `adjustedPValue` is the Holm-adjusted
 * p for the direction of the current estimate; `currentPValue` is this check's Holm-adjusted
 * "better" p, which a promotion needs <= alpha. `ci` is the two-sided confidence sequence at this
 * check, for reading.
 */
import type { ArmStats, Decision, DecisionAction, DecisionMemory, ExperimentPolicy, VariantAssessment } from '../domain/types';
import { estimateDifference, type Estimate } from './adjust';
import { expectedLoss, probBeatControl } from './bayes';
import { formatCount } from './format';
import { checkGuardrails } from './guardrails';
import { holm } from './holm';
import { checkInput, type DecideInput } from './input';
import { metricRange } from './metric';
import { confidenceSequence, oneSidedPValue, updateDirectional, type DirectionalPValues } from './msprt';
import { checkRecent } from './recent';
import {
  allWorseReason,
  armName,
  blockedReason,
  blockers,
  expiredReason,
  gateReason,
  guardrailStopReason,
  noDifferenceReason,
  promoteReason,
  srmReason,
  type AssessedVariant,
  type ReasonContext,
} from './reasons';
import { checkSrm } from './srm-check';

export { InvalidDecisionInput, type DecideInput } from './input';

export const ENGINE = 'msprt-v2';

export interface DecideOutput {
  decision: Decision;
  memory: DecisionMemory;
}

/** Internal per-variant state; the public VariantAssessment is derived from it. */
interface Assessment extends AssessedVariant {
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
function armGateShortfall(arm: ArmStats, policy: ExperimentPolicy): string | null {
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

type Unadjusted = Omit<Assessment, 'adjustedUp' | 'adjustedDown' | 'currentUp'>;

function assessVariant(
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
    recent: checkRecent(
      control,
      variant,
      policy.metric,
      elapsedHours,
      policy.minSamplesPerArm,
      topicVarianceFactor(control, variant, policy, estimate),
    ),
  };
}

/** How much the topic adjustment shrank the variance (1 when it did not apply). */
function topicVarianceFactor(control: ArmStats, variant: ArmStats, policy: ExperimentPolicy, estimate: Estimate): number {
  if (!estimate.adjusted) return 1;
  const raw = estimateDifference(control, variant, policy.metric, false);
  return raw.variance > 0 ? estimate.variance / raw.variance : 1;
}

/**
 * Holm runs separately over the "better" and the "worse" families, and over this check's own
 * "better" p-values (what a promotion needs). A variant's reported adjustedPValue is the one for
 * the direction of its current estimate.
 */
function withHolm(assessments: Unadjusted[]): Assessment[] {
  const up = holm(assessments.map((a) => a.directional.up));
  const down = holm(assessments.map((a) => a.directional.down));
  const current = holm(assessments.map((a) => a.currentUpRaw));
  return assessments.map((a, i) => ({ ...a, adjustedUp: up[i] ?? 1, adjustedDown: down[i] ?? 1, currentUp: current[i] ?? 1 }));
}

function adjustedPValue(a: Assessment): number {
  if (a.estimate.d > 0) return a.adjustedUp;
  if (a.estimate.d < 0) return a.adjustedDown;
  return Math.min(a.adjustedUp, a.adjustedDown);
}

/** Significantly better at this check (the running minimum alone is not enough to promote). */
function isBetter(a: Assessment, alpha: number): boolean {
  return a.estimate.d > 0 && a.currentUp <= alpha;
}

function isWorse(a: Assessment, alpha: number): boolean {
  return a.estimate.d < 0 && a.adjustedDown <= alpha;
}

function toPublic(a: Assessment, eligible: boolean): VariantAssessment {
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

// ---------------------------------------------------------------------------------------------
// The decision.

interface Verdict {
  action: DecisionAction;
  winner?: Assessment;
  reason: string;
}

function byEstimateDesc(a: Assessment, b: Assessment): number {
  return b.estimate.d - a.estimate.d || a.arm.arm - b.arm.arm;
}

interface Situation {
  ctx: ReasonContext;
  assessments: Assessment[];
  eligible: (a: Assessment) => boolean;
  srm: Decision['srm'];
  gateShortfall: string | null;
  arms: ArmStats[];
  expired: boolean;
}

function chooseVerdict(s: Situation): Verdict {
  const { ctx, assessments } = s;
  const alpha = ctx.policy.alpha;
  const winner = assessments.filter((a) => s.eligible(a) && isBetter(a, alpha)).sort(byEstimateDesc)[0];
  if (winner) return { action: 'promote', winner, reason: promoteReason(ctx, winner) };

  const canStillWin = (a: Assessment) => !a.guard.breached && !isWorse(a, alpha);
  const loser = assessments.find((a) => a.guard.breached);
  if (loser && !assessments.some(canStillWin)) return { action: 'stop_guardrail', reason: guardrailStopReason(ctx, loser) };

  if (s.srm.mismatch) {
    return { action: s.expired ? 'keep_control' : 'continue', reason: srmReason(s.srm, s.arms, s.expired, ctx.policy.maxDurationHours) };
  }
  const best = [...assessments].sort(byEstimateDesc)[0];
  if (best && assessments.every((a) => isWorse(a, alpha))) {
    return { action: 'keep_control', reason: allWorseReason(ctx, best, assessments.length) };
  }
  if (s.expired) return { action: 'keep_control', reason: expiredReason(ctx, best, best ? adjustedPValue(best) : 1) };
  if (!best) return { action: 'continue', reason: 'No variant arms to compare against control yet; continuing.' };
  if (s.gateShortfall) return { action: 'continue', reason: gateReason(s.gateShortfall) };
  const blocked = assessments.filter((a) => isBetter(a, alpha)).sort(byEstimateDesc)[0];
  if (blocked) return { action: 'continue', reason: blockedReason(ctx, blocked, blockers(ctx, blocked)) };
  return { action: 'continue', reason: noDifferenceReason(ctx, best, adjustedPValue(best)) };
}

function nextMemory(previous: DecisionMemory, assessments: Assessment[], srm: DecisionMemory['srm']): DecisionMemory {
  const pValues: Record<string, number> = { ...previous.pValues };
  const directional: Record<string, DirectionalPValues> = { ...(previous.directional ?? {}) };
  for (const a of assessments) {
    pValues[a.arm.versionId] = a.pValue;
    directional[a.arm.versionId] = a.directional;
  }
  return { pValues, directional, ...(srm ? { srm } : {}) };
}

/**
 * Decide what to do with an experiment at one check. Pure: same input, same output; the caller
 * persists `memory` and passes it back next time (running-minimum p-values, the SRM trip).
 * Throws InvalidDecisionInput for a policy or memory it cannot read without guessing.
 */
export function decide(input: DecideInput): DecideOutput {
  const { arms, policy, memory, elapsedHours } = checkInput(input);
  const expired = elapsedHours >= policy.maxDurationHours;
  const srmCheck = checkSrm(arms, policy, memory, elapsedHours);
  const srm = srmCheck.status;
  const control = arms.find((a) => a.arm === 0);

  if (!control) {
    const decision: Decision = {
      action: expired ? 'keep_control' : 'continue',
      reason: 'No control arm (arm 0) in the statistics; nothing can be compared.',
      engine: ENGINE,
      variants: [],
      srm,
      gatesMet: false,
    };
    return { decision, memory: nextMemory(memory, [], srmCheck.memory) };
  }

  const variants = arms.filter((a) => a.arm !== 0);
  const assessments = withHolm(variants.map((v) => assessVariant(control, v, policy, memory, elapsedHours)));
  const gateShortfall = arms.map((a) => armGateShortfall(a, policy)).find((s) => s !== null) ?? null;
  const gatesMet = gateShortfall === null && variants.length > 0;
  const ctx: ReasonContext = { control, metric: policy.metric, policy, family: variants.length, elapsedHours };
  const eligible = (a: Assessment) => gatesMet && !srm.mismatch && blockers(ctx, a).length === 0;
  const verdict = chooseVerdict({ ctx, assessments, eligible, srm, gateShortfall, arms, expired });

  const decision: Decision = {
    action: verdict.action,
    reason: verdict.reason,
    engine: ENGINE,
    variants: assessments.map((a) => toPublic(a, eligible(a))),
    srm,
    gatesMet,
  };
  if (verdict.winner) decision.winner = { arm: verdict.winner.arm.arm, versionId: verdict.winner.arm.versionId };
  return { decision, memory: nextMemory(memory, assessments, srmCheck.memory) };
}
