/**
 * Guardrails: a variant must not win on the decision metric by being worse at something else.
 *
 * Two strengths of finding:
 * - a violation (listed, makes the variant ineligible for promotion): the point estimate is
 *   beyond the margin once both arms have the minimum sample. Cheap to trigger on purpose:
 *   it only delays a promotion, and re-evaluates at every check.
 * - a clear violation (can end the experiment with `stop_guardrail`): for the error rate the
 *   always-valid confidence sequence of the error-rate difference lies entirely above the margin,
 *   so a false stop has probability <= alpha over the whole experiment. p95 latency and mean
 *   tokens arrive as aggregates without a dispersion, so no interval can be built; for them a
 *   point-estimate violation with the sample gate met counts as clear (relative margins of
 *   25-30% are large next to the noise of a p95 at >= 100 conversations per arm).
 */
import type { ArmStats, GuardrailPolicy } from '../domain/types';
import { formatCount, formatPercent } from './format';
import { difference, proportionSummary } from './metric';
import { confidenceSequence } from './msprt';

export interface GuardrailCheck {
  violations: string[];
  /** At least one violation is backed by enough evidence to stop the experiment. */
  clear: boolean;
}

/** Mixing scale for the error-rate mSPRT when the margin is 0 (any increase is a breach). */
const MIN_ERROR_TAU = 0.01;

function errorRateCheck(control: ArmStats, variant: ArmStats, margin: number, alpha: number): GuardrailCheck {
  const c = proportionSummary(control.errors, control.n);
  const v = proportionSummary(variant.errors, variant.n);
  const diff = difference(c, v);
  if (!diff.informative || diff.d <= margin) return { violations: [], clear: false };
  const [lower] = confidenceSequence(diff.d, diff.variance, Math.max(margin, MIN_ERROR_TAU), alpha);
  const text =
    `error rate ${formatPercent(v.mean)} vs ${formatPercent(c.mean)} ` +
    `(+${(diff.d * 100).toFixed(1)} points, margin ${(margin * 100).toFixed(1)})`;
  return { violations: [text], clear: lower > margin };
}

function relativeCheck(label: string, control: number | null, variant: number | null, margin: number): GuardrailCheck {
  if (control === null || variant === null || !(control > 0)) return { violations: [], clear: false };
  const relative = variant / control - 1;
  if (relative <= margin) return { violations: [], clear: false };
  const text =
    `${label} +${formatPercent(relative, 0)} vs control ` +
    `(${formatCount(variant)} vs ${formatCount(control)}, margin ${formatPercent(margin, 0)})`;
  return { violations: [text], clear: true };
}

/** All guardrails of one variant against control; `gateMet` = both arms have the minimum sample. */
export function checkGuardrails(
  control: ArmStats,
  variant: ArmStats,
  guardrails: GuardrailPolicy,
  alpha: number,
  gateMet: boolean,
): GuardrailCheck {
  if (!gateMet) return { violations: [], clear: false };
  const checks = [
    errorRateCheck(control, variant, guardrails.errorRateMargin, alpha),
    relativeCheck('p95 latency', control.latencyP95, variant.latencyP95, guardrails.latencyP95Margin),
    relativeCheck('mean tokens', control.tokensMean, variant.tokensMean, guardrails.tokensMargin),
  ];
  return {
    violations: checks.flatMap((check) => check.violations),
    clear: checks.some((check) => check.clear),
  };
}
