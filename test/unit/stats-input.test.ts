import { describe, expect, it } from 'vitest';
import { resolvePolicy } from '../../src/domain/policy';
import { DEFAULT_POLICY } from '../../src/domain/types';
import { decide, InvalidDecisionInput } from '../../src/stats';
import { armStats as arm } from '../helpers/arm-stats';

const winner = [arm(0, 1251, 876), arm(1, 1240, 990)];

function refusal(fn: () => unknown): InvalidDecisionInput {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidDecisionInput) return error;
    throw error;
  }
  throw new Error('expected InvalidDecisionInput');
}

describe('decide() input', () => {
  it('a policy without maxDurationHours (or any field) takes the defaults instead of throwing', () => {
    expect(decide({ arms: winner, policy: {}, elapsedHours: 30 }).decision.action).toBe('promote');
    const late = decide({ arms: [arm(0, 1000, 700), arm(1, 1000, 700)], policy: {}, elapsedHours: DEFAULT_POLICY.maxDurationHours });
    expect(late.decision.action).toBe('keep_control');
  });

  it('refuses memory p-values outside [0, 1] instead of reading -0.5 as overwhelming evidence', () => {
    const error = refusal(() => decide({ arms: winner, policy: {}, memory: { pValues: { v1: -0.5 } }, elapsedHours: 30 }));
    expect(error.field).toBe('memory.pValues.v1');
    expect(error.message).toMatch(/probability in \[0, 1\], got -0\.5/);
    const directional = refusal(() =>
      decide({ arms: winner, policy: {}, memory: { pValues: {}, directional: { v1: { up: 2, down: 1 } } }, elapsedHours: 30 }),
    );
    expect(directional.field).toBe('memory.directional.v1.up');
  });

  it('reads elapsedHours Infinity as past every limit, and refuses NaN', () => {
    const out = decide({ arms: [arm(0, 1000, 700), arm(1, 1000, 700)], policy: {}, elapsedHours: Infinity });
    expect(out.decision.action).toBe('keep_control');
    expect(out.decision.reason).toContain('336-hour limit');
    expect(refusal(() => decide({ arms: winner, policy: {}, elapsedHours: Number.NaN })).field).toBe('elapsedHours');
  });

  it('names the policy field that is out of range', () => {
    expect(refusal(() => decide({ arms: winner, policy: { alpha: 2 }, elapsedHours: 30 })).field).toBe('policy.alpha');
    const margin = refusal(() =>
      decide({ arms: winner, policy: { guardrails: { errorRateMargin: -1, latencyP95Margin: 0.2, tokensMargin: 0.3 } }, elapsedHours: 30 }),
    );
    expect(margin.field).toBe('policy.guardrails.errorRateMargin');
  });

  it('expectedEffect defaults to the metric unit: 0.05 of success rate, 0.15 stars of rating', () => {
    expect(resolvePolicy({}).expectedEffect).toBe(0.05);
    expect(resolvePolicy({}, 'rating').expectedEffect).toBe(0.15);
    expect(resolvePolicy({ expectedEffect: 0.3 }, 'rating').expectedEffect).toBe(0.3);
    const rated = (i: number, mean: number) =>
      arm(i, 800, 560, { ratingN: 800, ratingSum: 800 * mean, ratingSumSq: 800 * (1.1 * 1.1 + mean * mean) });
    const arms = [rated(0, 3.6), rated(1, 3.75)];
    const byDefault = decide({ arms, policy: { metric: 'rating' }, elapsedHours: 30 }).decision.variants[0]!.pValue;
    const explicit = decide({ arms, policy: { metric: 'rating', expectedEffect: 0.15 }, elapsedHours: 30 }).decision.variants[0]!.pValue;
    expect(byDefault).toBe(explicit);
  });
});
