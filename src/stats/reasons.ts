/**
 * The sentences of a decision. Every one names versions as people know them ("v3 (variant 2)",
 * "control v1") and says what the numbers mean, because the reason is what a product manager reads
 * on the dashboard and in `starter status`. Topic names never appear: they are untrusted text.
 */
import type { ArmStats, Decision, ExperimentPolicy, Metric } from '../domain/types';
import type { Estimate } from './adjust';
import { armLabel, formatCount, formatEffect, formatNumber, formatP } from './format';
import type { GuardrailCheck } from './guardrails';
import type { RecentCheck } from './recent';

/** What the reasons need to know about one variant. */
export interface AssessedVariant {
  arm: ArmStats;
  estimate: Estimate;
  adjustedUp: number;
  adjustedDown: number;
  /** Holm-adjusted one-sided p of this check alone (what a promotion needs). */
  currentUp: number;
  guard: GuardrailCheck;
  recent: RecentCheck | null;
}

export interface ReasonContext {
  control: ArmStats;
  metric: Metric;
  policy: ExperimentPolicy;
  family: number;
  elapsedHours: number;
}

/** "v3 (variant 2)", or "variant 2" when the version number is not known. */
export function armName(arm: ArmStats, capitalized = false): string {
  const label = armLabel(arm.arm, capitalized);
  if (arm.version === undefined) return label;
  return arm.arm === 0 ? `${label} v${arm.version}` : `v${arm.version} (${armLabel(arm.arm)})`;
}

function pLabel(ctx: ReasonContext): string {
  return ctx.family > 1 ? 'Holm-adjusted always-valid' : 'always-valid';
}

function evidence(ctx: ReasonContext, a: AssessedVariant, p: number, threshold = ''): string {
  const adjusted = a.estimate.adjusted ? ', compared within topics' : '';
  return `${pLabel(ctx)} ${formatP(p)}${threshold}, ${formatCount(a.arm.n)} vs ${formatCount(ctx.control.n)} conversations${adjusted}`;
}

const hours = (h: number) => `${formatNumber(h)} hours`;
const limit = (h: number) => `${formatNumber(h)}-hour limit`;

export function promoteReason(ctx: ReasonContext, a: AssessedVariant): string {
  return (
    `${armName(a.arm, true)} beats ${armName(ctx.control)} by ${formatEffect(a.estimate.d, ctx.metric)} ` +
    `(${evidence(ctx, a, a.currentUp, ` <= ${formatNumber(ctx.policy.alpha)}`)}); promoting.`
  );
}

export function guardrailStopReason(ctx: ReasonContext, loser: AssessedVariant): string {
  const shown = loser.guard.results.filter((r) => r.breached).map((r) => r.text);
  return (
    `${armName(loser.arm, true)} is shown to break a guardrail beyond its margin (${shown.join('; ')}) ` +
    `and no variant can still win; stopping and keeping ${armName(ctx.control)}.`
  );
}

export function bestSummary(ctx: ReasonContext, best: AssessedVariant, p: number): string {
  return `best is ${armName(best.arm)} at ${formatEffect(best.estimate.d, ctx.metric)} (${evidence(ctx, best, p)})`;
}

export function srmReason(srm: Decision['srm'], arms: readonly ArmStats[], expired: boolean, maxHours: number): string {
  const trip = srm.tripped;
  const counts = arms.map((a) => formatCount(a.n)).join(' / ');
  const what =
    trip?.test === 'topics'
      ? `the arms received different mixes of topics (always-valid ${formatP(trip.pValue)})`
      : `the arms' shares of traffic differ from the configured split (always-valid ${formatP(trip?.pValue ?? srm.pValue)}; ` +
        `conversations per arm ${counts}, control first)`;
  const since = trip ? ` since hour ${formatNumber(trip.atHours)}` : '';
  const lead = `Sample ratio mismatch${since}: ${what}. The assignment or the logging is broken, so this experiment can never promote`;
  return expired
    ? `${lead}; the ${limit(maxHours)} is reached, keeping control.`
    : `${lead}: stop it, or fix the assignment and restart it as a new experiment.`;
}

export function allWorseReason(ctx: ReasonContext, best: AssessedVariant, family: number): string {
  const lead = family > 1 ? 'Every variant is' : `${armName(best.arm, true)} is`;
  return `${lead} significantly worse than ${armName(ctx.control)} (${bestSummary(ctx, best, best.adjustedDown)}); keeping control.`;
}

export function expiredReason(ctx: ReasonContext, best: AssessedVariant | undefined, p: number): string {
  const detail = best ? ` (${bestSummary(ctx, best, p)})` : '';
  return `Reached the ${limit(ctx.policy.maxDurationHours)} without a significant winner${detail}; keeping control.`;
}

/**
 * Why a variant that the test calls better is not promoted at this check, each clause in plain
 * words; empty when nothing blocks it.
 */
export function blockers(ctx: ReasonContext, a: AssessedVariant): string[] {
  const out: string[] = [];
  if (ctx.elapsedHours < ctx.policy.minDurationHours) {
    out.push(
      `the policy waits at least ${hours(ctx.policy.minDurationHours)} (one full daily cycle by default) before any promotion, ` +
        `and ${formatNumber(ctx.elapsedHours)} have passed`,
    );
  }
  if (a.guard.violations.length > 0) out.push(`a guardrail looks past its margin: ${a.guard.violations.join('; ')}`);
  else if (!a.guard.nonInferior) {
    const error = a.guard.results.find((r) => r.name === 'error_rate');
    out.push(`its error rate is not yet shown to stay within the margin${error ? ` (${error.text})` : ''}`);
  }
  const recent = a.recent;
  if (recent?.notWinning || recent?.fading) {
    const window = `over the last ${hours(recent.hours)} it is ${formatEffect(recent.recent, ctx.metric)}`;
    out.push(
      recent.fading
        ? `${window}, well below the ${formatEffect(recent.earlier, ctx.metric)} before that: the effect may be fading (a novelty effect)`
        : `${window}, not yet clearly a win on those hours alone (their 95% interval still reaches 0)`,
    );
  }
  return out;
}

export function blockedReason(ctx: ReasonContext, a: AssessedVariant, why: string[]): string {
  return (
    `${armName(a.arm, true)} leads by ${formatEffect(a.estimate.d, ctx.metric)} (${evidence(ctx, a, a.currentUp)}) ` +
    `but is not promoted yet: ${why.join('; ')}; continuing.`
  );
}

export function noDifferenceReason(ctx: ReasonContext, best: AssessedVariant, p: number): string {
  return `No significant difference yet: ${bestSummary(ctx, best, p)}, need <= ${formatNumber(ctx.policy.alpha)}; continuing.`;
}

export function gateReason(shortfall: string): string {
  return `Collecting the minimum sample before any promotion: ${shortfall}; continuing.`;
}
