/**
 * Is the effect still there? A promotion rests on the whole experiment, and a novelty effect
 * (users try the new answer style, then tire of it) can carry the cumulative estimate long after
 * it is gone. So before promoting, the most recent window (default 24 h) must show the win on its
 * own, and must not be significantly below what came before it:
 * - not winning: over the recent window alone, a 95% interval of the difference reaches 0;
 * - fading: the recent estimate is significantly below the earlier one (one-sided z-test at 5%).
 * Either blocks the promotion at this check. The check is a veto only, never a reason to promote,
 * so its error rates cost time and never validity; it uses fixed levels because it is asked a
 * fresh question (about a window that keeps moving) at every look.
 *
 * Why so strict a bar for the window: the promotion checks are many, and a decayed effect gets a
 * new chance at each one; a window that only had to lean positive let about a quarter of the
 * novelty runs of the benchmark through at 1,000 conversations a day (bench:decisions, novelty_min72).
 * A truly better variant usually crosses the always-valid bound during a good stretch, so the bar
 * costs it little (lift5 median +2 h). The window is judged only once each arm has the policy's
 * minimum sample in it: at low traffic it would otherwise block every promotion.
 */
import type { ArmStats, Metric, OutcomeCounts } from '../domain/types';
import { difference, proportionSummary, ratingSummary, type Difference } from './metric';
import { normalQuantile } from './normal';

/** One-sided level of the fading test. */
const FADING_LEVEL = 0.05;
/** The recent window alone must show the win at this two-sided level (a 95% interval above 0). */
const WINDOW_LEVEL = 0.05;

export interface RecentCheck {
  hours: number;
  /** Variant minus control over the recent window. */
  recent: number;
  /** Variant minus control before it. */
  earlier: number;
  /** The recent window alone does not show a win (its 95% interval reaches 0). */
  notWinning: boolean;
  fading: boolean;
}

function minus(a: OutcomeCounts, b: OutcomeCounts): OutcomeCounts {
  return {
    n: Math.max(0, a.n - b.n),
    successes: Math.max(0, a.successes - b.successes),
    ratingN: Math.max(0, a.ratingN - b.ratingN),
    ratingSum: Math.max(0, a.ratingSum - b.ratingSum),
    ratingSumSq: Math.max(0, a.ratingSumSq - b.ratingSumSq),
    errors: Math.max(0, a.errors - b.errors),
  };
}

function diffOf(control: OutcomeCounts, variant: OutcomeCounts, metric: Metric): Difference {
  const summary = (c: OutcomeCounts) =>
    metric === 'rating' ? ratingSummary(c.ratingN, c.ratingSum, c.ratingSumSq) : proportionSummary(c.successes, c.n);
  return difference(summary(control), summary(variant));
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
): RecentCheck | null {
  const rc = control.recent;
  const rv = variant.recent;
  if (!rc || !rv || elapsedHours <= rc.hours || rc.n < minSamples || rv.n < minSamples) return null;
  const recent = diffOf(rc, rv, metric);
  const earlier = diffOf(minus(control, rc), minus(variant, rv), metric);
  if (!recent.informative || !earlier.informative) return null;
  const z = (earlier.d - recent.d) / Math.sqrt(earlier.variance + recent.variance);
  return {
    hours: rc.hours,
    recent: recent.d,
    earlier: earlier.d,
    notWinning: recent.d / Math.sqrt(recent.variance) < normalQuantile(1 - WINDOW_LEVEL / 2),
    fading: z > normalQuantile(1 - FADING_LEVEL),
  };
}
