/**
 * Log-gamma and the regularized incomplete gamma functions, needed for chi-square p-values with
 * any number of degrees of freedom (the sample-ratio-mismatch test has k - 1 of them).
 */

/**
 * ln Gamma(z) for z > 0. The recurrence Gamma(z) = Gamma(z + 1) / z lifts z above 10, where the
 * Stirling series with five correction terms is accurate to ~1e-14; this avoids the opaque
 * Lanczos coefficient tables.
 */
export function logGamma(z: number): number {
  if (!(z > 0)) return Number.NaN;
  let shift = 0;
  let x = z;
  while (x < 10) {
    shift += Math.log(x);
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))));
  return (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + series - shift;
}

/** Common prefactor x^a e^-x / Gamma(a), computed in log space to avoid overflow. */
function gammaPrefactor(a: number, x: number): number {
  return Math.exp(a * Math.log(x) - x - logGamma(a));
}

/** Lower series P(a, x) = prefactor * sum x^n / (a (a+1) ... (a+n)); converges fast for x < a + 1. */
function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 10_000; n++) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * 1e-16) break;
  }
  return sum * gammaPrefactor(a, x);
}

/** Upper tail Q(a, x) by Legendre's continued fraction (modified Lentz); converges fast for x > a + 1. */
function upperContinuedFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return h * gammaPrefactor(a, x);
}

/** Regularized upper incomplete gamma Q(a, x) = Gamma(a, x) / Gamma(a). */
export function regularizedGammaQ(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  const q = x < a + 1 ? 1 - lowerSeries(a, x) : upperContinuedFraction(a, x);
  return Math.min(1, Math.max(0, q));
}

/** Regularized lower incomplete gamma P(a, x) = 1 - Q(a, x). */
export function regularizedGammaP(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a <= 0) return Number.NaN;
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  const p = x < a + 1 ? lowerSeries(a, x) : 1 - upperContinuedFraction(a, x);
  return Math.min(1, Math.max(0, p));
}
