import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decide, normalCdf } from '../../src/stats';
import { DEFAULT_POLICY, type ArmStats, type DecisionMemory, type ExperimentPolicy } from '../../src/domain/types';
import { armStats } from '../helpers/arm-stats';

/** Arms with telemetry at control's level unless a test changes it. */
const arm = (index: number, n: number, successes: number, extra: Partial<ArmStats> = {}) =>
  armStats(index, n, successes, { latencyP95: 1000, tokensMean: 500, ...extra });

function run(arms: ArmStats[], options: { policy?: Partial<ExperimentPolicy>; memory?: DecisionMemory; hours?: number } = {}) {
  return decide({
    arms,
    policy: { ...DEFAULT_POLICY, ...options.policy },
    memory: options.memory,
    elapsedHours: options.hours ?? 24,
  });
}

/** Every number anywhere in the value is finite (JSON-safe: no NaN, no Infinity). */
function allFinite(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(allFinite);
  if (value && typeof value === 'object') return Object.values(value).every(allFinite);
  return true;
}

describe('decide: outcomes', () => {
  it('promotes a clear winner with a readable reason', () => {
    const { decision, memory } = run([arm(0, 1251, 876), arm(1, 1240, 990)]);
    expect(decision.action).toBe('promote');
    expect(decision.winner).toEqual({ arm: 1, versionId: 'v1' });
    expect(decision.engine).toBe('msprt-v2');
    expect(decision.gatesMet).toBe(true);
    expect(decision.reason).toMatch(
      /^Variant 1 beats control by \+9\.8 points \(always-valid p<0\.001 <= 0\.05, 1,240 vs 1,251 conversations\); promoting\.$/,
    );
    const v = decision.variants[0]!;
    expect(v.estimate).toBeCloseTo(990 / 1240 - 876 / 1251, 12);
    expect(v.ci[0]).toBeGreaterThan(0);
    expect(v.probBeatControl).toBeGreaterThan(0.99);
    expect(v.eligible).toBe(true);
    expect(memory.pValues.v1).toBe(v.pValue);
  });

  it('continues while the evidence is short of alpha', () => {
    // The worked example of the msprt tests: two-sided p = 0.119; one-sided it is that over
    // 2 Phi(d tau / sqrt(V (V + tau^2))), about half: 0.0600, still short of 0.05.
    const { decision } = run([arm(0, 1251, 876), arm(1, 1240, 928)]);
    expect(decision.action).toBe('continue');
    const pc = 876 / 1251;
    const pv = 928 / 1240;
    const v = (pc * (1 - pc)) / 1251 + (pv * (1 - pv)) / 1240;
    const x = ((pv - pc) * 0.05) / Math.sqrt(v * (v + 0.0025));
    expect(decision.variants[0]!.pValue).toBeCloseTo(0.11925632286830865 / (2 * normalCdf(x)), 9);
    expect(decision.variants[0]!.pValue).toBeCloseTo(0.05996, 5);
    expect(decision.reason).toContain('No significant difference yet');
    expect(decision.reason).toContain('+4.8 points');
  });

  it('picks the best estimate among significant variants and applies Holm', () => {
    const { decision } = run([arm(0, 1500, 1050), arm(1, 1500, 1200), arm(2, 1500, 1230), arm(3, 1500, 1040)]);
    expect(decision.action).toBe('promote');
    expect(decision.winner?.arm).toBe(2);
    expect(decision.reason).toContain('Holm-adjusted');
    for (const v of decision.variants) expect(v.adjustedPValue).toBeGreaterThanOrEqual(v.pValue);
  });

  it('keeps control when the maximum duration is reached', () => {
    const { decision } = run([arm(0, 7000, 4900), arm(1, 7000, 4920)], { hours: 336 });
    expect(decision.action).toBe('keep_control');
    expect(decision.reason).toContain('336-hour limit');
  });

  it('keeps control early when every variant is significantly worse', () => {
    const { decision } = run([arm(0, 1500, 1100), arm(1, 1500, 900), arm(2, 1500, 950)]);
    expect(decision.action).toBe('keep_control');
    expect(decision.reason).toMatch(/^Every variant is significantly worse/);
  });

  it('does not keep control early if only some variants are worse', () => {
    const { decision } = run([arm(0, 1500, 1100), arm(1, 1500, 900), arm(2, 1500, 1110)]);
    expect(decision.action).toBe('continue');
  });

  it('handles the rating metric', () => {
    const rated = (index: number, n: number, mean: number, sd: number): ArmStats =>
      arm(index, n, Math.round(n * 0.7), {
        ratingN: n,
        ratingSum: n * mean,
        ratingSumSq: (n - 1) * sd * sd + n * mean * mean,
      });
    const policy = { metric: 'rating' as const, expectedEffect: 0.2 };
    const win = run([rated(0, 800, 3.6, 1.1), rated(1, 800, 3.9, 1.1)], { policy });
    expect(win.decision.action).toBe('promote');
    expect(win.decision.reason).toContain('+0.30 rating points');
    const few = run([rated(0, 800, 3.6, 1.1), { ...rated(1, 800, 3.9, 1.1), ratingN: 10, ratingSum: 39, ratingSumSq: 160 }], { policy });
    expect(few.decision.action).toBe('continue');
    expect(few.decision.reason).toContain('of 25 ratings');
  });
});

describe('decide: gates, SRM and guardrails', () => {
  it('waits for the minimum sample and successes', () => {
    const small = run([arm(0, 99, 10), arm(1, 99, 99)]);
    expect(small.decision.action).toBe('continue');
    expect(small.decision.gatesMet).toBe(false);
    expect(small.decision.reason).toContain('99 of 100 conversations');
    const fewSuccesses = run([arm(0, 400, 24), arm(1, 400, 300)]);
    expect(fewSuccesses.decision.action).toBe('continue');
    expect(fewSuccesses.decision.reason).toContain('24 of 25 successes');
  });

  it('blocks promotion on a sample ratio mismatch', () => {
    const { decision } = run([arm(0, 1000, 700), arm(1, 1300, 1100)]);
    expect(decision.srm.mismatch).toBe(true);
    expect(decision.srm.pValue).toBeLessThan(0.001);
    expect(decision.action).toBe('continue');
    expect(decision.reason).toMatch(/^Sample ratio mismatch/);
    expect(decision.variants[0]!.eligible).toBe(false);
  });

  it('respects unequal weights in the SRM test', () => {
    const { decision } = run([arm(0, 1000, 700, { weight: 0.5 }), arm(1, 1000, 850, { weight: 0.5 }), arm(2, 2000, 1400, { weight: 1 })]);
    expect(decision.srm.mismatch).toBe(false);
  });

  it('a token-hungry winner is not promoted and, once the excess is shown, stops the experiment', () => {
    // 1,500 conversations per arm, sd 150 tokens: mean 700 vs 500 is 270 tokens past 1.3 x 500 = 650... of excess.
    const tokens = (n: number, mean: number, sd: number) => ({ tokensN: n, tokensSum: n * mean, tokensSumSq: n * (sd * sd + mean * mean) });
    const arms = [arm(0, 1500, 1050, tokens(1500, 500, 150)), arm(1, 1500, 1250, { tokensMean: 700, ...tokens(1500, 700, 150) })];
    const { decision } = run(arms);
    expect(decision.variants[0]!.guardrailViolations[0]).toContain('mean tokens +40%');
    expect(decision.variants[0]!.eligible).toBe(false);
    expect(decision.action).toBe('stop_guardrail');
    expect(decision.reason).toMatch(/^Variant 1 is shown to break a guardrail beyond its margin \(mean tokens \+40%/);
    const reading = decision.variants[0]!.guardrails!.find((g) => g.name === 'tokens')!;
    expect(reading.estimate).toBeCloseTo(700 - 1.3 * 500, 9);
    expect(reading.breached).toBe(true);
  });

  it('without sums of squares a token excess only blocks the promotion (no dispersion, no test)', () => {
    const { decision } = run([arm(0, 1500, 1050), arm(1, 1500, 1250, { tokensMean: 700 })]);
    expect(decision.variants[0]!.guardrailViolations[0]).toContain('mean tokens +40%');
    expect(decision.action).toBe('continue');
    expect(decision.reason).toContain('a guardrail looks past its margin: mean tokens +40%');
  });

  it('with another variant still in play a guardrail loser only loses eligibility', () => {
    const arms = [arm(0, 1500, 1050), arm(1, 1500, 1060, { latencyP95: 1400 }), arm(2, 1500, 1070)];
    const { decision } = run(arms);
    expect(decision.action).toBe('continue');
    expect(decision.variants[0]!.guardrailViolations[0]).toContain('p95 latency +40%');
    const promoted = run([arm(0, 1500, 1050), arm(1, 1500, 1250, { latencyP95: 1400 }), arm(2, 1500, 1200)]);
    expect(promoted.decision.action).toBe('promote');
    expect(promoted.decision.winner?.arm).toBe(2);
  });

  it('an error-rate excess blocks promotion but stops only with always-valid evidence', () => {
    const noisy = run([arm(0, 300, 200, { errors: 3 }), arm(1, 300, 260, { errors: 12 })]);
    expect(noisy.decision.variants[0]!.guardrailViolations[0]).toMatch(/^error rate 4\.0% vs 1\.0%/);
    expect(noisy.decision.action).toBe('continue');
    expect(noisy.decision.reason).toContain('not promoted yet: a guardrail looks past its margin: error rate 4.0%');
    const clear = run([arm(0, 3000, 2100, { errors: 30 }), arm(1, 3000, 2400, { errors: 240 })]);
    expect(clear.decision.action).toBe('stop_guardrail');
  });
});

describe('decide: memory', () => {
  it('never promotes on evidence gathered while the variant was losing', () => {
    // Memory says: strongly worse earlier (down tiny). Now it leads a little, with no evidence.
    const memory: DecisionMemory = { pValues: { v1: 1e-6 }, directional: { v1: { up: 1, down: 1e-6 } } };
    const { decision } = run([arm(0, 2000, 1400), arm(1, 2000, 1420)], { memory });
    expect(decision.variants[0]!.pValue).toBe(1e-6);
    expect(decision.variants[0]!.adjustedPValue).toBeGreaterThan(0.05);
    expect(decision.action).toBe('continue');
  });

  it('does not promote on a win shown only at an earlier check: the evidence must hold today', () => {
    const memory: DecisionMemory = { pValues: { v1: 0.01 }, directional: { v1: { up: 0.01, down: 1 } } };
    const { decision } = run([arm(0, 2000, 1400), arm(1, 2000, 1450)], { memory });
    expect(decision.variants[0]!.adjustedPValue).toBe(0.01);
    expect(decision.variants[0]!.currentPValue).toBeGreaterThan(0.05);
    expect(decision.action).toBe('continue');
  });

  it('accepts memories without the directional field (starts them at 1)', () => {
    const { decision, memory } = run([arm(0, 2000, 1400), arm(1, 2000, 1420)], { memory: { pValues: { v1: 0.2 } } });
    expect(decision.variants[0]!.pValue).toBeLessThanOrEqual(0.2);
    expect(memory.directional?.v1).toBeDefined();
  });
});

describe('decide: edge cases', () => {
  it('copes with empty arms, no variants and no control', () => {
    for (const arms of [[arm(0, 0, 0), arm(1, 0, 0)], [arm(0, 10, 5)], [arm(1, 10, 5)], []]) {
      const out = run(arms);
      expect(['continue', 'keep_control']).toContain(out.decision.action);
      expect(allFinite(out)).toBe(true);
    }
  });

  it('accepts numeric strings as they may come from Postgres numeric columns', () => {
    const asStrings = (a: ArmStats) =>
      Object.fromEntries(
        Object.entries(a).map(([k, v]) => [k, typeof v === 'number' && k !== 'arm' ? String(v) : v]),
      ) as unknown as ArmStats;
    const plain = run([arm(0, 1251, 876), arm(1, 1240, 990)]);
    const stringly = run([asStrings(arm(0, 1251, 876)), { ...asStrings(arm(1, 1240, 990)), arm: '1' as unknown as number }]);
    expect(stringly.decision).toEqual(plain.decision);
  });

  it('zero variance arms (all successes) do not produce infinite evidence', () => {
    const { decision } = run([arm(0, 200, 200), arm(1, 200, 200)]);
    expect(decision.variants[0]!.pValue).toBe(1);
    expect(allFinite(decision)).toBe(true);
  });
});

const armArb = (index: number) =>
  fc
    .record({
      n: fc.integer({ min: 0, max: 20_000 }),
      successShare: fc.double({ min: 0, max: 1, noNaN: true }),
      errorShare: fc.double({ min: 0, max: 0.2, noNaN: true }),
      weight: fc.constantFrom(1, 0.5, 2),
      latency: fc.option(fc.double({ min: 0, max: 10_000, noNaN: true })),
      tokens: fc.option(fc.double({ min: 0, max: 5_000, noNaN: true })),
      ratingShare: fc.double({ min: 0, max: 1, noNaN: true }),
      ratingMean: fc.double({ min: 1, max: 5, noNaN: true }),
    })
    .map((r): ArmStats => {
      const ratingN = Math.floor(r.n * r.ratingShare);
      return arm(index, r.n, Math.floor(r.n * r.successShare), {
        weight: r.weight,
        errors: Math.floor(r.n * r.errorShare),
        latencyP95: r.latency,
        tokensMean: r.tokens,
        ratingN,
        ratingSum: ratingN * r.ratingMean,
        ratingSumSq: ratingN * r.ratingMean * r.ratingMean * 1.05,
      });
    });

const armsArb = fc.integer({ min: 1, max: 4 }).chain((k) => fc.tuple(...Array.from({ length: k + 1 }, (_, i) => armArb(i))));

describe('decide: properties', () => {
  it('never returns NaN or Infinity, for either metric, even on garbage input', () => {
    const garbage = fc.constantFrom(Number.NaN, -5, Infinity, -Infinity, 0);
    fc.assert(
      fc.property(armsArb, fc.constantFrom<'success' | 'rating'>('success', 'rating'), garbage, fc.nat(3), (arms, metric, bad, field) => {
        const mutated = arms.map((a, i) => (i === 1 ? { ...a, [['n', 'successes', 'ratingSumSq', 'errors'][field]!]: bad } : a));
        for (const input of [arms, mutated]) {
          const out = run(input, { policy: { metric } });
          expect(allFinite(out)).toBe(true);
          expect(JSON.parse(JSON.stringify(out))).toEqual(out);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('p-values never increase across checks that carry the memory', () => {
    const step = fc.array(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 1, noNaN: true })), {
      minLength: 3,
      maxLength: 3,
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 2, maxLength: 25 }), fc.constantFrom(5, 100), (steps, minSamples) => {
        const totals = [0, 1, 2].map((i) => ({ i, n: 0, s: 0 }));
        let memory: DecisionMemory | undefined;
        let previous: number[] = [1, 1];
        for (const increments of steps) {
          increments.forEach(([n, share], i) => {
            totals[i]!.n += n;
            totals[i]!.s += Math.round(n * share);
          });
          const out = run(
            totals.map((t) => arm(t.i, t.n, t.s)),
            { memory, policy: { minSamplesPerArm: minSamples, minSuccessesPerArm: 1 } },
          );
          const current = out.decision.variants.map((v) => v.pValue);
          current.forEach((p, i) => expect(p).toBeLessThanOrEqual(previous[i]!));
          expect(Object.values(out.memory.pValues)).toEqual(current);
          memory = out.memory;
          previous = current;
        }
      }),
      { numRuns: 150 },
    );
  });

  it('for a fixed n, a larger positive effect never gives a larger p-value', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 100, max: 5000 }),
        fc.double({ min: 0.03, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, controlShare, a, b) => {
          const control = Math.max(25, Math.floor(n * controlShare));
          const room = n - control;
          const small = control + Math.floor(room * Math.min(a, b));
          const large = control + Math.floor(room * Math.max(a, b));
          const pSmall = run([arm(0, n, control), arm(1, n, small)]).decision.variants[0]!.pValue;
          const pLarge = run([arm(0, n, control), arm(1, n, large)]).decision.variants[0]!.pValue;
          expect(pLarge).toBeLessThanOrEqual(pSmall + 1e-12);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('gates block promotion whenever some arm is below the minimum, whatever the memory', () => {
    fc.assert(
      fc.property(armsArb, fc.nat(4), fc.integer({ min: 0, max: 99 }), (arms, which, smallN) => {
        const index = which % arms.length;
        const gated = arms.map((a, i) => (i === index ? { ...a, n: smallN, successes: Math.min(a.successes, smallN) } : a));
        const memory: DecisionMemory = {
          pValues: Object.fromEntries(arms.map((a) => [a.versionId, 0])),
          directional: Object.fromEntries(arms.map((a) => [a.versionId, { up: 0, down: 1 }])),
        };
        const out = run(gated, { memory });
        expect(out.decision.gatesMet).toBe(false);
        expect(out.decision.action).not.toBe('promote');
        expect(out.decision.variants.every((v) => !v.eligible)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
