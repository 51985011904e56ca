/**
 * Seeded traffic simulation shared by the benchmark and the simulation tests. Pure apart from
 * the PRNG state it is handed: the same seed always produces the same experiment.
 */
import type { ArmStats, OutcomeCounts, TopicStats } from '../domain/types';
import { addOutcome, emptyOutcome } from './counts';
import {
  addCursor,
  addToBin,
  binOf,
  binValue,
  countAboveWithCursor,
  logHistogram,
  quantileWithCursor,
  type Cursor,
  type LogHistogram,
} from './histogram';

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

// ---------------------------------------------------------------------------------------------
// Conversation-level traffic: topics, telemetry and the full ArmStats shape.

/** A standard normal generator (Marsaglia's polar method, the spare value kept for the next call). */
export function normalSampler(rng: Rng): () => number {
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const value = spare;
      spare = null;
      return value;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = 2 * rng() - 1;
      v = 2 * rng() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const factor = Math.sqrt((-2 * Math.log(s)) / s);
    spare = v * factor;
    return u * factor;
  };
}

/**
 * Probabilities of the ratings 1..5 for a given mean: the maximum-entropy distribution with that
 * mean, p_k proportional to e^(theta k) (a geometric shape; uniform at a mean of 3). It assumes
 * nothing beyond the mean, and near 3.8 it looks like real satisfaction scores (mostly 4s and 5s,
 * a tail of 1s; sd about 1.26), so a rating test is not made easier than it is in production.
 */
export function ratingProbabilities(mean: number): number[] {
  const ratings = [1, 2, 3, 4, 5];
  if (!(mean > 1)) return [1, 0, 0, 0, 0];
  if (mean >= 5) return [0, 0, 0, 0, 1];
  const shape = (theta: number) => {
    const weights = ratings.map((k) => Math.exp(theta * (k - 3)));
    const total = weights.reduce((s, w) => s + w, 0);
    return weights.map((w) => w / total);
  };
  const meanOf = (p: number[]) => p.reduce((s, x, i) => s + x * ratings[i]!, 0);
  // The mean rises monotonically with theta: bisect.
  let lo = -50;
  let hi = 50;
  for (let i = 0; i < 200 && hi - lo > 1e-13; i++) {
    const mid = (lo + hi) / 2;
    if (meanOf(shape(mid)) < mean) lo = mid;
    else hi = mid;
  }
  return shape((lo + hi) / 2);
}

/** A success rate that may change with the hours elapsed since the start (e.g. a novelty effect). */
export type RateSpec = number | ((hours: number) => number);

export interface TopicSpec {
  /** The topic as logged (null: none). */
  topic: string | null;
  /** Share of all conversations on this topic (normalised over the topics). */
  share: number;
  /** True success rate per arm, control first. */
  rates: readonly RateSpec[];
}

/** Everything about one simulated experiment's traffic; arms = topics[0].rates.length. */
export interface ConversationScenario {
  topics: readonly TopicSpec[];
  /** Weights the experiment asked for, reported as ArmStats.weight (default: equal). */
  weights?: readonly number[];
  /** Share of arrivals each arm actually receives (default: the weights); differs for a biased assignment. */
  assignment?: readonly number[];
  /** Topic mix per arm (rows over the topics); default: the topic shares for every arm. */
  topicMix?: readonly (readonly number[])[];
  /** Expected conversations per check, all arms together (Poisson arrivals). */
  perCheck: number;
  /** Hours between checks (0.25 for every 15 minutes). */
  checkHours: number;
  /** Error rate per arm. */
  errorRates: readonly number[];
  /** Latency: lognormal with this median (ms) per arm and this sd of the log (default 0.5). */
  latency: { medianMs: readonly number[]; sdLog?: number };
  /** Tokens: lognormal with this mean per arm and this sd of the log (default 0.4), rounded. */
  tokens: { mean: readonly number[]; sdLog?: number };
  /** Share of conversations with a rating (1..5), and the mean rating per arm. */
  ratings: { share: number; mean: readonly number[] };
  /** latencyThreshold = this x control's p95 (1 + the policy's latencyP95Margin; default 1.25). */
  latencyThresholdFactor?: number;
  /** Length of the recent window (default 24 h). */
  recentHours?: number;
}

/** One simulated conversation, recorded only when asked (tests compare against a plain aggregation). */
export interface ConversationRecord {
  arm: number;
  topic: string | null;
  /** Start of the check interval the conversation arrived in. */
  hours: number;
  success: boolean;
  error: boolean;
  rating: number | null;
  /** The quantized latency (the centre of its histogram bin). */
  latencyMs: number;
  tokens: number;
}

interface ArmTraffic {
  total: OutcomeCounts;
  topics: OutcomeCounts[];
  latency: LogHistogram;
  p95Cursor: Cursor;
  slowCursor: Cursor;
  tokensSum: number;
  tokensSumSq: number;
  /** Per-check increments of the last `window` checks (a ring) and their running sum. */
  ring: OutcomeCounts[];
  recent: OutcomeCounts;
  /** Expected arrivals per check per topic (and exp(-mean)), cumulative rating probabilities: fixed. */
  arrivalMeans: number[];
  arrivalExp: number[];
  ratingCumulative: number[];
  latencyMu: number;
  tokensMu: number;
}

/** Cumulative state of one simulated experiment (owned and mutated by addConversationCheck). */
export interface ConversationTraffic {
  scenario: ConversationScenario;
  arms: ArmTraffic[];
  checks: number;
  window: number;
  /** When set, every conversation is appended here (slow; for tests). */
  log?: ConversationRecord[];
}

/** Log-latency range of the histograms: 1 ms to about 20 minutes. */
const LOG_LATENCY_LO = 0;
const LOG_LATENCY_HI = Math.log(1_200_000);
const DEFAULT_LATENCY_SD = 0.5;
const DEFAULT_TOKENS_SD = 0.4;
const DEFAULT_THRESHOLD_FACTOR = 1.25;
const DEFAULT_RECENT_HOURS = 24;

function cumulativeSums(values: readonly number[]): number[] {
  let sum = 0;
  return values.map((v) => (sum += v));
}

function normalised(values: readonly number[]): number[] {
  const sum = values.reduce((s, v) => s + v, 0);
  return values.map((v) => (sum > 0 ? v / sum : 0));
}

/** Fresh state for a scenario; pass `record: true` to log every conversation. */
export function emptyTraffic(scenario: ConversationScenario, options: { record?: boolean } = {}): ConversationTraffic {
  const arms = scenario.topics[0]?.rates.length ?? 0;
  const assignment = normalised(scenario.assignment ?? scenario.weights ?? Array.from({ length: arms }, () => 1));
  const shares = normalised(scenario.topics.map((t) => t.share));
  const window = Math.max(1, Math.round((scenario.recentHours ?? DEFAULT_RECENT_HOURS) / scenario.checkHours));
  const tokensSd = scenario.tokens.sdLog ?? DEFAULT_TOKENS_SD;
  const state: ConversationTraffic = {
    scenario,
    checks: 0,
    window,
    arms: Array.from({ length: arms }, (_, arm) => {
      const latency = logHistogram(LOG_LATENCY_LO, LOG_LATENCY_HI);
      const mix = scenario.topicMix?.[arm] ? normalised(scenario.topicMix[arm]) : shares;
      const arrivalMeans = mix.map((m) => scenario.perCheck * (assignment[arm] ?? 0) * m);
      return {
        total: emptyOutcome(),
        topics: scenario.topics.map(() => emptyOutcome()),
        latency,
        p95Cursor: addCursor(latency),
        slowCursor: addCursor(latency),
        tokensSum: 0,
        tokensSumSq: 0,
        ring: Array.from({ length: window }, () => emptyOutcome()),
        recent: emptyOutcome(),
        arrivalMeans,
        arrivalExp: arrivalMeans.map((mean) => Math.exp(-mean)),
        ratingCumulative: cumulativeSums(ratingProbabilities(scenario.ratings.mean[arm] ?? 3)),
        // A lognormal's median is exp(mu).
        latencyMu: Math.log(scenario.latency.medianMs[arm] ?? 1000),
        // A lognormal's mean is exp(mu + sd^2 / 2).
        tokensMu: Math.log(scenario.tokens.mean[arm] ?? 500) - (tokensSd * tokensSd) / 2,
      };
    }),
  };
  if (options.record) state.log = [];
  return state;
}

function rateAt(spec: RateSpec | undefined, hours: number): number {
  const rate = typeof spec === 'function' ? spec(hours) : (spec ?? 0);
  return Math.min(1, Math.max(0, rate));
}

/** Below this many trials a binomial is drawn as that many Bernoulli trials (exact, and cheaper). */
const SMALL_BINOMIAL = 16;

/** Binomial(n, p): trial by trial for the handful of conversations of a cell, else by inversion. */
function binomialCell(n: number, p: number, rng: Rng): number {
  if (n > SMALL_BINOMIAL) return binomial(n, p, rng);
  let k = 0;
  for (let i = 0; i < n; i++) if (rng() < p) k += 1;
  return k;
}

/** Poisson by inversion for a small mean whose exp(-mean) is precomputed (cell means are fixed). */
function poissonCell(mean: number, expMinusMean: number, rng: Rng): number {
  if (mean > INVERSION_MEAN) return poisson(mean, rng);
  let k = 0;
  let prob = expMinusMean;
  let cdf = prob;
  const u = rng();
  while (u > cdf && k < 10_000) {
    k += 1;
    prob *= mean / k;
    cdf += prob;
  }
  return k;
}

/**
 * Adds one check's traffic. Arrivals per (arm, topic) cell are independent Poisson draws, which
 * is exactly a Poisson total split multinomially. Per cell, successes, errors and the number of
 * ratings are binomial counts (exact, drawn in bulk: which conversation carries which outcome
 * matters to no aggregate), each rating a categorical draw; latency and tokens are drawn per
 * conversation, because a p95 and a sum of squares need the individual values. Rates are read
 * at the start of the interval.
 */
export function addConversationCheck(state: ConversationTraffic, rng: Rng, normal: () => number): ConversationTraffic {
  const { scenario, log } = state;
  const hours = state.checks * scenario.checkHours;
  const slot = state.checks % state.window;
  const latencySd = scenario.latency.sdLog ?? DEFAULT_LATENCY_SD;
  const tokensSd = scenario.tokens.sdLog ?? DEFAULT_TOKENS_SD;
  const ratingShare = scenario.ratings.share;
  const topics = scenario.topics;
  for (let a = 0; a < state.arms.length; a++) {
    const arm = state.arms[a]!;
    // The ring slot about to be overwritten leaves the recent window; reuse it for this check.
    const increment = arm.ring[slot]!;
    addOutcome(arm.recent, increment, -1);
    increment.n = increment.successes = increment.ratingN = increment.ratingSum = increment.ratingSumSq = increment.errors = 0;
    const errorRate = scenario.errorRates[a] ?? 0;
    const cumulative = arm.ratingCumulative;
    for (let t = 0; t < topics.length; t++) {
      const n = poissonCell(arm.arrivalMeans[t]!, arm.arrivalExp[t]!, rng);
      if (n === 0) continue;
      const successes = binomialCell(n, rateAt(topics[t]!.rates[a], hours), rng);
      const errors = binomialCell(n, errorRate, rng);
      const rated = binomialCell(n, ratingShare, rng);
      const cell = arm.topics[t]!;
      const firstLogged = log?.length ?? 0;
      let ratingSum = 0;
      let ratingSumSq = 0;
      for (let i = 0; i < rated; i++) {
        const u = rng();
        let rating = 1;
        while (rating < 5 && u >= cumulative[rating - 1]!) rating += 1;
        ratingSum += rating;
        ratingSumSq += rating * rating;
        if (log) log.push(conversation(a, topics[t]!.topic, hours, rating));
      }
      cell.n += n;
      cell.successes += successes;
      cell.errors += errors;
      cell.ratingN += rated;
      cell.ratingSum += ratingSum;
      cell.ratingSumSq += ratingSumSq;
      increment.n += n;
      increment.successes += successes;
      increment.errors += errors;
      increment.ratingN += rated;
      increment.ratingSum += ratingSum;
      increment.ratingSumSq += ratingSumSq;
      const latency = arm.latency;
      for (let i = 0; i < n; i++) {
        const bin = binOf(latency, arm.latencyMu + latencySd * normal());
        addToBin(latency, bin);
        const tokens = Math.round(Math.exp(arm.tokensMu + tokensSd * normal()));
        arm.tokensSum += tokens;
        arm.tokensSumSq += tokens * tokens;
        if (log) {
          if (i >= rated) log.push(conversation(a, topics[t]!.topic, hours, null));
          const record = log[firstLogged + i]!;
          record.success = i < successes;
          record.error = i < errors;
          record.latencyMs = binValue(latency, bin);
          record.tokens = tokens;
        }
      }
    }
    addOutcome(arm.total, increment);
    addOutcome(arm.recent, increment);
  }
  state.checks += 1;
  return state;
}

function conversation(arm: number, topic: string | null, hours: number, rating: number | null): ConversationRecord {
  return { arm, topic, hours, success: false, error: false, rating, latencyMs: 0, tokens: 0 };
}

/** Hours covered by the traffic so far. */
export function trafficHours(state: ConversationTraffic): number {
  return state.checks * state.scenario.checkHours;
}

/**
 * ArmStats of the traffic so far, as `experiment_arm_stats` reports them: cumulative counts,
 * percentile_cont(0.95) latency, latencyThreshold = factor x control's p95 and each arm's count
 * above it, token sums and mean, per-topic counts (topics without conversations in an arm are
 * absent, as a GROUP BY leaves them) and the counts of the recent window.
 */
export function trafficArmStats(state: ConversationTraffic): ArmStats[] {
  const { scenario } = state;
  const factor = scenario.latencyThresholdFactor ?? DEFAULT_THRESHOLD_FACTOR;
  const recentHours = scenario.recentHours ?? DEFAULT_RECENT_HOURS;
  const controlArm = state.arms[0];
  const controlP95 = controlArm ? quantileWithCursor(controlArm.latency, controlArm.p95Cursor, 0.95) : null;
  const threshold = controlP95 === null ? null : factor * controlP95;
  const stats: ArmStats[] = [];
  for (let a = 0; a < state.arms.length; a++) {
    const arm = state.arms[a]!;
    const { total, recent } = arm;
    const topics: TopicStats[] = [];
    for (let t = 0; t < scenario.topics.length; t++) {
      const c = arm.topics[t]!;
      if (c.n === 0) continue;
      topics.push({
        topic: scenario.topics[t]!.topic,
        n: c.n,
        successes: c.successes,
        ratingN: c.ratingN,
        ratingSum: c.ratingSum,
        ratingSumSq: c.ratingSumSq,
        errors: c.errors,
      });
    }
    stats.push({
      arm: a,
      versionId: `v${a}`,
      weight: scenario.weights?.[a] ?? 1,
      n: total.n,
      successes: total.successes,
      ratingN: total.ratingN,
      ratingSum: total.ratingSum,
      ratingSumSq: total.ratingSumSq,
      errors: total.errors,
      latencyP95: a === 0 ? controlP95 : quantileWithCursor(arm.latency, arm.p95Cursor, 0.95),
      tokensMean: total.n > 0 ? arm.tokensSum / total.n : null,
      latencyN: total.n,
      latencySlow: threshold === null ? 0 : countAboveWithCursor(arm.latency, arm.slowCursor, threshold),
      latencyThreshold: threshold,
      tokensN: total.n,
      tokensSum: arm.tokensSum,
      tokensSumSq: arm.tokensSumSq,
      topics,
      recent: {
        hours: recentHours,
        n: recent.n,
        successes: recent.successes,
        ratingN: recent.ratingN,
        ratingSum: recent.ratingSum,
        ratingSumSq: recent.ratingSumSq,
        errors: recent.errors,
      },
    });
  }
  return stats;
}
