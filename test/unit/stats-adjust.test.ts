import { describe, expect, it } from 'vitest';
import { armOfTopics as arm, topicStats as topic } from '../helpers/arm-stats';
import { estimateDifference } from '../../src/stats/adjust';

describe('post-stratification by topic', () => {
  it('matches the hand-computed estimate and variance, smaller than the raw variance', () => {
    const control = arm(0, [topic('A', 100, 50), topic('B', 100, 90)]);
    const variant = arm(1, [topic('A', 100, 60), topic('B', 100, 95)]);
    const adjusted = estimateDifference(control, variant, 'success', true);
    // d = 0.5 * 0.10 + 0.5 * 0.05; V = 0.25 * (0.25 + 0.24) / 100 + 0.25 * (0.09 + 0.0475) / 100.
    expect(adjusted.d).toBeCloseTo(0.075, 12);
    expect(adjusted.variance).toBeCloseTo(0.00156875, 12);
    expect(adjusted).toMatchObject({ adjusted: true, strata: 2, informative: true });
    const raw = estimateDifference(control, variant, 'success', false);
    expect(raw.d).toBeCloseTo(0.075, 12);
    expect(raw.variance).toBeCloseTo((0.21 + 0.174375) / 200, 12);
    expect(raw.adjusted).toBe(false);
    expect(adjusted.unadjustedVariance).toBeCloseTo(raw.variance, 15);
  });

  it('removes the bias of an assignment that sends one arm more of the easy topic', () => {
    const control = arm(0, [topic('hard', 100, 50), topic('easy', 100, 90)]);
    const variant = arm(1, [topic('hard', 50, 25), topic('easy', 150, 135)]);
    expect(estimateDifference(control, variant, 'success', false).d).toBeCloseTo(0.1, 12);
    expect(estimateDifference(control, variant, 'success', true).d).toBeCloseTo(0, 12);
  });

  it('pools topics too small to stand alone, and falls back when topics do not add up', () => {
    const control = arm(0, [topic('A', 100, 50), topic('B', 100, 90), topic('tiny', 5, 5), topic(null, 30, 15)]);
    const variant = arm(1, [topic('A', 100, 60), topic('B', 100, 95), topic('tiny', 3, 0), topic(null, 30, 20)]);
    const out = estimateDifference(control, variant, 'success', true);
    // A, B, and the pooled rest ('tiny' + null: 35 vs 33 observations) as a third stratum.
    expect(out.strata).toBe(3);
    const broken = { ...variant, n: variant.n + 1 };
    expect(estimateDifference(control, broken, 'success', true).adjusted).toBe(false);
    const noTopics = { ...variant, topics: undefined };
    expect(estimateDifference(control, noTopics, 'success', true).adjusted).toBe(false);
  });
});
