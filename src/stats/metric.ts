/**
 * Per-arm summaries of the decision metric and the variant-minus-control difference with its
 * normal-approximation variance V = var_c / n_c + var_v / n_v.
 */
import type { Metric, OutcomeCounts } from '../domain/types';

export interface MetricSummary {
  /** Observations behind the mean (conversations for `success`, rated ones for `rating`). */
  n: number;
  mean: number;
  /** Per-observation variance, floored so that V never collapses to 0. */
  variance: number;
}

export interface Difference {
  /** Variant minus control. */
  d: number;
  variance: number;
  /** False when either arm has no observations: d is then 0 and carries no evidence. */
  informative: boolean;
}

interface Scale {
  min: number;
  max: number;
}

const SCALES: Record<Metric, Scale> = {
  success: { min: 0, max: 1 },
  rating: { min: 1, max: 5 },
};

/** Width of the metric's range; a difference of two means can never exceed it in size. */
export function metricRange(metric: Metric): number {
  const scale = SCALES[metric];
  return scale.max - scale.min;
}

/**
 * Clamped share used for variance floors: with 0 or n successes the plug-in p(1 - p) is 0, which
 * would make any difference look infinitely significant. Pulling p half an observation away from
 * the boundary (p in [0.5/n, 1 - 0.5/n]) keeps V > 0 and is negligible once n is moderate.
 */
function clampedShare(share: number, n: number): number {
  const edge = 0.5 / n;
  return Math.min(1 - edge, Math.max(edge, share));
}

/** Bernoulli summary with the floored variance; n = 0 is treated as one uninformative observation. */
export function proportionSummary(successes: number, n: number): MetricSummary {
  if (n <= 0) return { n: 0, mean: 0.5, variance: 0.25 };
  const mean = Math.min(1, Math.max(0, successes / n));
  const p = clampedShare(mean, n);
  return { n, mean, variance: p * (1 - p) };
}

/**
 * Mean rating with the sample variance (n - 1 divisor). The floor is the proportion floor scaled
 * to the 1..5 range; the cap is the largest variance a 1..5 variable can have ((5 - 1)^2 / 4).
 */
export function ratingSummary(ratingN: number, ratingSum: number, ratingSumSq: number): MetricSummary {
  const { min, max } = SCALES.rating;
  const range = max - min;
  const maxVariance = (range * range) / 4;
  if (ratingN <= 0) return { n: 0, mean: (min + max) / 2, variance: maxVariance };
  const mean = Math.min(max, Math.max(min, ratingSum / ratingN));
  const q = clampedShare(0, ratingN);
  const floor = range * range * q * (1 - q);
  const sample = ratingN > 1 ? (ratingSumSq - (ratingSum * ratingSum) / ratingN) / (ratingN - 1) : maxVariance;
  const variance = Number.isFinite(sample) ? Math.min(maxVariance, Math.max(floor, sample)) : maxVariance;
  return { n: ratingN, mean, variance };
}

/** The metric's summary of any group of conversations: an arm, a topic within it, a time window. */
export function metricSummary(counts: OutcomeCounts, metric: Metric): MetricSummary {
  return metric === 'rating'
    ? ratingSummary(counts.ratingN, counts.ratingSum, counts.ratingSumSq)
    : proportionSummary(counts.successes, counts.n);
}

/** Difference of means and its variance (Welch-style, unpooled, so unequal arms are handled). */
export function difference(control: MetricSummary, variant: MetricSummary): Difference {
  const informative = control.n > 0 && variant.n > 0;
  const variance = control.variance / Math.max(1, control.n) + variant.variance / Math.max(1, variant.n);
  return { d: informative ? variant.mean - control.mean : 0, variance, informative };
}
