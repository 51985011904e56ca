import { describe, expect, it } from 'vitest';
import { biasedAssignment, fiveTopics, novelty, scenarios, TOPIC_RATES, TOPIC_SHARES } from '../../bench/scenarios';

const rateAt = (spec: number | ((hours: number) => number) | undefined, hours = 0) => (typeof spec === 'function' ? spec(hours) : spec!);

describe('decision benchmark scenarios', () => {
  const all = scenarios(0.7);
  const byId = (id: string) => all.find((s) => s.id === id)!;

  it('has the ids issue 12 item 7 names, once each, with a sound target', () => {
    const ids = all.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [
      'aa1',
      'aa3',
      'lift2',
      'lift5',
      'worse2',
      'aa3_telemetry',
      'srm_biased',
      'error_regression',
      'latency_regression',
      'novelty',
      'novelty_min72',
      'topics_up5',
      'topics_up5_unadjusted',
      'rating_up',
    ]) {
      expect(ids).toContain(id);
    }
    for (const s of all) {
      expect(s.target === null || (s.target > 0 && s.target < s.rates.length)).toBe(true);
      for (const topic of s.traffic.topics) expect(topic.rates).toHaveLength(s.rates.length);
    }
  });

  it('five topics average 70% over their shares, and the variant is 5 points up in each', () => {
    expect(TOPIC_SHARES.reduce((sum, x) => sum + x, 0)).toBeCloseTo(1, 12);
    expect(TOPIC_RATES.reduce((sum, rate, t) => sum + rate * TOPIC_SHARES[t]!, 0)).toBeCloseTo(0.7, 12);
    for (const topic of fiveTopics(0.7, 2, 0.05)) expect(rateAt(topic.rates[1]) - rateAt(topic.rates[0])).toBeCloseTo(0.05, 12);
  });

  it('the biased assignment gives the variant 53%, all 3 extra points from the easiest topic', () => {
    const { assignment, topicMix } = biasedAssignment();
    expect(assignment).toEqual([0.47, 0.53]);
    for (const mix of topicMix) expect(mix.reduce((sum, x) => sum + x, 0)).toBeCloseTo(1, 12);
    // The population's mix is unchanged: only who gets which conversation moved.
    TOPIC_SHARES.forEach((share, t) => expect(0.47 * topicMix[0]![t]! + 0.53 * topicMix[1]![t]!).toBeCloseTo(share, 12));
    // Variant's traffic beyond a fair 50% of each topic: 3 points of all traffic, in the 95% topic only.
    const extra = TOPIC_SHARES.map((share, t) => 0.53 * topicMix[1]![t]! - 0.5 * share);
    expect(extra.map((x) => Number(x.toFixed(12)))).toEqual([0, 0, 0, 0, 0.03]);
    const srm = byId('srm_biased');
    for (const topic of srm.traffic.topics) expect(rateAt(topic.rates[1])).toBe(rateAt(topic.rates[0]));
  });

  it('novelty is +6 points before 48 h and -1 point from then on', () => {
    const rate = novelty(0.7) as (hours: number) => number;
    expect(rate(0)).toBeCloseTo(0.76, 12);
    expect(rate(47.75)).toBeCloseTo(0.76, 12);
    expect(rate(48)).toBeCloseTo(0.69, 12);
    expect(rate(300)).toBeCloseTo(0.69, 12);
  });

  it('paired scenarios replay the same traffic and differ only in the policy or what the engine sees', () => {
    for (const s of all.filter((x) => x.sameTrafficAs)) {
      const twin = byId(s.sameTrafficAs!);
      expect(twin.sameTrafficAs).toBeUndefined();
      const sample = (t: typeof s.traffic) =>
        JSON.stringify({
          ...t,
          topics: t.topics.map((topic) => ({ ...topic, rates: topic.rates.map((r) => [rateAt(r, 1), rateAt(r, 60)]) })),
        });
      expect(sample(s.traffic)).toBe(sample(twin.traffic));
    }
    expect(byId('novelty_min72').policy).toEqual({ minDurationHours: 72 });
    expect(byId('topics_up5_unadjusted').stripTopics).toBe(true);
  });

  it('per-scenario telemetry: errors 1% -> 4%, median latency x1.4, latency sd 0.8, ratings +0.15 on 40%', () => {
    expect(byId('error_regression').traffic.errorRates).toEqual([0.01, 0.04]);
    const latency = byId('latency_regression').traffic.latencyMedianMs!;
    expect(latency[1]! / latency[0]!).toBeCloseTo(1.4, 12);
    expect(byId('aa3_telemetry').traffic.latencySdLog).toBe(0.8);
    const rating = byId('rating_up');
    expect(rating.traffic.ratingShare).toBe(0.4);
    expect(rating.traffic.ratingMean![1]! - rating.traffic.ratingMean![0]!).toBeCloseTo(0.15, 12);
    expect(rating.policy).toMatchObject({ metric: 'rating' });
  });
});
