import { describe, expect, it } from 'vitest';
import { decide } from '../../src/stats';
import { addCheck, emptyCounts, mulberry32, seedFor, toArmStats, type Rng } from '../../src/stats/simulate';
import { DEFAULT_POLICY, type DecisionMemory } from '../../src/domain/types';

const PER_CHECK = 1000 / 96;
const CHECKS = 14 * 96;

/** Returns the promoted arm (or null) of one seeded experiment checked every 15 minutes. */
function promotedArm(rates: number[], rng: Rng): number | null {
  const counts = emptyCounts(rates.length);
  let memory: DecisionMemory | undefined;
  for (let check = 1; check <= CHECKS; check++) {
    addCheck(counts, { rates, perCheck: PER_CHECK, errorRate: 0.01 }, rng);
    const out = decide({ arms: toArmStats(counts), policy: DEFAULT_POLICY, memory, elapsedHours: check / 4 });
    memory = out.memory;
    if (out.decision.action === 'promote') return out.decision.winner?.arm ?? null;
    if (out.decision.action !== 'continue') return null;
  }
  return null;
}

describe('simulated experiments with three variants', () => {
  it('A/A/A/A: family-wise false promotion stays under alpha + 3 standard errors', () => {
    const runs = 150;
    let falsePromotions = 0;
    for (let run = 0; run < runs; run++) {
      if (promotedArm([0.7, 0.7, 0.7, 0.7], mulberry32(seedFor(99, run))) !== null) falsePromotions += 1;
    }
    const alpha = DEFAULT_POLICY.alpha;
    expect(falsePromotions / runs).toBeLessThan(alpha + 3 * Math.sqrt((alpha * (1 - alpha)) / runs));
  });

  it('finds a +5 point variant among three almost always, and never promotes the -2 one', () => {
    const runs = 60;
    const winners = Array.from({ length: runs }, (_, run) => promotedArm([0.7, 0.68, 0.75, 0.7], mulberry32(seedFor(5, run))));
    expect(winners.filter((w) => w === 2).length / runs).toBeGreaterThan(0.9);
    expect(winners.filter((w) => w === 1).length).toBe(0);
  });
});
