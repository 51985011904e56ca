import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { chiSquareSurvival, logGamma, normalCdf, normalQuantile, regularizedGammaP, regularizedGammaQ, srmTest } from '../../src/stats';

/** Reference values from scipy.stats (norm.cdf, norm.ppf, chi2.sf) and math.lgamma. */
describe('normal distribution', () => {
  const cdfTable: [number, number][] = [
    [-8, 6.22096057427174e-16],
    [-5, 2.866515718791933e-7],
    [-3, 0.0013498980316300933],
    [-1.5, 0.06680720126885807],
    [0, 0.5],
    [0.5, 0.6914624612740131],
    [1.96, 0.9750021048517795],
    [3.5, 0.9997673709209645],
    [6, 0.9999999990134123],
  ];

  it.each(cdfTable)('Phi(%d) matches to 1e-12 relative', (x, expected) => {
    expect(Math.abs(normalCdf(x) - expected) / expected).toBeLessThan(1e-12);
  });

  const quantileTable: [number, number][] = [
    [1e-12, -7.034483825301131],
    [1e-6, -4.753424308822899],
    [0.001, -3.090232306167813],
    [0.025, -1.9599639845400545],
    [0.2, -0.8416212335729142],
    [0.5, 0],
    [0.8, 0.8416212335729143],
    [0.975, 1.959963984540054],
  ];

  it.each(quantileTable)('Phi^-1(%d) matches to 1e-10', (p, expected) => {
    expect(normalQuantile(p)).toBeCloseTo(expected, 10);
  });

  it('handles the edges without NaN', () => {
    expect(normalCdf(-100)).toBe(0);
    expect(normalCdf(100)).toBe(1);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(Number.isNaN(normalQuantile(1.5))).toBe(true);
  });

  it('quantile inverts the CDF (lower tail to -37, centre to within 1e-9)', () => {
    fc.assert(
      fc.property(fc.double({ min: -37, max: 0, noNaN: true }), (x) => {
        expect(Math.abs(normalQuantile(normalCdf(x)) - x)).toBeLessThan(1e-9 * Math.max(1, -x));
      }),
    );
    fc.assert(
      fc.property(fc.double({ min: -4, max: 4, noNaN: true }), (x) => {
        // Above 0 the round trip goes through 1 - p, which carries absolute error ~1e-16 only.
        expect(normalQuantile(normalCdf(x))).toBeCloseTo(x, 9);
      }),
    );
  });

  it('CDF is monotone', () => {
    fc.assert(
      fc.property(fc.double({ min: -12, max: 12, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (x, step) => {
        expect(normalCdf(x + step)).toBeGreaterThanOrEqual(normalCdf(x));
      }),
    );
  });
});

describe('gamma and chi-square', () => {
  it.each([
    [0.5, 0.5723649429247004],
    [1, 0],
    [2.5, 0.2846828704729196],
    [7, 6.579251212010102],
    [10.5, 13.940625219403763],
    [100, 359.1342053695754],
  ])('logGamma(%d)', (z, expected) => {
    expect(logGamma(z)).toBeCloseTo(expected, 11);
  });

  it('matches the textbook 5% critical values', () => {
    expect(chiSquareSurvival(3.841, 1)).toBeCloseTo(0.05, 4);
    expect(chiSquareSurvival(5.991, 2)).toBeCloseTo(0.05, 4);
    expect(chiSquareSurvival(7.815, 3)).toBeCloseTo(0.05, 4);
  });

  it.each([
    [0.5, 1, 0.47950012218695337],
    [10, 4, 0.04042768199451279],
    [30, 10, 0.000856641210775301],
    [100, 50, 3.454931382984871e-5],
    [0.001, 3, 0.9999915920809419],
    [200, 3, 4.218541107192018e-43],
  ])('chi2.sf(%d, df=%d)', (x, df, expected) => {
    expect(Math.abs(chiSquareSurvival(x, df) - expected) / expected).toBeLessThan(1e-9);
  });

  it('agrees with the closed forms for 1 and 2 degrees of freedom', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-6, max: 60, noNaN: true }), (x) => {
        expect(chiSquareSurvival(x, 2)).toBeCloseTo(Math.exp(-x / 2), 12);
        expect(chiSquareSurvival(x, 1)).toBeCloseTo(2 * normalCdf(-Math.sqrt(x)), 12);
      }),
    );
  });

  it('P + Q = 1', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.1, max: 50, noNaN: true }), fc.double({ min: 0, max: 120, noNaN: true }), (a, x) => {
        expect(regularizedGammaP(a, x) + regularizedGammaQ(a, x)).toBeCloseTo(1, 12);
      }),
    );
  });
});

describe('srmTest', () => {
  it('matches a hand computation (1000 vs 1100 at 50/50: chi2 = 2 * 50^2 / 1050)', () => {
    const result = srmTest([1000, 1100], [1, 1]);
    expect(result.chiSquare).toBeCloseTo(4.761904761904762, 12);
    expect(result.pValue).toBeCloseTo(0.029096331741252267, 10);
    expect(result.df).toBe(1);
  });

  it('uses the weights, whatever their scale', () => {
    expect(srmTest([900, 100], [0.9, 0.1]).chiSquare).toBeCloseTo(0, 12);
    expect(srmTest([900, 100], [9, 1]).pValue).toBeCloseTo(1, 12);
    expect(srmTest([500, 500], [9, 1]).pValue).toBeLessThan(1e-100);
  });

  it('is neutral without data and ignores zero-weight arms', () => {
    expect(srmTest([0, 0, 0], [1, 1, 1])).toMatchObject({ chiSquare: 0, pValue: 1 });
    const result = srmTest([100, 100, 7], [1, 1, 0]);
    expect(result.df).toBe(1);
    expect(result.chiSquare).toBe(0);
  });
});
