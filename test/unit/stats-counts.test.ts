import { describe, expect, it } from 'vitest';
import { addOutcome, emptyOutcome, subtractOutcome, topicKey } from '../../src/stats/counts';
import { armStats } from '../helpers/arm-stats';

describe('outcome counts', () => {
  it('adds with a sign, subtracts only the six counts and never below 0, keys the pooled topic apart', () => {
    const sum = emptyOutcome();
    addOutcome(sum, { n: 10, successes: 7, ratingN: 4, ratingSum: 15, ratingSumSq: 61, errors: 1 });
    addOutcome(sum, { n: 3, successes: 1, ratingN: 1, ratingSum: 5, ratingSumSq: 25, errors: 0 }, -1);
    expect(sum).toEqual({ n: 7, successes: 6, ratingN: 3, ratingSum: 10, ratingSumSq: 36, errors: 1 });
    // An arm minus its window: only the counts come back, not the arm's other fields.
    const arm = armStats(1, 100, 70, { errors: 2 });
    expect(subtractOutcome(arm, { n: 40, successes: 80, ratingN: 0, ratingSum: 0, ratingSumSq: 0, errors: 1 })).toEqual({
      n: 60,
      successes: 0,
      ratingN: 0,
      ratingSum: 0,
      ratingSumSq: 0,
      errors: 1,
    });
    expect(topicKey('billing')).toBe('billing');
    expect(topicKey(null)).not.toBe(topicKey('pooled'));
  });
});
