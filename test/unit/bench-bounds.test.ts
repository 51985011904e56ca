import { describe, expect, it } from 'vitest';
import { BOUNDS, evaluateBounds, type EngineFigures } from '../../bench/bounds';

const figures = (f: Partial<EngineFigures>): EngineFigures => ({
  promotedShare: 0,
  stoppedEarlyShare: 0,
  medianHours: null,
  rolledBackShare: null,
  ...f,
});

describe('benchmark bounds (issue 12 item 7)', () => {
  it('states each bound of the item once', () => {
    expect(BOUNDS.map((b) => `${b.scenario}.${b.figure}`)).toEqual([
      'aa3.promotedShare',
      'aa3_telemetry.promotedShare',
      'aa3_telemetry.stoppedEarlyShare',
      'srm_biased.promotedShare',
      'error_regression.promotedShare',
      'latency_regression.promotedShare',
      'novelty_min72.promotedShare',
      'lift5.medianHours',
      'topics_up5.medianHours',
      'guard_aa.rolledBackShare',
      'guard_regression.rolledBackShare',
    ]);
  });

  it('passes at the limit, fails above it, and says n/a when a scenario it needs is missing', () => {
    const results: Record<string, EngineFigures> = {
      aa3: figures({ promotedShare: 0.05 }),
      aa3_telemetry: figures({ promotedShare: 0.01, stoppedEarlyShare: 0.021 }),
      lift5: figures({ medianHours: 50 }),
      topics_up5: figures({ medianHours: 42.5 }),
      topics_up5_unadjusted: figures({ medianHours: 50 }),
      error_regression: figures({ promotedShare: 0.02 }),
      guard_aa: figures({ rolledBackShare: 0.05 }),
      guard_regression: figures({ rolledBackShare: 0.89 }),
    };
    const bounds = evaluateBounds((id) => results[id], 59.9);
    const verdict = Object.fromEntries(bounds.map((b) => [b.id, b.pass]));
    expect(verdict).toEqual({
      aa3_promoted: true,
      aa3_telemetry_promoted: true,
      aa3_telemetry_stopped: false,
      srm_biased_promoted: null,
      error_regression_promoted: false,
      latency_regression_promoted: null,
      novelty_min72_promoted: null,
      lift5_median: true,
      topics_up5_median: true,
      guard_aa_rolled_back: true,
      // An at-least bound: 89% is short of 90%.
      guard_regression_rolled_back: false,
    });
    expect(evaluateBounds((id) => ({ ...results, guard_regression: figures({ rolledBackShare: 0.9 }) })[id], 59.9).at(-1)!.pass).toBe(true);
    expect(bounds.find((b) => b.id === 'topics_up5_median')!.limit).toBeCloseTo(42.5, 12);
    expect(bounds.find((b) => b.id === 'lift5_median')!.limit).toBe(59.9);
    // Without the unadjusted twin there is nothing to compare with.
    expect(
      evaluateBounds((id) => (id === 'topics_up5' ? results[id] : undefined), 59.9).find((b) => b.id === 'topics_up5_median')!.pass,
    ).toBeNull();
  });
});
