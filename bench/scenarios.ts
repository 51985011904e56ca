/**
 * The scenarios of the decision benchmark (bench/decisions.ts): what traffic each one simulates,
 * which policy overrides it runs with and which figure it is about. Pure data and small pure
 * builders, so the traffic each scenario claims to have can be checked by tests.
 */
import type { ExperimentPolicy } from '../src/domain/types';
import type { RateSpec, TopicSpec } from '../src/stats/simulate';

/** The figures a scenario is about. */
export type Figure = 'promotedShare' | 'stoppedEarlyShare' | 'medianHours' | 'rolledBackShare';

/** Telemetry and traffic of a scenario beyond the benchmark-wide defaults below. */
export interface TrafficSpec {
  /** Topics with a success rate per arm (one topic: no covariate). */
  topics: TopicSpec[];
  errorRates?: number[];
  latencyMedianMs?: number[];
  latencySdLog?: number;
  tokensMean?: number[];
  ratingShare?: number;
  ratingMean?: number[];
  /** Configured weights per arm as SQL reports them (default: equal). */
  weights?: number[];
  /** Actual share of arrivals per arm when the assignment is biased (reported weights stay equal). */
  assignment?: number[];
  /** Topic mix per arm for a biased assignment. */
  topicMix?: number[][];
}

export interface Scenario {
  id: string;
  label: string;
  /** True success rate per arm at the start, control first, over the population's topic mix. */
  rates: number[];
  /** Arm whose promotion counts as "promoted" (null: any promotion is a false one). */
  target: number | null;
  /** The figure the scenario is about, and any other figures worth printing. */
  point: Figure;
  extra?: Figure[];
  /**
   * Policy fields on top of the benchmark's policy; `undefined` removes a field so the engine's
   * own default for it applies (rating_up: the metric's expectedEffect).
   */
  policy?: { [K in keyof ExperimentPolicy]?: ExperimentPolicy[K] | undefined };
  /** Remove `topics` from the ArmStats before decide(), so the engine cannot adjust for them. */
  stripTopics?: boolean;
  /** Whether the old rule is meaningful here (it only knows success rates). */
  oldRule: boolean;
  /** Replay the traffic of this scenario id (same seeds, same conversations). */
  sameTrafficAs?: string;
  /**
   * A watch after a promotion (issue 15) instead of an experiment: arm 0 is the holdback (the
   * previous version), arm 1 the promoted version; `watch()` runs at every check for `hours`, and
   * a rollback counts as the scenario's hit (`rolledBackShare`, hours to the rollback).
   */
  watch?: { perDay: number; holdbackShare: number; hours: number };
  traffic: TrafficSpec;
}

export const ERROR_RATE = 0.01;
export const LATENCY_MEDIAN_MS = 1200;
export const LATENCY_SD_LOG = 0.5;
export const TOKENS_MEAN = 600;
export const RATING_SHARE = 0.3;
export const RATING_MEAN = 3.8;

/** Five topics, easy to hard: success 40%..95% at a 70% base, shares summing to 1 (overall 70%). */
export const TOPIC_RATES = [0.4, 0.55, 0.7, 0.85, 0.95];
export const TOPIC_SHARES = [0.3, 0.1, 0.1, 0.2, 0.3];
export const TOPIC_NAMES = ['refunds', 'billing', 'shipping', 'account', 'greeting'];

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

function singleTopic(rates: RateSpec[]): TopicSpec[] {
  return [{ topic: null, share: 1, rates }];
}

/** The five topics, shifted with the base rate, every variant `lift` points up in every topic. */
export function fiveTopics(base: number, arms: number, lift: number): TopicSpec[] {
  return TOPIC_RATES.map((rate, t) => {
    const control = clamp01(rate + base - 0.7);
    return {
      topic: TOPIC_NAMES[t]!,
      share: TOPIC_SHARES[t]!,
      rates: Array.from({ length: arms }, (_, arm) => (arm === 0 ? control : clamp01(control + lift))),
    };
  });
}

/**
 * 50/50 weights, but the variant gets 53% of conversations: 3% of all traffic that should have
 * gone to control goes to the variant instead, all of it from the easiest topic.
 */
export function biasedAssignment(): { assignment: number[]; topicMix: number[][] } {
  const easiest = TOPIC_RATES.indexOf(Math.max(...TOPIC_RATES));
  const shift = 0.03;
  const mix = (sign: number, armShare: number) =>
    TOPIC_SHARES.map((share, t) => (0.5 * share + (t === easiest ? sign * shift : 0)) / armShare);
  return { assignment: [0.5 - shift, 0.5 + shift], topicMix: [mix(-1, 0.5 - shift), mix(1, 0.5 + shift)] };
}

/** Novelty: +6 points for the first 48 hours, then 1 point worse than control for good. */
export function novelty(base: number): RateSpec {
  return (hours: number) => (hours < 48 ? base + 0.06 : base - 0.01);
}

export function scenarios(base: number): Scenario[] {
  const plain = (id: string, label: string, rates: number[], target: number | null, point: Figure, extra?: Figure[]): Scenario => ({
    id,
    label,
    rates,
    target,
    point,
    extra,
    oldRule: true,
    traffic: { topics: singleTopic(rates) },
  });
  const aa3 = [base, base, base, base];
  return [
    plain('aa1', 'A/A, 1 variant', [base, base], null, 'promotedShare'),
    plain('aa3', 'A/A, 3 variants', aa3, null, 'promotedShare'),
    plain('lift2', '+2 points, 1 variant', [base, base + 0.02], 1, 'medianHours', ['promotedShare']),
    plain('lift5', '+5 points, 1 variant', [base, base + 0.05], 1, 'medianHours', ['promotedShare']),
    plain('worse2', '-2 points, 1 variant', [base, base - 0.02], null, 'promotedShare', ['stoppedEarlyShare']),
    {
      ...plain('aa3_telemetry', 'A/A, 3 variants, latency sd 0.8', aa3, null, 'promotedShare', ['stoppedEarlyShare']),
      traffic: { topics: singleTopic(aa3), latencySdLog: 0.8 },
    },
    {
      ...plain('srm_biased', 'biased 53/47, easy topic to variant, no lift', [base, base], null, 'promotedShare'),
      traffic: { topics: fiveTopics(base, 2, 0), ...biasedAssignment() },
    },
    {
      ...plain('error_regression', '+3 points, errors 1% -> 4%', [base, base + 0.03], null, 'promotedShare', ['stoppedEarlyShare']),
      traffic: { topics: singleTopic([base, base + 0.03]), errorRates: [ERROR_RATE, 0.04] },
    },
    {
      ...plain('latency_regression', '+3 points, p95 latency +40%', [base, base + 0.03], null, 'promotedShare', ['stoppedEarlyShare']),
      traffic: { topics: singleTopic([base, base + 0.03]), latencyMedianMs: [LATENCY_MEDIAN_MS, 1.4 * LATENCY_MEDIAN_MS] },
    },
    {
      ...plain('novelty', 'novelty +6 for 48 h, then -1 (default policy)', [base, base + 0.06], null, 'promotedShare', ['medianHours']),
      traffic: { topics: singleTopic([base, novelty(base)]) },
    },
    {
      ...plain('novelty_min72', 'novelty, minDurationHours 72', [base, base + 0.06], null, 'promotedShare', ['medianHours']),
      policy: { minDurationHours: 72 },
      sameTrafficAs: 'novelty',
      traffic: { topics: singleTopic([base, novelty(base)]) },
    },
    {
      ...plain('topics_up5', '+5 points in 5 topics (40-95%)', [base, base + 0.05], 1, 'medianHours', ['promotedShare']),
      traffic: { topics: fiveTopics(base, 2, 0.05) },
    },
    {
      ...plain('topics_up5_unadjusted', '+5 points in 5 topics, topics hidden', [base, base + 0.05], 1, 'medianHours', ['promotedShare']),
      stripTopics: true,
      sameTrafficAs: 'topics_up5',
      traffic: { topics: fiveTopics(base, 2, 0.05) },
    },
    {
      ...plain('rating_up', 'rating +0.15 on 1-5 (40% rated)', [base, base], 1, 'medianHours', ['promotedShare']),
      // expectedEffect removed: the engine's default for the rating metric applies.
      policy: { metric: 'rating', expectedEffect: undefined },
      oldRule: false,
      traffic: { topics: singleTopic([base, base]), ratingShare: 0.4, ratingMean: [RATING_MEAN, RATING_MEAN + 0.15] },
    },
    // Last, so that adding them left every earlier scenario's seed stream (its index) unchanged.
    ...guardScenarios(base),
  ];
}

/**
 * After a promotion, 5% of traffic stays on the previous version for a 7-day watch. At the
 * benchmark's 1,000 conversations a day the holdback would see only ~350 conversations in a week
 * (a standard error of about 2.5 points): a 3-point regression could not be seen. The guard
 * scenarios therefore run at 20,000 a day (1,000 a day on the holdback); at lower traffic raise
 * the holdback or lengthen the watch.
 */
const GUARD = { perDay: 20_000, holdbackShare: 0.05, hours: 7 * 24 };

function guardScenarios(base: number): Scenario[] {
  const guard = (id: string, label: string, promotedRate: number, extra?: Figure[]): Scenario => ({
    id,
    label,
    rates: [base, promotedRate],
    target: 1,
    point: 'rolledBackShare',
    extra,
    oldRule: false,
    watch: GUARD,
    traffic: {
      topics: singleTopic([base, promotedRate]),
      weights: [GUARD.holdbackShare, 1 - GUARD.holdbackShare],
      assignment: [GUARD.holdbackShare, 1 - GUARD.holdbackShare],
    },
  });
  return [
    guard('guard_aa', 'watch: promoted version as good as the 5% holdback (20,000/day)', base),
    guard('guard_regression', 'watch: promoted version 3 points worse than the holdback (20,000/day)', base - 0.03, ['medianHours']),
  ];
}
