import { describe, expect, it } from 'vitest';
import { decide } from '../../src/stats';
import { addCheck, binomial, emptyCounts, mulberry32, poisson, seedFor, toArmStats, type Rng } from '../../src/stats/simulate';
import { DEFAULT_POLICY, type DecisionAction, type DecisionMemory } from '../../src/domain/types';

const CHECKS_PER_DAY = 96; // every 15 minutes
const DAYS = 14;
const PER_CHECK = 1000 / CHECKS_PER_DAY; // ~10 conversations per check, all arms together

/** Runs one simulated experiment to its decision (or the 14-day horizon). */
function simulate(rates: number[], rng: Rng): { action: DecisionAction; winner?: number; hours: number } {
  const counts = emptyCounts(rates.length);
  let memory: DecisionMemory | undefined;
  for (let check = 1; check <= DAYS * CHECKS_PER_DAY; check++) {
    addCheck(counts, { rates, perCheck: PER_CHECK, errorRate: 0.01 }, rng);
    const hours = check / 4;
    const { decision, memory: next } = decide({ arms: toArmStats(counts), policy: DEFAULT_POLICY, memory, elapsedHours: hours });
    memory = next;
    if (decision.action !== 'continue') return { action: decision.action, winner: decision.winner?.arm, hours };
  }
  return { action: 'continue', hours: DAYS * 24 };
}

describe('seeded samplers', () => {
  it('mulberry32 is reproducible and roughly uniform', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const draws = Array.from({ length: 20_000 }, () => a());
    expect(draws.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    expect(mean).toBeCloseTo(0.5, 2);
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(1);
  });

  it('binomial and Poisson draws have the right mean and variance', () => {
    const rng = mulberry32(7);
    for (const [n, p] of [
      [10, 0.7],
      [500, 0.02],
      [5000, 0.4],
    ] as const) {
      const xs = Array.from({ length: 4000 }, () => binomial(n, p, rng));
      const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
      const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1);
      expect(Math.abs(mean - n * p)).toBeLessThan(4 * Math.sqrt((n * p * (1 - p)) / xs.length));
      expect(variance / (n * p * (1 - p))).toBeGreaterThan(0.9);
      expect(variance / (n * p * (1 - p))).toBeLessThan(1.1);
    }
    const ys = Array.from({ length: 4000 }, () => poisson(PER_CHECK, rng));
    const mean = ys.reduce((s, x) => s + x, 0) / ys.length;
    expect(Math.abs(mean - PER_CHECK)).toBeLessThan(4 * Math.sqrt(PER_CHECK / ys.length));
  });
});

describe('A/A experiments checked every 15 minutes for 14 days', () => {
  it('promote a no-better variant less than alpha + 3 standard errors of the time', () => {
    const runs = 300;
    let falsePromotions = 0;
    for (let run = 0; run < runs; run++) {
      const outcome = simulate([0.7, 0.7], mulberry32(seedFor(2024, run)));
      if (outcome.action === 'promote') falsePromotions += 1;
      expect(outcome.action === 'promote' || outcome.action === 'keep_control' || outcome.action === 'stop_guardrail').toBe(true);
    }
    const alpha = DEFAULT_POLICY.alpha;
    const bound = alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs);
    expect(falsePromotions / runs).toBeLessThan(bound);
  });
});
