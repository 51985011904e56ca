/**
 * Sample ratio mismatch (SRM): a chi-square goodness-of-fit test of the observed arm counts
 * against the configured weights. A mismatch means assignment or logging is broken (for instance a
 * variant that crashes before its conversation is recorded), so the outcome data cannot be trusted.
 */
import { logGamma, regularizedGammaQ } from './gamma';

/** P(X >= x) for X ~ chi-square with `df` degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
  if (Number.isNaN(x) || !(df > 0)) return Number.NaN;
  if (x <= 0) return 1;
  return regularizedGammaQ(df / 2, x / 2);
}

export interface SrmResult {
  chiSquare: number;
  pValue: number;
  df: number;
  /** Smallest expected count; the chi-square approximation needs roughly >= 5 in every cell. */
  minExpected: number;
}

function finiteNonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * Pearson chi-square of `counts` against the proportions implied by `weights` (any positive
 * scale). Arms with zero weight are left out: they are expected to receive no traffic and would
 * otherwise make the statistic infinite. If no weight is usable, equal weights are assumed.
 */
/**
 * The arms a split test looks at: each count with its weight, zero-weight arms left out (they are
 * expected to receive no traffic), equal weights when none is usable.
 */
function weightedCells(counts: readonly number[], weights: readonly number[]): { count: number; weight: number }[] {
  const cleanWeights = counts.map((_, i) => finiteNonNegative(weights[i] ?? 0));
  const useEqual = cleanWeights.every((w) => w === 0);
  return counts
    .map((count, i) => ({ count: finiteNonNegative(count), weight: useEqual ? 1 : (cleanWeights[i] ?? 0) }))
    .filter((cell) => cell.weight > 0);
}

export function srmTest(counts: readonly number[], weights: readonly number[]): SrmResult {
  const cells = weightedCells(counts, weights);
  const total = cells.reduce((sum, cell) => sum + cell.count, 0);
  const weightSum = cells.reduce((sum, cell) => sum + cell.weight, 0);
  const df = cells.length - 1;
  if (df < 1 || total === 0) return { chiSquare: 0, pValue: 1, df: Math.max(df, 0), minExpected: 0 };
  let chiSquare = 0;
  let minExpected = Infinity;
  for (const cell of cells) {
    const expected = (total * cell.weight) / weightSum;
    chiSquare += (cell.count - expected) ** 2 / expected;
    minExpected = Math.min(minExpected, expected);
  }
  return { chiSquare, pValue: chiSquareSurvival(chiSquare, df), df, minExpected };
}

/**
 * Prior concentration of the sequential test: a Dirichlet(c * weights) prior on the true split.
 * Its spread around the intended split (sd ~ 0.5 / sqrt(c) of a share for two equal arms, about
 * 3.5 points at c = 200) puts the test's power where real mismatches live: a few points of
 * share, not 50/50 against 90/10 (which any test catches at once).
 */
export const SRM_CONCENTRATION = 200;

/**
 * ln of the Bayes factor of "the split is something else" (Dirichlet-multinomial) against "the
 * split is `weights`", for cumulative `counts`, after Lindon and Malek (2022), "Anytime-valid
 * inference for multinomial count data". Under the intended split the Bayes factor is a
 * nonnegative martingale with mean 1, so P(it ever exceeds 1/a) <= a: exp(-ln BF) is an
 * always-valid p-value that may be checked at every look. Zero-weight arms are left out (they
 * should get no traffic); fewer than two positive-weight arms means there is nothing to test.
 */
export function srmLogBayesFactor(counts: readonly number[], weights: readonly number[], concentration = SRM_CONCENTRATION): number {
  const cells = weightedCells(counts, weights).map((cell) => ({ ...cell, count: Math.round(cell.count) }));
  const weightSum = cells.reduce((sum, cell) => sum + cell.weight, 0);
  const total = cells.reduce((sum, cell) => sum + cell.count, 0);
  if (cells.length < 2 || total === 0) return 0;
  let logBf = logGamma(concentration) - logGamma(concentration + total);
  for (const cell of cells) {
    const share = cell.weight / weightSum;
    const prior = concentration * share;
    logBf += logGamma(prior + cell.count) - logGamma(prior) - cell.count * Math.log(share);
  }
  return logBf;
}

/** The always-valid SRM p-value of one look: min(1, 1 / BF). */
export function srmSequentialPValue(counts: readonly number[], weights: readonly number[]): number {
  return Math.min(1, Math.exp(-srmLogBayesFactor(counts, weights)));
}

/**
 * Balance of a covariate across arms: one Dirichlet-multinomial Bayes factor per stratum (the arm
 * counts within each topic), multiplied. Under a correct assignment each stratum's factor is a
 * martingale in that stratum's conversations and only one factor moves per conversation, so the
 * product is a martingale too and the same always-valid reading applies. A biased assignment
 * (one arm receives more of the easy questions) shows here long before it shows in the totals.
 */
export function balancePValue(strata: readonly (readonly number[])[], weights: readonly number[]): number {
  const logBf = strata.reduce((sum, counts) => sum + srmLogBayesFactor(counts, weights), 0);
  return Math.min(1, Math.exp(-logBf));
}
