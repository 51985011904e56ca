/**
 * Is the effect still there? A promotion rests on the whole experiment, and a novelty effect
 * (users try the new answer style, then tire of it) can carry the cumulative estimate long after
 * it is gone. So before promoting, the most recent window (default 24 h) is compared with what
 * came before it:
 * - not winning: the recent estimate is not above 0;
 * - fading: the recent estimate is significantly below the earlier one (one-sided z-test at 5%).
 * Either blocks the promotion at this check. The check is a veto only, never a reason to promote,
 * so its error rates cost time and never validity; it uses a fixed level because it is asked a
 * fresh question (about a window that keeps moving) at every look.
 */
import type { ArmStats, Metric, OutcomeCounts } from '../domain/types';
import { difference, proportionSummary, ratingSummary, type Difference } from './metric';
import { normalQuantile } from './normal';

/** One-sided level of the fading test. */
const FADING_LEVEL = 0.05;

export interface RecentCheck {
  hours: number;
  /** Variant minus control over the recent window. */
  recent: number;
  /** Variant minus control before it. */
  earlier: number;
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

/** Null when there is no recent window to read, or no time before it yet. */
export function checkRecent(control: ArmStats, variant: ArmStats, metric: Metric, elapsedHours: number): RecentCheck | null {
  const rc = control.recent;
  const rv = variant.recent;
  if (!rc || !rv || elapsedHours <= rc.hours) return null;
  const recent = diffOf(rc, rv, metric);
  const earlier = diffOf(minus(control, rc), minus(variant, rv), metric);
  if (!recent.informative || !earlier.informative) return null;
  const z = (earlier.d - recent.d) / Math.sqrt(earlier.variance + recent.variance);
  return {
    hours: rc.hours,
    recent: recent.d,
    earlier: earlier.d,
    notWinning: recent.d <= 0,
    fading: z > normalQuantile(1 - FADING_LEVEL),
  };
}
