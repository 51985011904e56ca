/**
 * Sample ratio mismatch (SRM): a chi-square goodness-of-fit test of the observed arm counts
 * against the configured weights. A mismatch means assignment or logging is broken (for instance a
 * variant that crashes before its conversation is recorded), so the outcome data cannot be trusted.
 */
import { regularizedGammaQ } from './gamma';

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
export function srmTest(counts: readonly number[], weights: readonly number[]): SrmResult {
  const cleanWeights = counts.map((_, i) => finiteNonNegative(weights[i] ?? 0));
  const useEqual = cleanWeights.every((w) => w === 0);
  const cells = counts
    .map((count, i) => ({ count: finiteNonNegative(count), weight: useEqual ? 1 : (cleanWeights[i] ?? 0) }))
    .filter((cell) => cell.weight > 0);
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
