/**
 * Is the effect still there? A promotion rests on the whole experiment, and a novelty effect
 * (users try the new answer style, then tire of it) can carry the cumulative estimate long after
 * it is gone. So before promoting, the most recent window (default 24 h) must show the win on its
 * own, and must not be significantly below what came before it:
 * - not winning: over the recent window alone the win is not shown (one-sided z-test at 2%);
 * - fading: the recent estimate is significantly below the earlier one (one-sided z-test at 5%).
 * Either blocks the promotion at this check. The check is a veto only, never a reason to promote,
 * so its error rates cost time and never validity; it uses fixed levels because it is asked a
 * fresh question (about a window that keeps moving) at every look.
 *
 * Why so strict a bar for the window: the promotion checks are many, and a decayed effect gets a
 * new chance at each one; a window that only had to lean positive let about a quarter of the
 * novelty runs of the benchmark through at 1,000 conversations a day (bench:decisions, novelty_min72).
 * A truly better variant usually crosses the always-valid bound during a good stretch, so the bar
 * costs it little. The window is judged only once each arm has the policy's
 * minimum sample in it: at low traffic it would otherwise block every promotion.
 */
import type { ArmStats, Metric, OutcomeCounts } from '../domain/types';
import { subtractOutcome } from './counts';
import { difference, metricSummary, type Difference } from './metric';
import { normalQuantile } from './normal';

/** One-sided level of the fading test. */
const FADING_LEVEL = 0.05;
/**
 * One-sided level at which the recent window alone must show the win. Set from the benchmark
 * (bench:decisions, 2,000 runs at 1,000 conversations a day): at 2.5% a fading effect still got
 * through in 10.9% of novelty_min72 runs; at 2% it stays under the 10% goal while a steady +5
 * lift is promoted about as fast (lift5 median +1 h against 2.5%).
 */
const WINDOW_LEVEL = 0.02;

export interface RecentCheck {
  hours: number;
  /** Variant minus control over the recent window. */
  recent: number;
  /** Variant minus control before it. */
  earlier: number;
  /** The recent window alone does not show the win (one-sided z-test at WINDOW_LEVEL). */
  notWinning: boolean;
  fading: boolean;
}

function diffOf(control: OutcomeCounts, variant: OutcomeCounts, metric: Metric): Difference {
  return difference(metricSummary(control, metric), metricSummary(variant, metric));
}

/**
 * Null when there is no recent window to read, no time before it yet, or fewer than `minSamples`
 * conversations of an arm in it (too little to judge).
 */
export function checkRecent(
  control: ArmStats,
  variant: ArmStats,
  metric: Metric,
  elapsedHours: number,
  minSamples: number,
  varianceFactor = 1,
): RecentCheck | null {
  const rc = control.recent;
  const rv = variant.recent;
  if (!rc || !rv || elapsedHours <= rc.hours || rc.n < minSamples || rv.n < minSamples) return null;
  const recent = diffOf(rc, rv, metric);
  const earlier = diffOf(subtractOutcome(control, rc), subtractOutcome(variant, rv), metric);
  if (!recent.informative || !earlier.informative) return null;
  // The window's counts are not split by topic; the arms' topic mix is the same in every window,
  // so the cumulative estimate's variance reduction from topics (varianceFactor <= 1) carries over.
  const factor = Math.min(1, Math.max(0, varianceFactor)) || 1;
  const recentVariance = recent.variance * factor;
  const z = (earlier.d - recent.d) / Math.sqrt((earlier.variance + recent.variance) * factor);
  return {
    hours: rc.hours,
    recent: recent.d,
    earlier: earlier.d,
    notWinning: recent.d / Math.sqrt(recentVariance) < normalQuantile(1 - WINDOW_LEVEL),
    fading: z > normalQuantile(1 - FADING_LEVEL),
  };
}
