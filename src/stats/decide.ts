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
 *   1. promote     - an eligible variant is significantly better (Holm-adjusted directional
 *                    always-valid p <= alpha, estimate > 0); the best estimate among those wins.
 *   2. stop_guardrail - a variant clearly breaks a guardrail and no variant can still win.
 *   3. continue    - sample ratio mismatch: the data are suspect, so no conclusion is drawn
 *                    from them (keep_control once the maximum duration is reached).
 *   4. keep_control - every variant is significantly worse, or the maximum duration is reached.
 *   5. continue    - otherwise.
 * Promotion additionally needs every arm at the minimum sample (gates) and no SRM.
 *
 * Evidence is directional (see updateDirectional in msprt.ts): "better" and "worse" each have
 * their own running-minimum p-value and their own Holm family, so P(promoting any variant that is
 * not better) <= alpha, and likewise for declaring a variant worse. `pValue` in the assessment is
 * the two-sided running minimum (never increases); `adjustedPValue` is the Holm-adjusted p for the
 * direction of the current estimate (it can rise again if the estimate changes sign). `ci` is the
 * confidence sequence at this check; a promotion may rest on an earlier check where it excluded 0,
 * which is valid because the sequence covers the true difference at all checks at once.
 */
import type {
  ArmStats,
  Decision,
  DecisionAction,
  DecisionMemory,
  ExperimentPolicy,
  GuardrailPolicy,
  Metric,
  VariantAssessment,
} from '../domain/types';
import { DEFAULT_POLICY } from '../domain/types';
import { expectedLoss, probBeatControl } from './bayes';
import { armLabel, formatCount, formatEffect, formatNumber, formatP } from './format';
import { checkGuardrails } from './guardrails';
import { holm } from './holm';
import { difference, metricRange, metricSummary } from './metric';
import { confidenceSequence, msprtPValue, updateDirectional, type DirectionalPValues } from './msprt';
import { srmTest } from './srm';

export const ENGINE = 'msprt-v1';

/**
 * The SRM chi-square is only trusted once every expected count reaches this (the usual validity
 * rule for Pearson's approximation); before that a handful of conversations would raise alarms.
 */
const SRM_MIN_EXPECTED = 5;

export interface DecideInput {
  arms: ArmStats[];
  policy: ExperimentPolicy;
  memory?: DecisionMemory;
  elapsedHours: number;
}

export interface DecideOutput {
  decision: Decision;
  memory: DecisionMemory;
}

/** Internal per-variant state; the public VariantAssessment is derived from it. */
interface Assessment {
  arm: ArmStats;
  estimate: number;
  variance: number;
  ci: [number, number];
  pValue: number;
  directional: DirectionalPValues;
  adjustedUp: number;
  adjustedDown: number;
  violations: string[];
  clearViolation: boolean;
}

// ---------------------------------------------------------------------------------------------
// Input hygiene: the engine must never emit NaN/Infinity (the decision is stored as JSON).

/**
 * Postgres numeric/bigint columns can reach us as strings when the JSON layer is bypassed, so
 * numeric strings are accepted; anything else non-finite or negative becomes 0.
 */
function finiteNumber(value: unknown): number | null {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : null;
}

function nonNegative(value: unknown): number {
  return Math.max(0, finiteNumber(value) ?? 0);
}

/** Latency / tokens: missing or unusable values mean "no data", not zero. */
function optionalNonNegative(value: unknown): number | null {
  const number = finiteNumber(value);
  return number !== null && number >= 0 ? number : null;
}

function probability(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : fallback;
}

function sanitizeArm(arm: ArmStats): ArmStats {
  const n = nonNegative(arm.n);
  return {
    ...arm,
    arm: Math.round(finiteNumber(arm.arm) ?? -1),
    weight: nonNegative(arm.weight),
    n,
    successes: Math.min(n, nonNegative(arm.successes)),
    errors: Math.min(n, nonNegative(arm.errors)),
    ratingN: nonNegative(arm.ratingN),
    ratingSum: nonNegative(arm.ratingSum),
    ratingSumSq: nonNegative(arm.ratingSumSq),
    latencyP95: optionalNonNegative(arm.latencyP95),
    tokensMean: optionalNonNegative(arm.tokensMean),
  };
}

function positiveOr(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function sanitizeGuardrails(g: GuardrailPolicy | undefined): GuardrailPolicy {
  const d = DEFAULT_POLICY.guardrails;
  const margin = (value: number | undefined, fallback: number) =>
    value !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
  return {
    errorRateMargin: margin(g?.errorRateMargin, d.errorRateMargin),
    latencyP95Margin: margin(g?.latencyP95Margin, d.latencyP95Margin),
    tokensMargin: margin(g?.tokensMargin, d.tokensMargin),
  };
}

function sanitizePolicy(policy: ExperimentPolicy): ExperimentPolicy {
  const alpha = Number.isFinite(policy.alpha) && policy.alpha > 0 && policy.alpha < 1 ? policy.alpha : DEFAULT_POLICY.alpha;
  return {
    ...policy,
    metric: policy.metric === 'rating' ? 'rating' : 'success',
    alpha,
    expectedEffect: positiveOr(policy.expectedEffect, DEFAULT_POLICY.expectedEffect),
    // At least one observation per arm, whatever the policy says: below that there is no estimate.
    minSamplesPerArm: Math.max(1, nonNegative(policy.minSamplesPerArm)),
    minSuccessesPerArm: nonNegative(policy.minSuccessesPerArm),
    srmPValue: probability(policy.srmPValue, DEFAULT_POLICY.srmPValue),
    guardrails: sanitizeGuardrails(policy.guardrails),
    maxDurationHours: Number.isNaN(policy.maxDurationHours) ? DEFAULT_POLICY.maxDurationHours : policy.maxDurationHours,
  };
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
  const label = armLabel(arm.arm, true);
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

function previousDirectional(memory: DecisionMemory | undefined, versionId: string): DirectionalPValues {
  const stored = memory?.directional?.[versionId];
  return { up: probability(stored?.up, 1), down: probability(stored?.down, 1) };
}

function clipInterval([lo, hi]: [number, number], range: number): [number, number] {
  return [Math.max(-range, Math.min(range, lo)), Math.max(-range, Math.min(range, hi))];
}

function assessVariant(
  control: ArmStats,
  variant: ArmStats,
  policy: ExperimentPolicy,
  memory: DecisionMemory | undefined,
): Omit<Assessment, 'adjustedUp' | 'adjustedDown'> {
  const diff = difference(metricSummary(control, policy.metric), metricSummary(variant, policy.metric));
  const range = metricRange(policy.metric);
  const pairGate = passesGate(control, policy) && passesGate(variant, policy);
  const tau = policy.expectedEffect;
  let directional = previousDirectional(memory, variant.versionId);
  let pValue = probability(memory?.pValues?.[variant.versionId], 1);
  // Evidence only accrues once both arms pass the gate. Starting the running minimum late is
  // still valid (it is a minimum over a subset of checks) and keeps small-sample noise out of it.
  if (pairGate && diff.informative) {
    directional = updateDirectional(directional, diff.d, diff.variance, tau);
    pValue = msprtPValue(diff.d, diff.variance, tau, pValue);
  }
  pValue = Math.min(pValue, directional.up, directional.down);
  const ci = diff.informative
    ? clipInterval(confidenceSequence(diff.d, diff.variance, tau, policy.alpha), range)
    : ([-range, range] as [number, number]);
  const sampleGate = control.n >= policy.minSamplesPerArm && variant.n >= policy.minSamplesPerArm;
  const guard = checkGuardrails(control, variant, policy.guardrails, policy.alpha, sampleGate);
  return {
    arm: variant,
    estimate: diff.d,
    variance: diff.variance,
    ci,
    pValue,
    directional,
    violations: guard.violations,
    clearViolation: guard.clear,
  };
}

/**
 * Holm runs separately over the "better" and the "worse" families. A variant's reported
 * adjustedPValue is the one for the direction of its current estimate, so
 * "adjustedPValue <= alpha and estimate > 0" reads as "significantly better".
 */
function withHolm(assessments: Omit<Assessment, 'adjustedUp' | 'adjustedDown'>[]): Assessment[] {
  const up = holm(assessments.map((a) => a.directional.up));
  const down = holm(assessments.map((a) => a.directional.down));
  return assessments.map((a, i) => ({ ...a, adjustedUp: up[i] ?? 1, adjustedDown: down[i] ?? 1 }));
}

function adjustedPValue(a: Assessment): number {
  if (a.estimate > 0) return a.adjustedUp;
  if (a.estimate < 0) return a.adjustedDown;
  return Math.min(a.adjustedUp, a.adjustedDown);
}

function isBetter(a: Assessment, alpha: number): boolean {
  return a.estimate > 0 && a.adjustedUp <= alpha;
}

function isWorse(a: Assessment, alpha: number): boolean {
  return a.estimate < 0 && a.adjustedDown <= alpha;
}

function toPublic(a: Assessment, eligible: boolean): VariantAssessment {
  return {
    arm: a.arm.arm,
    versionId: a.arm.versionId,
    estimate: a.estimate,
    ci: a.ci,
    pValue: a.pValue,
    adjustedPValue: adjustedPValue(a),
    probBeatControl: probBeatControl(a.estimate, a.variance),
    expectedLoss: expectedLoss(a.estimate, a.variance),
    guardrailViolations: a.violations,
    eligible,
  };
}

// ---------------------------------------------------------------------------------------------
// Reasons.

interface ReasonContext {
  control: ArmStats;
  metric: Metric;
  alpha: number;
  family: number;
}

function pLabel(ctx: ReasonContext): string {
  return ctx.family > 1 ? 'Holm-adjusted always-valid' : 'always-valid';
}

function sampleClause(ctx: ReasonContext, a: Assessment): string {
  return `${formatCount(a.arm.n)} vs ${formatCount(ctx.control.n)} conversations`;
}

function promoteReason(ctx: ReasonContext, a: Assessment): string {
  return (
    `${armLabel(a.arm.arm, true)} beats control by ${formatEffect(a.estimate, ctx.metric)} ` +
    `(${pLabel(ctx)} ${formatP(a.adjustedUp)} <= ${formatNumber(ctx.alpha)}, ${sampleClause(ctx, a)}); promoting.`
  );
}

function guardrailReason(loser: Assessment): string {
  return (
    `${armLabel(loser.arm.arm, true)} breaks a guardrail (${loser.violations.join('; ')}) ` +
    `and no variant can still win; stopping and keeping control.`
  );
}

function bestSummary(ctx: ReasonContext, best: Assessment): string {
  return (
    `best is ${armLabel(best.arm.arm)} at ${formatEffect(best.estimate, ctx.metric)} ` +
    `(${pLabel(ctx)} ${formatP(adjustedPValue(best))}, ${sampleClause(ctx, best)})`
  );
}

function srmClause(srm: Decision['srm'], arms: ArmStats[], threshold: number): string {
  const counts = arms.map((a) => formatCount(a.n)).join(' / ');
  return (
    `Sample ratio mismatch (chi-square ${srm.chiSquare.toFixed(1)}, ${formatP(srm.pValue)} < ${formatNumber(threshold)}; ` +
    `conversations per arm ${counts}, control first)`
  );
}

// ---------------------------------------------------------------------------------------------
// The decision.

interface Verdict {
  action: DecisionAction;
  winner?: Assessment;
  reason: string;
}

function byEstimateDesc(a: Assessment, b: Assessment): number {
  return b.estimate - a.estimate || a.arm.arm - b.arm.arm;
}

function chooseVerdict(
  ctx: ReasonContext,
  assessments: Assessment[],
  eligible: (a: Assessment) => boolean,
  srm: Decision['srm'],
  gateShortfall: string | null,
  policy: ExperimentPolicy,
  arms: ArmStats[],
  expired: boolean,
): Verdict {
  const alpha = policy.alpha;
  const winners = assessments.filter((a) => eligible(a) && isBetter(a, alpha)).sort(byEstimateDesc);
  const winner = winners[0];
  if (winner) return { action: 'promote', winner, reason: promoteReason(ctx, winner) };

  const canStillWin = (a: Assessment) => !a.clearViolation && !isWorse(a, alpha);
  const loser = assessments.find((a) => a.clearViolation);
  if (loser && !assessments.some(canStillWin)) return { action: 'stop_guardrail', reason: guardrailReason(loser) };

  const best = [...assessments].sort(byEstimateDesc)[0];
  const hours = formatNumber(policy.maxDurationHours);
  if (srm.mismatch) {
    const clause = srmClause(srm, arms, policy.srmPValue);
    return expired
      ? { action: 'keep_control', reason: `${clause} and the ${hours}-hour limit is reached; keeping control.` }
      : { action: 'continue', reason: `${clause}: traffic split or logging looks broken, so nothing is promoted until it is fixed.` };
  }

  if (best && assessments.every((a) => isWorse(a, alpha))) {
    const lead = assessments.length > 1 ? 'Every variant is' : `${armLabel(best.arm.arm, true)} is`;
    return {
      action: 'keep_control',
      reason: `${lead} significantly worse than control (${bestSummary(ctx, best)}); keeping control.`,
    };
  }

  if (expired) {
    const detail = best ? ` (${bestSummary(ctx, best)})` : '';
    return { action: 'keep_control', reason: `Reached the ${hours}-hour limit without a significant winner${detail}; keeping control.` };
  }

  if (!best) return { action: 'continue', reason: 'No variant arms to compare against control yet; continuing.' };
  if (gateShortfall) {
    return { action: 'continue', reason: `Collecting the minimum sample before any promotion: ${gateShortfall}; continuing.` };
  }
  const blocked = assessments.filter((a) => isBetter(a, alpha) && !eligible(a)).sort(byEstimateDesc)[0];
  if (blocked) {
    return {
      action: 'continue',
      reason:
        `${armLabel(blocked.arm.arm, true)} leads by ${formatEffect(blocked.estimate, ctx.metric)} ` +
        `(${pLabel(ctx)} ${formatP(blocked.adjustedUp)}) but breaks a guardrail (${blocked.violations.join('; ')}); continuing.`,
    };
  }
  return {
    action: 'continue',
    reason: `No significant difference yet: ${bestSummary(ctx, best)}, need <= ${formatNumber(alpha)}; continuing.`,
  };
}

function srmOf(arms: ArmStats[], policy: ExperimentPolicy): Decision['srm'] {
  const result = srmTest(
    arms.map((a) => a.n),
    arms.map((a) => a.weight),
  );
  const mismatch = result.minExpected >= SRM_MIN_EXPECTED && result.pValue < policy.srmPValue;
  return { chiSquare: result.chiSquare, pValue: result.pValue, mismatch };
}

function nextMemory(previous: DecisionMemory | undefined, assessments: Assessment[]): DecisionMemory {
  const pValues: Record<string, number> = { ...(previous?.pValues ?? {}) };
  const directional: Record<string, DirectionalPValues> = { ...(previous?.directional ?? {}) };
  for (const a of assessments) {
    pValues[a.arm.versionId] = a.pValue;
    directional[a.arm.versionId] = a.directional;
  }
  return { pValues, directional };
}

/**
 * Decide what to do with an experiment at one check. Pure: same input, same output; the caller
 * persists `memory` and passes it back next time (it carries the running-minimum p-values).
 */
export function decide(input: DecideInput): DecideOutput {
  const policy = sanitizePolicy(input.policy);
  const arms = input.arms.map(sanitizeArm).sort((a, b) => a.arm - b.arm);
  const elapsed = Number.isFinite(input.elapsedHours) ? input.elapsedHours : 0;
  const expired = elapsed >= policy.maxDurationHours;
  const srm = srmOf(arms, policy);
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
    return { decision, memory: nextMemory(input.memory, []) };
  }

  const variants = arms.filter((a) => a.arm !== 0);
  const assessments = withHolm(variants.map((v) => assessVariant(control, v, policy, input.memory)));
  const gateShortfall = arms.map((a) => armGateShortfall(a, policy)).find((s) => s !== null) ?? null;
  const gatesMet = gateShortfall === null && variants.length > 0;
  const eligible = (a: Assessment) => gatesMet && !srm.mismatch && a.violations.length === 0;
  const ctx: ReasonContext = { control, metric: policy.metric, alpha: policy.alpha, family: variants.length };
  const verdict = chooseVerdict(ctx, assessments, eligible, srm, gateShortfall, policy, arms, expired);

  const decision: Decision = {
    action: verdict.action,
    reason: verdict.reason,
    engine: ENGINE,
    variants: assessments.map((a) => toPublic(a, eligible(a))),
    srm,
    gatesMet,
  };
  if (verdict.winner) decision.winner = { arm: verdict.winner.arm.arm, versionId: verdict.winner.arm.versionId };
  return { decision, memory: nextMemory(input.memory, assessments) };
}
