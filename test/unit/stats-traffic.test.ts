import { describe, expect, it } from 'vitest';
import type { ArmStats, OutcomeCounts } from '../../src/domain/types';
import {
  addConversationCheck,
  emptyTraffic,
  mulberry32,
  normalSampler,
  ratingProbabilities,
  trafficArmStats,
  trafficHours,
  type ConversationRecord,
  type ConversationScenario,
} from '../../src/stats/simulate';
import { percentileCont } from '../helpers/percentile';

function counts(rows: ConversationRecord[]): OutcomeCounts {
  const rated = rows.filter((r) => r.rating !== null).map((r) => r.rating!);
  return {
    n: rows.length,
    successes: rows.filter((r) => r.success).length,
    ratingN: rated.length,
    ratingSum: rated.reduce((s, x) => s + x, 0),
    ratingSumSq: rated.reduce((s, x) => s + x * x, 0),
    errors: rows.filter((r) => r.error).length,
  };
}

/** What the SQL aggregation would report over the logged conversations, written the plain way. */
function aggregateLikeSql(
  log: ConversationRecord[],
  arms: number,
  factor: number,
  recentFrom: number,
): Omit<ArmStats, 'versionId' | 'weight'>[] {
  const byArm = Array.from({ length: arms }, (_, arm) => log.filter((r) => r.arm === arm));
  const controlP95 = percentileCont(
    byArm[0]!.map((r) => r.latencyMs),
    0.95,
  );
  const threshold = controlP95 === null ? null : factor * controlP95;
  return byArm.map((rows, arm) => {
    const topicNames = [...new Set(rows.map((r) => r.topic))];
    const tokens = rows.map((r) => r.tokens);
    return {
      arm,
      ...counts(rows),
      latencyP95: percentileCont(
        rows.map((r) => r.latencyMs),
        0.95,
      ),
      tokensMean: rows.length > 0 ? tokens.reduce((s, x) => s + x, 0) / rows.length : null,
      latencyN: rows.length,
      latencySlow: threshold === null ? 0 : rows.filter((r) => r.latencyMs > threshold).length,
      latencyThreshold: threshold,
      tokensN: rows.length,
      tokensSum: tokens.reduce((s, x) => s + x, 0),
      tokensSumSq: tokens.reduce((s, x) => s + x * x, 0),
      topics: topicNames.map((topic) => ({ topic, ...counts(rows.filter((r) => r.topic === topic)) })),
      recent: { hours: 24, ...counts(rows.filter((r) => r.hours >= recentFrom)) },
    };
  });
}

const SCENARIO: ConversationScenario = {
  topics: [
    { topic: 'billing', share: 0.3, rates: [0.4, 0.45] },
    { topic: 'login', share: 0.5, rates: [0.8, 0.8] },
    { topic: 'other', share: 0.2, rates: [0.95, (hours) => (hours < 10 ? 1 : 0.5)] },
  ],
  perCheck: 12,
  checkHours: 0.25,
  errorRates: [0.02, 0.05],
  latency: { medianMs: [1000, 1400], sdLog: 0.5 },
  tokens: { mean: [500, 650] },
  ratings: { share: 0.4, mean: [3.8, 3.95] },
};

describe('rating distribution', () => {
  it('is the maximum-entropy distribution on 1..5 with the given mean (geometric, uniform at 3)', () => {
    for (const x of ratingProbabilities(3)) expect(x).toBeCloseTo(0.2, 12);
    expect(ratingProbabilities(5)).toEqual([0, 0, 0, 0, 1]);
    expect(ratingProbabilities(1)).toEqual([1, 0, 0, 0, 0]);
    for (const mean of [1.5, 3.8, 3.95, 4.9]) {
      const p = ratingProbabilities(mean);
      expect(p.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
      expect(p.reduce((s, x, k) => s + x * (k + 1), 0)).toBeCloseTo(mean, 10);
      // Constant ratio between neighbours: p_k proportional to r^k.
      for (let k = 1; k < 4; k++) expect(p[k + 1]! / p[k]!).toBeCloseTo(p[1]! / p[0]!, 8);
    }
    // Mean 3.8: ratio r solves sum k r^k / sum r^k = 3.8, r = 1.5393 (by hand, to 4 places).
    const p = ratingProbabilities(3.8);
    expect(p[1]! / p[0]!).toBeCloseTo(1.5393, 3);
  });
});

describe('normal sampler', () => {
  it('draws mean 0 and variance 1', () => {
    const normal = normalSampler(mulberry32(3));
    const xs = Array.from({ length: 40_000 }, normal);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(xs.length));
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    expect(xs.filter((x) => x > 1.959964).length / xs.length).toBeCloseTo(0.025, 2);
  });
});

describe('conversation traffic', () => {
  it('reports exactly what a plain aggregation of its conversations gives, at every check', () => {
    const rng = mulberry32(11);
    const normal = normalSampler(rng);
    const state = emptyTraffic(SCENARIO, { record: true });
    for (let check = 1; check <= 200; check++) {
      addConversationCheck(state, rng, normal);
      if (check % 7 !== 0 && check !== 1) continue;
      const got = trafficArmStats(state);
      const recentFrom = trafficHours(state) - 24;
      const expected = aggregateLikeSql(state.log!, 2, 1.25, recentFrom - 1e-9);
      got.forEach((arm, i) => {
        const { latencyP95, latencyThreshold, tokensMean, ...exact } = expected[i]!;
        expect(arm).toMatchObject({ versionId: `v${i}`, weight: 1, ...exact });
        for (const [value, want] of [
          [arm.latencyP95, latencyP95],
          [arm.latencyThreshold, latencyThreshold],
          [arm.tokensMean, tokensMean],
        ] as const) {
          if (want === null || want === undefined) expect(value).toBe(want);
          else expect(value).toBeCloseTo(want, 6);
        }
      });
    }
  });

  it('draws telemetry with the configured medians, means and rates', () => {
    const rng = mulberry32(5);
    const normal = normalSampler(rng);
    const state = emptyTraffic({ ...SCENARIO, perCheck: 200 });
    for (let check = 0; check < 200; check++) addConversationCheck(state, rng, normal);
    const [control, variant] = trafficArmStats(state);
    // Lognormal p95 = median x e^(1.645 x 0.5) = 2.276 x median.
    expect(control!.latencyP95! / 1000).toBeCloseTo(Math.exp(1.6449 * 0.5), 1);
    expect(variant!.latencyP95! / control!.latencyP95!).toBeCloseTo(1.4, 1);
    expect(control!.tokensMean! / 500).toBeCloseTo(1, 1);
    expect(variant!.tokensMean! / 650).toBeCloseTo(1, 1);
    expect(variant!.errors / variant!.n).toBeCloseTo(0.05, 2);
    expect(control!.ratingN / control!.n).toBeCloseTo(0.4, 1);
    expect(variant!.ratingSum / variant!.ratingN).toBeCloseTo(3.95, 1);
    // 1.25 x control's p95 sits at z = 1.645 + ln(1.25) / 0.5 = 2.091: P(Z > 2.091) = 0.0183.
    expect(control!.latencySlow! / control!.n).toBeCloseTo(0.0183, 2);
    const billing = variant!.topics!.find((t) => t.topic === 'billing')!;
    expect(billing.successes / billing.n).toBeCloseTo(0.45, 1);
    expect(billing.n / variant!.n).toBeCloseTo(0.3, 1);
  });

  it('reads time-varying rates at the start of each interval', () => {
    const rng = mulberry32(8);
    const normal = normalSampler(rng);
    const scenario: ConversationScenario = { ...SCENARIO, topics: [{ topic: null, share: 1, rates: [0, (h) => (h < 10 ? 1 : 0)] }] };
    const state = emptyTraffic(scenario);
    for (let check = 0; check < 40; check++) addConversationCheck(state, rng, normal); // 0 .. 9.75 h
    const before = trafficArmStats(state)[1]!;
    expect(before.successes).toBe(before.n);
    for (let check = 0; check < 40; check++) addConversationCheck(state, rng, normal);
    const after = trafficArmStats(state)[1]!;
    expect(after.successes).toBe(before.n);
    expect(after.recent!.successes).toBe(before.recent!.successes);
  });

  it('a biased assignment shows in the arm counts and the topic mix, not in the reported weights', () => {
    const rng = mulberry32(21);
    const normal = normalSampler(rng);
    const state = emptyTraffic({
      ...SCENARIO,
      perCheck: 100,
      weights: [1, 1],
      assignment: [0.47, 0.53],
      topicMix: [
        [0.3, 0.5, 0.2],
        [0.3, 0.3, 0.4],
      ],
    });
    for (let check = 0; check < 200; check++) addConversationCheck(state, rng, normal);
    const [control, variant] = trafficArmStats(state);
    const total = control!.n + variant!.n;
    expect(Math.abs(variant!.n / total - 0.53)).toBeLessThan(4 * Math.sqrt((0.53 * 0.47) / total));
    expect([control!.weight, variant!.weight]).toEqual([1, 1]);
    const share = (arm: ArmStats, topic: string) => arm.topics!.find((t) => t.topic === topic)!.n / arm.n;
    expect(share(control!, 'other')).toBeCloseTo(0.2, 1);
    expect(share(variant!, 'other')).toBeCloseTo(0.4, 1);
  });

  it('is reproducible from the seed', () => {
    const run = () => {
      const rng = mulberry32(99);
      const normal = normalSampler(rng);
      const state = emptyTraffic(SCENARIO);
      for (let check = 0; check < 50; check++) addConversationCheck(state, rng, normal);
      return trafficArmStats(state);
    };
    expect(run()).toEqual(run());
  });
});
