/**
 * After a promotion: is the new version worse than the holdback (a few percent of traffic kept on
 * the previous version)? The experiment asked "is the variant better?"; the watch asks the
 * opposite, with the same always-valid machinery, so it may look at every check for days:
 *
 * - the metric: rollback when "new - holdback < -margin" is shown, i.e. the one-sided "worse"
 *   mixture (msprt.ts) applied to d + margin reaches alpha. At the boundary theta = -margin that
 *   statistic is a martingale, above it a supermartingale, so a version that is no worse than the
 *   margin is rolled back with probability <= alpha over the whole watch;
 * - every guardrail (guardrails.ts) with the holdback in control's place: a breach shown beyond its
 *   margin rolls back too;
 * - the watch ends clean after `watchHours`.
 * Four tests can each roll back (the metric and three guardrails), so each runs at alpha / 4
 * (Bonferroni): a version no worse than the holdback is rolled back with probability <= alpha in
 * all. At alpha each, the benchmark's A/A watch rolled back 6% of the time.
 *
 * Pure, like decide(): the caller carries `memory` (the running minimum) from check to check.
 * rollout.ts runs it at every check of a guarded rollout and adds the ramp.
 */
import type { ArmStats, GuardrailPolicy, Metric } from '../domain/types';
import { DEFAULT_POLICY, METRIC_DEFAULTS } from '../domain/types';
import { estimateDifference } from './adjust';
import { formatCount, formatEffect, formatNumber, formatP } from './format';
import { checkGuardrails, type GuardrailResult } from './guardrails';
import { confidenceSequence, oneSidedPValue } from './msprt';

export interface WatchPolicy {
  metric: Metric;
  alpha: number;
  /** How much worse than the holdback is tolerated, in the metric's unit (0: any regression shown). */
  margin: number;
  /** Mixing scale of the test, in the metric's unit. */
  expectedEffect: number;
  guardrails: GuardrailPolicy;
  minSamplesPerArm: number;
  watchHours: number;
}

export const DEFAULT_WATCH_POLICY: WatchPolicy = {
  metric: 'success',
  alpha: DEFAULT_POLICY.alpha,
  margin: 0,
  expectedEffect: METRIC_DEFAULTS.success.expectedEffect,
  guardrails: DEFAULT_POLICY.guardrails,
  minSamplesPerArm: DEFAULT_POLICY.minSamplesPerArm,
  watchHours: 7 * 24,
};

export interface WatchMemory {
  /** Running minimum of the always-valid "worse beyond the margin" p-value. */
  pWorse: number;
}

export interface WatchInput {
  /** The promoted version's arm and the holdback's (the previous version). */
  promoted: ArmStats;
  holdback: ArmStats;
  policy: WatchPolicy;
  memory?: WatchMemory;
  elapsedHours: number;
}

export interface WatchDecision {
  action: 'continue' | 'rollback' | 'complete';
  reason: string;
  /** Promoted minus holdback on the metric, and its always-valid interval. */
  estimate: number;
  ci: [number, number];
  pWorse: number;
  guardrails: GuardrailResult[];
}

/** The metric and the three guardrails: the tests that can each roll back. */
const TESTS = 4;

function versionName(arm: ArmStats): string {
  return arm.version === undefined ? `version ${arm.versionId}` : `v${arm.version}`;
}

/** One check of the watch. */
export function watch(input: WatchInput): { decision: WatchDecision; memory: WatchMemory } {
  const { promoted, holdback, policy } = input;
  const elapsed = Number.isNaN(input.elapsedHours) ? 0 : Math.max(0, input.elapsedHours);
  const gate = promoted.n >= policy.minSamplesPerArm && holdback.n >= policy.minSamplesPerArm;
  const level = policy.alpha / TESTS;
  const estimate = estimateDifference(holdback, promoted, policy.metric, true);
  const previous = input.memory?.pWorse;
  let pWorse = previous !== undefined && previous >= 0 && previous <= 1 ? previous : 1;
  if (gate && estimate.informative) {
    pWorse = Math.min(pWorse, oneSidedPValue(estimate.d + policy.margin, estimate.variance, policy.expectedEffect, -1));
  }
  const guard = checkGuardrails(holdback, promoted, policy.guardrails, level, gate);
  const ci = confidenceSequence(estimate.d, estimate.variance, policy.expectedEffect, policy.alpha);
  const counts = `${formatCount(promoted.n)} vs ${formatCount(holdback.n)} conversations`;
  const against = `the holdback ${versionName(holdback)}`;
  const base = { estimate: estimate.d, ci, pWorse, guardrails: guard.results };

  let action: WatchDecision['action'] = 'continue';
  let reason: string;
  if (pWorse <= level) {
    action = 'rollback';
    reason =
      `${versionName(promoted)} is worse than ${against} by ${formatEffect(estimate.d, policy.metric)} ` +
      `(always-valid ${formatP(pWorse)} <= ${formatNumber(level)}, margin ${formatEffect(policy.margin, policy.metric)}, ${counts}); rolling back.`;
  } else if (guard.breached) {
    action = 'rollback';
    const shown = guard.results.filter((r) => r.breached).map((r) => r.text);
    reason = `${versionName(promoted)} breaks a guardrail against ${against} (${shown.join('; ')}); rolling back.`;
  } else if (elapsed >= policy.watchHours) {
    action = 'complete';
    reason =
      `The ${formatNumber(policy.watchHours)}-hour watch ended without a regression shown ` +
      `(${formatEffect(estimate.d, policy.metric)} against ${against}, ${formatP(pWorse)}, ${counts}); releasing the holdback.`;
  } else {
    reason = `Watching: ${formatEffect(estimate.d, policy.metric)} against ${against} (${formatP(pWorse)}, ${counts}); continuing.`;
  }
  return { decision: { action, reason, ...base }, memory: { pWorse } };
}
