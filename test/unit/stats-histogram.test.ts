import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addCursor,
  addToBin,
  binOf,
  binValue,
  countAboveWithCursor,
  histogramQuantile,
  lastBinAtOrBelow,
  logHistogram,
  quantileWithCursor,
} from '../../src/stats/histogram';
import { percentileCont } from '../helpers/percentile';

/** Histogram with unit-wide bins from log-value 0, so bin b stands for e^(b + 0.5). */
function unitHistogram(bins: number[], size = 10) {
  const h = logHistogram(0, size, 1);
  for (const bin of bins) addToBin(h, bin);
  return h;
}

describe('log histogram', () => {
  it('quantizes a value to the centre of its bin and clamps the range', () => {
    const h = logHistogram(0, 10, 1);
    expect(binOf(h, 2.3)).toBe(2);
    expect(binValue(h, 2)).toBeCloseTo(Math.exp(2.5), 12);
    expect(binOf(h, -4)).toBe(0);
    expect(binOf(h, 99)).toBe(9);
  });

  it('percentile_cont interpolates between the order statistics (hand-computed)', () => {
    // Sorted values e^0.5, e^1.5, e^1.5, e^3.5: the p95 sits at position 0.95 x 3 = 2.85.
    const h = unitHistogram([3, 1, 0, 1]);
    expect(histogramQuantile(h, 0.95)).toBeCloseTo(Math.exp(1.5) + 0.85 * (Math.exp(3.5) - Math.exp(1.5)), 10);
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(Math.exp(1.5), 12);
    expect(histogramQuantile(h, 0)).toBeCloseTo(Math.exp(0.5), 12);
    expect(histogramQuantile(h, 1)).toBeCloseTo(Math.exp(3.5), 12);
    expect(histogramQuantile(unitHistogram([4]), 0.95)).toBeCloseTo(Math.exp(4.5), 12);
    expect(histogramQuantile(unitHistogram([]), 0.95)).toBeNull();
  });

  it('counts values strictly above a threshold (a value equal to it is not slower)', () => {
    const h = unitHistogram([0, 1, 1, 3, 7]);
    const cursor = addCursor(h);
    expect(countAboveWithCursor(h, cursor, Math.exp(1.5))).toBe(2);
    expect(countAboveWithCursor(h, cursor, Math.exp(1.5) * 1.0001)).toBe(2);
    expect(countAboveWithCursor(h, cursor, Math.exp(1.5) * 0.9999)).toBe(4);
    expect(countAboveWithCursor(h, cursor, 0.5)).toBe(5);
    expect(countAboveWithCursor(h, cursor, 1e9)).toBe(0);
    expect(lastBinAtOrBelow(h, 0)).toBe(-1);
  });

  it('cursors kept up to date while values arrive agree with a plain sort', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 39 }), { maxLength: 12 }), { minLength: 1, maxLength: 30 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0.5, max: 2, noNaN: true }),
        (batches, q, factor) => {
          const h = logHistogram(0, 4, 0.1);
          const quantileCursor = addCursor(h);
          const thresholdCursor = addCursor(h);
          const values: number[] = [];
          for (const batch of batches) {
            for (const bin of batch) {
              addToBin(h, bin);
              values.push(binValue(h, bin));
            }
            const expected = percentileCont(values, q);
            const got = quantileWithCursor(h, quantileCursor, q);
            if (expected === null) expect(got).toBeNull();
            else expect(got).toBeCloseTo(expected, 9);
            const threshold = factor * (expected ?? 1);
            expect(countAboveWithCursor(h, thresholdCursor, threshold)).toBe(values.filter((v) => v > threshold).length);
          }
        },
      ),
    );
  });
});
