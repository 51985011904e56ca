/**
 * Fixed-horizon sample size, the yardstick the sequential engine is compared against: how many
 * conversations a classical two-proportion z-test needs if one commits to a single look.
 */
import { normalQuantile } from './normal';

/**
 * Per-arm n for a two-sided test at `alpha` with the given power to detect p1 -> p2:
 * n = (z_{1-alpha/2} + z_{power})^2 (p1 (1 - p1) + p2 (1 - p2)) / (p2 - p1)^2, rounded up.
 */
export function fixedHorizonSampleSize(p1: number, p2: number, alpha: number, power: number): number {
  const effect = p2 - p1;
  if (effect === 0) return Infinity;
  const z = normalQuantile(1 - alpha / 2) + normalQuantile(power);
  return Math.ceil((z * z * (p1 * (1 - p1) + p2 * (1 - p2))) / (effect * effect));
}
