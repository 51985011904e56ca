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
 * Running one-sided always-valid p-values, the evidence that the difference is positive (`up`) or
 * negative (`down`). `up` only takes the minimum over checks where the estimate was >= 0, `down`
 * over checks where it was <= 0, and min(up, down) is the two-sided p-value.
 *
 * Why keep them apart: a two-sided running minimum can be reached while the estimate was strongly
 * negative and then be cited later, after the estimate drifted positive, as evidence for a win.
 * With the directional minima that cannot happen. Validity: split the symmetric mixture into its
 * theta > 0 and theta < 0 halves, Lambda = L+ + L-. When d >= 0, L- <= L+, so Lambda <= 2 L+.
 * If the true effect is <= 0, L+ is a nonnegative supermartingale starting at 1/2, so
 * P(ever up <= a) <= P(sup 2 L+ >= 1/a) <= a by Ville's inequality.
 */
export interface DirectionalPValues {
  up: number;
  down: number;
}

export function updateDirectional(previous: DirectionalPValues, d: number, variance: number, tau: number): DirectionalPValues {
  const current = msprtPValue(d, variance, tau);
  return {
    up: d >= 0 ? Math.min(previous.up, current) : previous.up,
    down: d <= 0 ? Math.min(previous.down, current) : previous.down,
  };
}
