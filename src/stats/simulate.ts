/**
 * Seeded traffic simulation shared by the benchmark and the simulation tests. Pure apart from
 * the PRNG state it is handed: the same seed always produces the same experiment.
 */
import type { ArmStats } from '../domain/types';

/** A uniform [0, 1) generator. */
export type Rng = () => number;

/** mulberry32: a tiny 32-bit PRNG, plenty for Monte Carlo of this size and fully reproducible. */
export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes several integers into one 32-bit seed so runs of different scenarios never share streams. */
export function seedFor(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995) >>> 0;
  }
  return h >>> 0;
}

/** Largest mean handled by a single inversion pass; bigger draws are split into chunks. */
const INVERSION_MEAN = 30;

/** Poisson by inversion of the CDF (cost ~ mean), summing chunks so exp(-mean) never underflows. */
export function poisson(mean: number, rng: Rng): number {
  if (!(mean > 0)) return 0;
  const chunks = Math.ceil(mean / INVERSION_MEAN);
  const lambda = mean / chunks;
  let total = 0;
  for (let c = 0; c < chunks; c++) {
    let k = 0;
    let prob = Math.exp(-lambda);
    let cdf = prob;
    const u = rng();
    while (u > cdf && k < 10_000) {
      k += 1;
      prob *= lambda / k;
      cdf += prob;
    }
    total += k;
  }
  return total;
}

/**
 * Exact binomial draw by CDF inversion, O(n min(p, 1-p)). Uses the smaller of p and 1 - p and
 * splits n so each pass has mean <= 30 (keeps (1-p)^n far from underflow).
 */
export function binomial(n: number, p: number, rng: Rng): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(n, 1 - p, rng);
  const chunk = Math.max(1, Math.floor(INVERSION_MEAN / p));
  let total = 0;
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const ratio = p / (1 - p);
    let k = 0;
    let prob = Math.pow(1 - p, m);
    let cdf = prob;
    const u = rng();
    while (u > cdf && k < m) {
      prob *= (ratio * (m - k)) / (k + 1);
      k += 1;
      cdf += prob;
    }
    total += k;
  }
  return total;
}

/** Splits n arrivals over arms with the given weights (sequential conditional binomials). */
export function multinomial(n: number, weights: readonly number[], rng: Rng): number[] {
  let remainingWeight = weights.reduce((sum, w) => sum + w, 0);
  let remaining = n;
  return weights.map((w, i) => {
    if (i === weights.length - 1) return remaining;
    const draw = remainingWeight > 0 ? binomial(remaining, Math.min(1, w / remainingWeight), rng) : 0;
    remaining -= draw;
    remainingWeight -= w;
    return draw;
  });
}

export interface TrafficScenario {
  /** True success rate per arm, control first. */
  rates: readonly number[];
  /** True error rate per arm (same for all arms if a single number). */
  errorRate?: number;
  weights?: readonly number[];
  /** Expected conversations per check, all arms together (Poisson arrivals). */
  perCheck: number;
}

export interface ArmCounts {
  n: number;
  successes: number;
  errors: number;
}

/** Fresh cumulative counters for a scenario. */
export function emptyCounts(arms: number): ArmCounts[] {
  return Array.from({ length: arms }, () => ({ n: 0, successes: 0, errors: 0 }));
}

/** Adds one check's worth of traffic to `counts` (mutates the counters it owns, returns them). */
export function addCheck(counts: ArmCounts[], scenario: TrafficScenario, rng: Rng): ArmCounts[] {
  const weights = scenario.weights ?? scenario.rates.map(() => 1);
  const arrivals = multinomial(poisson(scenario.perCheck, rng), weights, rng);
  arrivals.forEach((n, i) => {
    const arm = counts[i];
    if (!arm || n === 0) return;
    arm.n += n;
    arm.successes += binomial(n, scenario.rates[i] ?? 0, rng);
    arm.errors += binomial(n, scenario.errorRate ?? 0, rng);
  });
  return counts;
}

/** ArmStats snapshot of the counters, as the SQL view would report them. */
export function toArmStats(counts: readonly ArmCounts[], weights?: readonly number[]): ArmStats[] {
  return counts.map((c, arm) => ({
    arm,
    versionId: `v${arm}`,
    weight: weights?.[arm] ?? 1,
    n: c.n,
    successes: c.successes,
    ratingN: 0,
    ratingSum: 0,
    ratingSumSq: 0,
    errors: c.errors,
    latencyP95: null,
    tokensMean: null,
  }));
}
