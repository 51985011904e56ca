import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { balancePValue, srmLogBayesFactor, srmSequentialPValue, SRM_CONCENTRATION } from '../../src/stats/srm';

describe('sequential SRM (Dirichlet-multinomial Bayes factor)', () => {
  it('matches hand-computed Bayes factors for two equal arms', () => {
    expect(SRM_CONCENTRATION).toBe(200);
    // BF(1, 0) = [G(200)/G(201)] [G(101)/G(100)] / 0.5 = 100 * 2 / 200 = 1: one look tells nothing.
    expect(Math.exp(srmLogBayesFactor([1, 0], [1, 1]))).toBeCloseTo(1, 12);
    // BF(2, 0) = 100 * 101 * 4 / (200 * 201); BF(1, 1) = 100 * 100 * 4 / (200 * 201).
    expect(Math.exp(srmLogBayesFactor([2, 0], [1, 1]))).toBeCloseTo(40_400 / 40_200, 12);
    expect(Math.exp(srmLogBayesFactor([1, 1], [1, 1]))).toBeCloseTo(40_000 / 40_200, 12);
  });

  it('is a martingale under the intended split (the mean of the next factor is this one)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 400 }), fc.constantFrom(0.5, 0.2), (a, b, share) => {
        const w = [share, 1 - share];
        const now = Math.exp(srmLogBayesFactor([a, b], w));
        const next = share * Math.exp(srmLogBayesFactor([a + 1, b], w)) + (1 - share) * Math.exp(srmLogBayesFactor([a, b + 1], w));
        expect(next / now).toBeCloseTo(1, 9);
      }),
    );
  });

  it('flags a 53/47 split of 10,000 but not 5,030/4,970, and ignores zero-weight arms', () => {
    expect(srmSequentialPValue([5300, 4700], [1, 1])).toBeLessThan(0.001);
    expect(srmSequentialPValue([5030, 4970], [1, 1])).toBe(1);
    expect(srmSequentialPValue([5000, 5000, 30], [1, 1, 0])).toBe(1);
    expect(srmSequentialPValue([0, 0], [1, 1])).toBe(1);
  });

  it('the topic balance multiplies per-topic factors: a mix skewed within topics trips with equal totals', () => {
    expect(
      balancePValue(
        [
          [1, 0],
          [0, 1],
        ],
        [1, 1],
      ),
    ).toBeCloseTo(1, 12);
    // Totals 1,000 / 1,000, but the variant got most of topic A.
    const skewed = balancePValue(
      [
        [300, 700],
        [700, 300],
      ],
      [1, 1],
    );
    expect(skewed).toBeLessThan(1e-10);
    expect(srmSequentialPValue([1000, 1000], [1, 1])).toBe(1);
  });
});
