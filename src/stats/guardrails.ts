/**
 * Guardrails: a variant must not win on the decision metric by being worse at something else.
 *
 * Each guardrail is a one-sided sequential test against its margin, using the same always-valid
 * confidence sequence as the decision metric (msprt.ts), so looking every 15 minutes costs no
 * validity. Three readings per guardrail:
 * - `beyondMargin`: the point estimate is past the margin. Blocks a promotion (never promote on a
 *   guardrail that currently looks broken) but is not evidence enough to stop anything.
 * - `breached`: the whole interval is past the margin, a breach shown at the policy's level; the
 *   experiment may stop for it. A false stop has probability <= alpha over the whole experiment.
 * - `withinMargin`: the whole interval is inside the margin (non-inferiority shown). The error
 *   rate must show this before a promotion: "not shown worse" is not "shown not worse".
 *
 * What each test measures, from SQL aggregates:
 * - error rate: the difference of error shares, against the absolute margin;
 * - p95 latency: the share of the variant's conversations slower than (1 + margin) x control's
 *   p95. If the variant's p95 is within the margin, at most 5% of its conversations are slower than
 *   that, so "share > 5%" is the breach. A proportion has a known variance, which a p95 does not;
 * - mean tokens: mean_v - (1 + margin) mean_c, with its variance from sums of squares.
 * Snapshots from before these aggregates only have p95 and mean values: for them the point
 * estimate can block a promotion but never stops an experiment (no dispersion, no test).
 */
import type { ArmStats, GuardrailPolicy, GuardrailReading } from '../domain/types';
import { formatCount, formatPercent } from './format';
import { difference, proportionSummary } from './metric';
import { confidenceSequence } from './msprt';

export type GuardrailName = GuardrailReading['name'];
export type GuardrailResult = GuardrailReading;

export interface GuardrailCheck {
  results: GuardrailResult[];
  /** Texts of the guardrails that block a promotion (beyond the margin or breached). */
  violations: string[];
  /** At least one breach is shown: enough to stop the experiment. */
  breached: boolean;
  /** The error rate is shown within its margin (or its margin is 0, where that cannot be shown). */
  nonInferior: boolean;
}

/** Mixing scale for the error-rate test when the margin is 0 (any increase is a breach). */
const MIN_ERROR_TAU = 0.01;
/** Share of conversations above a p95, by definition. */
const P95_TAIL = 0.05;
/** Mixing scale of the slow-share test: a few points of share. */
const SLOW_SHARE_TAU = 0.05;
/** Cap on a relative change, so that degenerate aggregates stay finite. */
const MAX_RELATIVE = 1e6;

function result(name: GuardrailName, estimate: number, interval: [number, number] | null, limit: number, text: string): GuardrailResult {
  return {
    name,
    estimate,
    interval,
    limit,
    beyondMargin: estimate > limit,
    breached: interval !== null && interval[0] > limit,
    withinMargin: interval !== null && interval[1] < limit,
    text,
  };
}

function errorRate(control: ArmStats, variant: ArmStats, margin: number, alpha: number): GuardrailResult {
  const c = proportionSummary(control.errors, control.n);
  const v = proportionSummary(variant.errors, variant.n);
  const diff = difference(c, v);
  const interval = confidenceSequence(diff.d, diff.variance, Math.max(margin, MIN_ERROR_TAU), alpha);
  const sign = diff.d >= 0 ? '+' : '-';
  const text =
    `error rate ${formatPercent(v.mean)} vs ${formatPercent(c.mean)} ` +
    `(${sign}${Math.abs(diff.d * 100).toFixed(1)} points, margin ${(margin * 100).toFixed(1)})`;
  return result('error_rate', diff.d, interval, margin, text);
}

function slowShare(control: ArmStats, variant: ArmStats, margin: number, alpha: number): GuardrailResult | null {
  const n = variant.latencyN ?? 0;
  if (n === 0 || variant.latencyThreshold === null || variant.latencyThreshold === undefined) return null;
  const share = proportionSummary(variant.latencySlow ?? 0, n);
  const interval = confidenceSequence(share.mean, share.variance / n, SLOW_SHARE_TAU, alpha);
  const text =
    `p95 latency: ${formatPercent(share.mean)} of conversations slower than ${formatCount(variant.latencyThreshold)} ms ` +
    `(${formatPercent(1 + margin, 0)} of control's p95 ${formatCount(control.latencyP95 ?? 0)} ms; within the margin at most 5%)`;
  return result('latency_p95', share.mean, interval, P95_TAIL, text);
}

function tokenMoments(arm: ArmStats): { n: number; mean: number; variance: number } | null {
  const n = arm.tokensN ?? 0;
  if (n < 2 || arm.tokensSum === undefined || arm.tokensSumSq === undefined) return null;
  const mean = arm.tokensSum / n;
  const variance = Math.max(0, (arm.tokensSumSq - (arm.tokensSum * arm.tokensSum) / n) / (n - 1));
  return { n, mean, variance };
}

function tokenExcess(control: ArmStats, variant: ArmStats, margin: number, alpha: number): GuardrailResult | null {
  const c = tokenMoments(control);
  const v = tokenMoments(variant);
  if (!c || !v || !(c.mean > 0)) return null;
  const factor = 1 + margin;
  const d = v.mean - factor * c.mean;
  // A floor of one token squared keeps V > 0 when every conversation used the same count.
  const variance = Math.max(1 / v.n + 1 / c.n, v.variance / v.n + (factor * factor * c.variance) / c.n);
  const interval = confidenceSequence(d, variance, Math.max(margin, 0.05) * c.mean, alpha);
  const relative = v.mean / c.mean - 1;
  const text =
    `mean tokens ${relative >= 0 ? '+' : '-'}${formatPercent(Math.abs(relative), 0)} vs control ` +
    `(${formatCount(v.mean)} vs ${formatCount(c.mean)}, margin ${formatPercent(margin, 0)})`;
  return result('tokens', d, interval, 0, text);
}

/** Relative point check for aggregates without a dispersion (older snapshots). */
function relativeOnly(
  name: GuardrailName,
  label: string,
  control: number | null,
  variant: number | null,
  margin: number,
): GuardrailResult | null {
  if (control === null || variant === null || !(control > 0)) return null;
  // A p95 of a few nanoseconds (bad data) must not turn into Infinity in a stored decision.
  const relative = Math.min(variant / control - 1, MAX_RELATIVE);
  const text =
    `${label} ${relative >= 0 ? '+' : '-'}${formatPercent(Math.abs(relative), 0)} vs control ` +
    `(${formatCount(variant)} vs ${formatCount(control)}, margin ${formatPercent(margin, 0)})`;
  return result(name, relative, null, margin, text);
}

/** All guardrails of one variant against control; `gateMet` = both arms have the minimum sample. */
export function checkGuardrails(
  control: ArmStats,
  variant: ArmStats,
  guardrails: GuardrailPolicy,
  alpha: number,
  gateMet: boolean,
): GuardrailCheck {
  if (!gateMet) return { results: [], violations: [], breached: false, nonInferior: false };
  const error = errorRate(control, variant, guardrails.errorRateMargin, alpha);
  const latency =
    slowShare(control, variant, guardrails.latencyP95Margin, alpha) ??
    relativeOnly('latency_p95', 'p95 latency', control.latencyP95, variant.latencyP95, guardrails.latencyP95Margin);
  const tokens =
    tokenExcess(control, variant, guardrails.tokensMargin, alpha) ??
    relativeOnly('tokens', 'mean tokens', control.tokensMean, variant.tokensMean, guardrails.tokensMargin);
  const results = [error, latency, tokens].filter((r): r is GuardrailResult => r !== null);
  return {
    results,
    violations: results.filter((r) => r.beyondMargin || r.breached).map((r) => r.text),
    breached: results.some((r) => r.breached),
    nonInferior: guardrails.errorRateMargin === 0 || error.withinMargin,
  };
}
