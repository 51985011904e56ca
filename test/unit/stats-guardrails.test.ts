import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type ArmStats } from '../../src/domain/types';
import { checkGuardrails } from '../../src/stats/guardrails';

function arm(index: number, extra: Partial<ArmStats> = {}): ArmStats {
  return {
    arm: index,
    versionId: `v${index}`,
    weight: 1,
    n: 1000,
    successes: 700,
    ratingN: 0,
    ratingSum: 0,
    ratingSumSq: 0,
    errors: 10,
    latencyP95: 1000,
    tokensMean: null,
    ...extra,
  };
}

const margins = DEFAULT_POLICY.guardrails;
const check = (control: ArmStats, variant: ArmStats, gate = true) => checkGuardrails(control, variant, margins, 0.05, gate);

describe('sequential guardrails', () => {
  it('p95 latency: 10% of 1,000 conversations past 1.25 x control p95 is a breach shown (hand-computed bound 0.0705)', () => {
    const slow = { latencyN: 1000, latencyThreshold: 1250 };
    const out = check(arm(0, { ...slow, latencySlow: 20 }), arm(1, { ...slow, latencySlow: 100, latencyP95: 1400 }));
    const latency = out.results.find((r) => r.name === 'latency_p95')!;
    // V = 0.1 * 0.9 / 1000; half-width sqrt(V (V + 0.05^2) / 0.05^2 * (2 ln 20 + ln((V + 0.05^2) / V))) = 0.02953.
    expect(latency.estimate).toBeCloseTo(0.1, 12);
    expect(latency.interval![0]).toBeCloseTo(0.1 - 0.02953, 4);
    expect(latency).toMatchObject({ limit: 0.05, beyondMargin: true, breached: true });
    expect(out.breached).toBe(true);
    expect(out.violations[0]).toMatch(/^p95 latency: 10\.0% of conversations slower than 1,250 ms/);
  });

  it('p95 latency: 6% of 1,000 is past the margin by its estimate but not shown: it blocks without stopping', () => {
    const slow = { latencyN: 1000, latencyThreshold: 1250 };
    const out = check(arm(0, { ...slow, latencySlow: 20 }), arm(1, { ...slow, latencySlow: 60 }));
    expect(out.results.find((r) => r.name === 'latency_p95')).toMatchObject({ beyondMargin: true, breached: false });
    expect(out.breached).toBe(false);
    expect(out.violations).toHaveLength(1);
  });

  it('error rate: non-inferiority is shown for 1% vs 1% at 1,000 per arm, not at 200, and never past the margin', () => {
    expect(check(arm(0), arm(1)).nonInferior).toBe(true);
    expect(check(arm(0, { n: 200, successes: 140, errors: 2 }), arm(1, { n: 200, successes: 140, errors: 2 })).nonInferior).toBe(false);
    const worse = check(arm(0), arm(1, { errors: 40 }));
    expect(worse.nonInferior).toBe(false);
    expect(worse.violations[0]).toMatch(/^error rate 4\.0% vs 1\.0% \(\+3\.0 points, margin 2\.0\)/);
    expect(worse.breached).toBe(false);
    expect(check(arm(0, { n: 10_000, errors: 100 }), arm(1, { n: 10_000, errors: 500 })).breached).toBe(true);
  });

  it('nothing is read before both arms have the minimum sample', () => {
    expect(check(arm(0), arm(1, { errors: 500 }), false)).toEqual({ results: [], violations: [], breached: false, nonInferior: false });
  });
});
