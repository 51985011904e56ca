/**
 * Bayesian read-outs for people, under a flat prior and the normal approximation
 * difference ~ N(d, V). They are reported next to the frequentist decision but never drive it:
 * they are not corrected for continuous peeking.
 */
import { normalCdf, normalPdf } from './normal';

/** P(difference > 0) = Phi(d / sqrt(V)). */
export function probBeatControl(d: number, variance: number): number {
  if (!(variance > 0)) return d > 0 ? 1 : d < 0 ? 0 : 0.5;
  return normalCdf(d / Math.sqrt(variance));
}

/**
 * Expected loss of shipping the variant, E[max(0, -D)] for D ~ N(d, V):
 * s * phi(d / s) - d * Phi(-d / s) with s = sqrt(V). In metric units (e.g. 0.004 = 0.4 points of
 * success rate given up on average if the variant is in fact worse).
 */
export function expectedLoss(d: number, variance: number): number {
  if (!(variance > 0)) return Math.max(0, -d);
  const s = Math.sqrt(variance);
  return Math.max(0, s * normalPdf(d / s) - d * normalCdf(-d / s));
}
