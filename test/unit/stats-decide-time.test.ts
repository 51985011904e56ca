import { describe, expect, it } from 'vitest';
import type { ArmStats, DecisionMemory } from '../../src/domain/types';
import { decide } from '../../src/stats';
import { armStats, topicStats as topic } from '../helpers/arm-stats';

/** Version numbers as SQL reports them: control v1, variant k v(k + 1). */
const arm = (index: number, n: number, successes: number, extra: Partial<ArmStats> = {}) =>
  armStats(index, n, successes, { version: index + 1, ...extra });

const winner = [arm(0, 1251, 876), arm(1, 1240, 990)];

describe('decide: time, SRM stickiness and names', () => {
  it('waits for the minimum duration before promoting, and says so', () => {
    const early = decide({ arms: winner, policy: {}, elapsedHours: 12 }).decision;
    expect(early.action).toBe('continue');
    expect(early.variants[0]!.eligible).toBe(false);
    expect(early.reason).toMatch(
      /^v2 \(variant 1\) leads by \+9\.8 points .* but is not promoted yet: the policy waits at least 24 hours .* and 12 have passed; continuing\.$/,
    );
    expect(decide({ arms: winner, policy: { minDurationHours: 0 }, elapsedHours: 12 }).decision.action).toBe('promote');
    const late = decide({ arms: winner, policy: {}, elapsedHours: 24 }).decision;
    expect(late.reason).toMatch(/^v2 \(variant 1\) beats control v1 by \+9\.8 points/);
  });

  it('does not promote a win that is fading in the recent window', () => {
    const zero = { ratingN: 0, ratingSum: 0, ratingSumSq: 0, errors: 0 };
    const arms = [
      arm(0, 1251, 876, { recent: { hours: 24, n: 300, successes: 210, ...zero } }),
      arm(1, 1240, 990, { recent: { hours: 24, n: 300, successes: 195, ...zero } }),
    ];
    const out = decide({ arms, policy: {}, elapsedHours: 72 }).decision;
    expect(out.action).toBe('continue');
    expect(out.reason).toContain(
      'over the last 24 hours it is -5.0 points, well below the +14.5 points before that: the effect may be fading',
    );
  });

  it('once the sample ratio check trips, the experiment never promotes, even after the counts look fine again', () => {
    const skewed = decide({ arms: [arm(0, 4700, 3290), arm(1, 5300, 3710)], policy: {}, elapsedHours: 30 });
    expect(skewed.decision.srm).toMatchObject({ mismatch: true, tripped: { test: 'counts', atHours: 30 } });
    const memory: DecisionMemory = skewed.memory;
    const later = decide({ arms: [arm(0, 20_000, 14_000), arm(1, 20_000, 15_000)], policy: {}, memory, elapsedHours: 200 }).decision;
    expect(later.srm.mismatch).toBe(true);
    expect(later.action).toBe('continue');
    expect(later.reason).toMatch(
      /^Sample ratio mismatch since hour 30: .* can never promote: stop it, or fix the assignment and restart it as a new experiment\.$/,
    );
    const expired = decide({ arms: [arm(0, 20_000, 14_000), arm(1, 20_000, 15_000)], policy: {}, memory, elapsedHours: 400 }).decision;
    expect(expired.action).toBe('keep_control');
  });

  it('trips on a topic mix that differs between arms even when the totals match', () => {
    const arms = [
      arm(0, 1000, 700, { topics: [topic('a', 300, 150), topic('b', 700, 550)] }),
      arm(1, 1000, 800, { topics: [topic('a', 700, 350), topic('b', 300, 250)] }),
    ];
    const out = decide({ arms, policy: {}, elapsedHours: 30 }).decision;
    expect(out.srm).toMatchObject({ mismatch: true, tripped: { test: 'topics' } });
    expect(out.reason).toContain('the arms received different mixes of topics');
    expect(out.reason).not.toMatch(/\ba\b.*\bb\b/);
  });
});
