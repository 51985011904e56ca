import { describe, expect, it } from 'vitest';
import type { ArmStats } from '../../src/domain/types';
import { checkRecent } from '../../src/stats/recent';

function arm(index: number, n: number, successes: number, recentN: number, recentSuccesses: number): ArmStats {
  const zero = { ratingN: 0, ratingSum: 0, ratingSumSq: 0, errors: 0 };
  return {
    arm: index,
    versionId: `v${index}`,
    weight: 1,
    n,
    successes,
    ...zero,
    latencyP95: null,
    tokensMean: null,
    recent: { hours: 24, n: recentN, successes: recentSuccesses, ...zero },
  };
}

describe('recent-window check', () => {
  it('calls a win that turned into a loss "fading" (hand-computed z = 3.3)', () => {
    // Earlier: 580/800 vs 642/800 (+7.75 points); last 24 h: 120/200 vs 100/200 (-10 points).
    const out = checkRecent(arm(0, 1000, 700, 200, 120), arm(1, 1000, 742, 200, 100), 'success', 72, 100)!;
    expect(out.earlier).toBeCloseTo(0.0775, 12);
    expect(out.recent).toBeCloseTo(-0.1, 12);
    expect(out).toMatchObject({ hours: 24, notWinning: true, fading: true });
  });

  it('a small dip does not show a win, without being significantly below the earlier effect (z = 1.64 < 1.645)', () => {
    const out = checkRecent(arm(0, 1000, 700, 200, 120), arm(1, 1000, 760, 200, 118), 'success', 72, 100)!;
    expect(out.recent).toBeCloseTo(-0.01, 12);
    expect(out).toMatchObject({ notWinning: true, fading: false });
  });

  it('a steady effect passes once the window alone shows it (z = 3.0); a thin window does not yet (z = 1.35)', () => {
    // Recent +6 points on 1,000 per arm: SE sqrt(0.21 / 1000 + 0.1824 / 1000) = 0.0198.
    expect(checkRecent(arm(0, 5000, 3500, 1000, 700), arm(1, 5000, 3800, 1000, 760), 'success', 120, 100)).toMatchObject({
      notWinning: false,
      fading: false,
    });
    // The same +6 points on 200 per arm: SE 0.0443, a 95% interval that still reaches 0.
    expect(checkRecent(arm(0, 1000, 700, 200, 140), arm(1, 1000, 760, 200, 152), 'success', 72, 100)).toMatchObject({
      notWinning: true,
      fading: false,
    });
  });

  it("with the topics' variance reduction carried over, the same thin window shows the win (z = 1.35 / sqrt(0.4) = 2.14)", () => {
    expect(checkRecent(arm(0, 1000, 700, 200, 140), arm(1, 1000, 760, 200, 152), 'success', 72, 100, 0.4)).toMatchObject({
      notWinning: false,
      fading: false,
    });
  });

  it('no verdict before the window has passed once, without window data, or with too few conversations in it', () => {
    expect(checkRecent(arm(0, 1000, 700, 200, 140), arm(1, 1000, 760, 200, 152), 'success', 24, 100)).toBeNull();
    const { recent: _, ...plain } = arm(1, 1000, 760, 200, 152);
    expect(checkRecent(arm(0, 1000, 700, 200, 140), plain, 'success', 72, 100)).toBeNull();
    expect(checkRecent(arm(0, 1000, 700, 200, 140), arm(1, 1000, 760, 200, 152), 'success', 72, 201)).toBeNull();
  });
});
