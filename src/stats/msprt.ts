/**
 * Mixture sequential probability ratio test (mSPRT) with a normal mixture, after Johari, Koomen,
 * Pekelis & Walsh, "Always valid inference" (2017/2022).
 *
 * The observed difference d is treated as N(theta, V). Mixing the likelihood ratio
 * N(d; theta, V) / N(d; 0, V) over theta ~ N(0, tau^2) gives
 *
 *   Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2))),
 *
 * a nonnegative martingale under theta = 0 with mean 1, so by Ville's inequality
 * P(Lambda ever reaches 1/alpha) <= alpha however often one looks. That is what makes the
 * p-value min_n 1/Lambda_n "always valid": peeking every 15 minutes costs nothing.
 */
import { normalCdf } from './normal';

/** ln Lambda; working in logs keeps huge evidence (Lambda = 1e400) finite. */
export function mixtureLogLikelihoodRatio(d: number, variance: number, tau: number): number {
  const tau2 = tau * tau;
  const total = variance + tau2;
  return 0.5 * Math.log(variance / total) + (tau2 * d * d) / (2 * variance * total);
}

/** Lambda itself (may be Infinity for overwhelming evidence). */
export function mixtureLikelihoodRatio(d: number, variance: number, tau: number): number {
  return Math.exp(mixtureLogLikelihoodRatio(d, variance, tau));
}

/**
 * One step of the always-valid p-value: p_n = min(p_{n-1}, 1 / Lambda_n), capped at 1.
 * The running minimum is what keeps the p-value monotone, so a decision taken on it at any
 * check stays justified.
 */
export function msprtPValue(d: number, variance: number, tau: number, previous = 1): number {
  const current = Math.min(1, Math.exp(-mixtureLogLikelihoodRatio(d, variance, tau)));
  const prior = Number.isFinite(previous) ? Math.min(1, Math.max(0, previous)) : 1;
  return Number.isNaN(current) ? prior : Math.min(prior, current);
}

/**
 * Always-valid (1 - alpha) confidence sequence for theta: the set of delta that the same test
 * would not reject, { delta : Lambda(d - delta) < 1/alpha }. Solving the inequality gives
 * d +/- sqrt( V (V + tau^2) / tau^2 * (2 ln(1/alpha) + ln((V + tau^2) / V)) ).
 * It covers the true difference at every check simultaneously with probability >= 1 - alpha,
 * and excludes 0 exactly when 1/Lambda_n <= alpha.
 */
export function confidenceSequence(d: number, variance: number, tau: number, alpha: number): [number, number] {
  const halfWidth = confidenceSequenceHalfWidth(variance, tau, alpha);
  return [d - halfWidth, d + halfWidth];
}

export function confidenceSequenceHalfWidth(variance: number, tau: number, alpha: number): number {
  const tau2 = tau * tau;
  const total = variance + tau2;
  return Math.sqrt(((variance * total) / tau2) * (2 * Math.log(1 / alpha) + Math.log(total / variance)));
}

/**
 * ln L+, the one-sided mixture: the same likelihood ratio mixed over a half-normal prior on
 * theta > 0 only (`direction` 1), or theta < 0 (`direction` -1). Restricting the normal mixture
 * to one half multiplies it by twice the posterior mass on that half:
 *
 *   L+ = 2 Lambda Phi(d tau / sqrt(V (V + tau^2)))
 *
 * L+ is a nonnegative martingale with mean 1 when theta = 0 (a mixture of likelihood ratios over
 * a proper prior) and a supermartingale when theta < 0 (each ratio with theta > 0 then shrinks
 * in expectation), so min 1 / L+ is an always-valid p-value for "theta <= 0". A promotion asks
 * exactly that one-sided question; the two-sided Lambda spends half its evidence on the side
 * nobody promotes, and is up to twice as slow to reach the same level.
 */
export function oneSidedLogLikelihoodRatio(d: number, variance: number, tau: number, direction: 1 | -1): number {
  const x = (direction * d * tau) / Math.sqrt(variance * (variance + tau * tau));
  return Math.LN2 + mixtureLogLikelihoodRatio(d, variance, tau) + logNormalCdf(x);
}

/** ln Phi(x), finite far into the lower tail (where Phi itself underflows to 0). */
function logNormalCdf(x: number): number {
  if (x > -30) return Math.log(normalCdf(x));
  // Mills ratio: Phi(x) ~ phi(x) / |x| (1 - 1/x^2) for x -> -infinity.
  return -0.5 * x * x - Math.log(-x) - 0.5 * Math.log(2 * Math.PI) + Math.log1p(-1 / (x * x));
}

/** This check's one-sided always-valid p-value, before any running minimum. */
export function oneSidedPValue(d: number, variance: number, tau: number, direction: 1 | -1): number {
  const p = Math.exp(-oneSidedLogLikelihoodRatio(d, variance, tau, direction));
  return Number.isNaN(p) ? 1 : Math.min(1, p);
}

/**
 * Running one-sided always-valid p-values: the evidence that the difference is positive (`up`)
 * or negative (`down`), each the running minimum of its own one-sided mixture (above).
 *
 * Why keep them apart: a two-sided running minimum can be reached while the estimate was strongly
 * negative and then be cited later, after the estimate drifted positive, as evidence for a win.
 * Each one-sided statistic only grows with evidence for its own side, so that cannot happen.
 */
export interface DirectionalPValues {
  up: number;
  down: number;
}

export function updateDirectional(previous: DirectionalPValues, d: number, variance: number, tau: number): DirectionalPValues {
  return {
    up: Math.min(previous.up, oneSidedPValue(d, variance, tau, 1)),
    down: Math.min(previous.down, oneSidedPValue(d, variance, tau, -1)),
  };
}
