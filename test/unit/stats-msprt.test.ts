import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  confidenceSequence,
  expectedLoss,
  holm,
  mixtureLikelihoodRatio,
  msprtPValue,
  probBeatControl,
  normalCdf,
  oneSidedPValue,
  updateDirectional,
} from '../../src/stats';

/**
 * Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 d^2 / (2 V (V + tau^2))), computed by hand:
 * d = 0.05, V = 0.001, tau = 0.05: sqrt(0.001 / 0.0035) = 0.534522, exponent = 6.25e-6 / 7e-6
 * = 0.892857, exp = 2.442092, Lambda = 1.305356. The other rows were checked with a short script.
 */
describe('mSPRT normal mixture', () => {
  it.each([
    [0.05, 0.001, 0.05, 1.3053558147729398],
    [0.048, 0.0004, 0.05, 4.447125294779609],
    [0, 0.001, 0.05, 0.5345224838248488],
    [-0.03, 0.0002, 0.05, 2.1858144183509247],
    [0.3, 0.01, 0.2, 16.367228014507628],
  ])('Lambda(d=%d, V=%d, tau=%d)', (d, v, tau, expected) => {
    expect(mixtureLikelihoodRatio(d, v, tau)).toBeCloseTo(expected, 10);
    expect(msprtPValue(d, v, tau)).toBeCloseTo(Math.min(1, 1 / expected), 10);
  });

  it('a worked proportion example: 928/1240 vs 876/1251', () => {
    const pc = 876 / 1251;
    const pv = 928 / 1240;
    const v = (pc * (1 - pc)) / 1251 + (pv * (1 - pv)) / 1240;
    expect(msprtPValue(pv - pc, v, 0.05)).toBeCloseTo(0.11925632286830865, 9);
  });

  it('keeps the running minimum', () => {
    expect(msprtPValue(0.048, 0.0004, 0.05, 0.1)).toBe(0.1);
    expect(msprtPValue(0.048, 0.0004, 0.05, 0.9)).toBeCloseTo(0.2248643637663818, 10);
  });

  it('stays finite for overwhelming evidence', () => {
    expect(msprtPValue(0.5, 1e-8, 0.05)).toBe(0);
  });

  it('confidence sequence half-width matches the closed form and the test inversion', () => {
    const [lo, hi] = confidenceSequence(0.02, 0.0004, 0.05, 0.05);
    expect(hi - 0.02).toBeCloseTo(0.06082124819018596, 12);
    expect(0.02 - lo).toBeCloseTo(0.06082124819018596, 12);
    // On the boundary the test statistic equals 1/alpha.
    expect(mixtureLikelihoodRatio(0.02 - hi, 0.0004, 0.05)).toBeCloseTo(20, 8);
  });

  it('the interval excludes 0 exactly when the p-value is <= alpha', () => {
    fc.assert(
      fc.property(fc.double({ min: -0.3, max: 0.3, noNaN: true }), fc.double({ min: 1e-6, max: 0.05, noNaN: true }), (d, v) => {
        const [lo, hi] = confidenceSequence(d, v, 0.05, 0.05);
        const p = msprtPValue(d, v, 0.05);
        if (Math.abs(p - 0.05) > 1e-9) expect(lo > 0 || hi < 0).toBe(p < 0.05);
      }),
    );
  });

  it('the one-sided mixture is 2 Lambda Phi(d tau / sqrt(V (V + tau^2))) (hand-computed x = 1.33631)', () => {
    // d = 0.05, V = 0.001, tau = 0.05: x = 0.0025 / sqrt(0.001 * 0.0035) = 1.3363062.
    const lambda = 1.3053558147729398;
    expect(oneSidedPValue(0.05, 0.001, 0.05, 1)).toBeCloseTo(1 / (2 * lambda * normalCdf(1.3363062095621219)), 10);
    expect(oneSidedPValue(0.05, 0.001, 0.05, 1)).toBeCloseTo(0.42126, 4);
    // Evidence for the other side is capped below 1 (L- <= sqrt(V / (V + tau^2))): p = 1.
    expect(oneSidedPValue(0.05, 0.001, 0.05, -1)).toBe(1);
    // Far in the tail it stays finite and tiny instead of 0 * Infinity.
    expect(oneSidedPValue(-0.5, 1e-6, 0.05, -1)).toBe(0);
    expect(oneSidedPValue(-0.5, 1e-6, 0.05, 1)).toBe(1);
  });

  it('the one-sided p is at most the two-sided one, and about half of it once the evidence is clear', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 0.2, noNaN: true }), fc.double({ min: 1e-5, max: 0.01, noNaN: true }), (d, v) => {
        const two = msprtPValue(d, v, 0.05);
        const one = oneSidedPValue(d, v, 0.05, 1);
        expect(one).toBeLessThanOrEqual(two + 1e-12);
        if (two < 1 && two > 1e-250) expect(one / two).toBeGreaterThanOrEqual(0.5 - 1e-12);
        if (two < 1e-6 && two > 1e-250) expect(one / two).toBeLessThan(0.51);
      }),
    );
  });

  it('directional minima only move on their own side', () => {
    const start = { up: 1, down: 1 };
    const afterLoss = updateDirectional(start, -0.06, 0.0002, 0.05);
    expect(afterLoss.up).toBe(1);
    expect(afterLoss.down).toBeLessThan(0.01);
    const afterWin = updateDirectional(afterLoss, 0.01, 0.0002, 0.05);
    expect(afterWin.down).toBe(afterLoss.down);
    expect(afterWin.up).toBeLessThanOrEqual(1);
  });
});

describe('holm', () => {
  it('adjusts a known example', () => {
    // Sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 -> max(0.06, 0.04).
    const adjusted = holm([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((expected, i) => expect(adjusted[i]).toBeCloseTo(expected, 12));
  });

  it('is the identity for one test, caps at 1, and handles the empty family', () => {
    expect(holm([0.3])).toEqual([0.3]);
    expect(holm([0.6, 0.7])).toEqual([1, 1]);
    expect(holm([])).toEqual([]);
  });

  it('never lowers a p-value and is monotone in its inputs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }),
        fc.nat(5),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (ps, index, shrink) => {
          const adjusted = holm(ps);
          adjusted.forEach((a, i) => expect(a).toBeGreaterThanOrEqual(ps[i] ?? 0));
          const i = index % ps.length;
          const lowered = ps.map((p, j) => (j === i ? p * shrink : p));
          holm(lowered).forEach((a, j) => expect(a).toBeLessThanOrEqual((adjusted[j] ?? 1) + 1e-15));
        },
      ),
    );
  });
});

describe('Bayesian read-outs', () => {
  it('match the normal formulas', () => {
    expect(probBeatControl(0.01, 0.0004)).toBeCloseTo(0.6914624612740131, 12);
    expect(expectedLoss(0.01, 0.0004)).toBeCloseTo(0.003955931148026121, 12);
    expect(probBeatControl(0, 0.0004)).toBe(0.5);
  });

  it('degenerate variance gives the point answer', () => {
    expect(probBeatControl(0.1, 0)).toBe(1);
    expect(expectedLoss(-0.1, 0)).toBeCloseTo(0.1, 12);
  });
});
