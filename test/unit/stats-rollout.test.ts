import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type RolloutPlan } from '../../src/domain/types';
import { checkRollout, type RolloutCheckInput } from '../../src/stats/rollout';
import { armStats } from '../helpers/arm-stats';

const RAMP: RolloutPlan = {
  steps: [
    { share: 0.5, holdHours: 2 },
    { share: 1, holdHours: 0 },
  ],
  holdbackShare: 0.05,
  watchHours: 48,
  margin: 0,
};

/** Equal arms (no regression), at step 0, one hour in. */
function input(over: Partial<RolloutCheckInput> = {}): RolloutCheckInput {
  return {
    arms: [armStats(0, 2000, 1400, { version: 1 }), armStats(1, 2000, 1400, { version: 2 })],
    plan: RAMP,
    policy: DEFAULT_POLICY,
    step: 0,
    held: false,
    stepHours: 1,
    elapsedHours: 1,
    ...over,
  };
}

const worse = [armStats(0, 2000, 1600, { version: 1 }), armStats(1, 2000, 1200, { version: 2 })];

describe('one check of a guarded rollout', () => {
  it('holds a step for its holdHours, then advances from it', () => {
    expect(checkRollout(input()).decision).toMatchObject({ action: 'continue', step: 0 });
    const { decision } = checkRollout(input({ stepHours: 2 }));
    expect(decision).toMatchObject({ action: 'advance', step: 0 });
    expect(decision.reason).toMatch(/^Step 1 held 2 h without a regression shown; moving to step 2 \(100%\)/);
  });

  it('rolls back a regression at any step, held or not, and carries the running minimum', () => {
    for (const over of [{ step: 0 }, { step: 1, elapsedHours: 47 }, { held: true }]) {
      const { decision, memory } = checkRollout(input({ arms: worse, ...over }));
      expect(decision.action).toBe('rollback');
      expect(decision.reason).toMatch(/^v2 is worse than the holdback v1 by -20\.0 points/);
      expect(memory.pWorse).toBe(decision.pWorse);
      expect(decision.pWorse).toBeLessThan(DEFAULT_POLICY.alpha / 4);
    }
    // An earlier check's evidence stays: the p-value never goes back up.
    const later = checkRollout(input({ memory: { pWorse: 0.001 } }));
    expect(later.memory.pWorse).toBe(0.001);
    expect(later.decision.action).toBe('rollback');
  });

  it('a held rollout neither advances nor completes on its own', () => {
    expect(checkRollout(input({ held: true, stepHours: 10 })).decision.action).toBe('continue');
    expect(checkRollout(input({ held: true, step: 1, elapsedHours: 100 })).decision).toMatchObject({
      action: 'continue',
      reason: expect.stringMatching(/^Held by an operator at step 2 of 2\./),
    });
  });

  it('completes only at the last step once the watch is over', () => {
    expect(checkRollout(input({ step: 0, elapsedHours: 100, stepHours: 1 })).decision.action).toBe('continue');
    expect(checkRollout(input({ step: 1, elapsedHours: 47 })).decision.action).toBe('continue');
    const { decision } = checkRollout(input({ step: 1, elapsedHours: 48 }));
    expect(decision.action).toBe('complete');
    expect(decision.reason).toMatch(/48-hour watch ended without a regression shown/);
  });

  it('a ramp without a holdback completes when it reaches 100%: nothing is left to compare with', () => {
    const plan = { ...RAMP, holdbackShare: 0 };
    expect(checkRollout(input({ plan, step: 1, elapsedHours: 2 })).decision.action).toBe('complete');
  });

  it('needs both arms', () => {
    expect(() => checkRollout(input({ arms: [armStats(1, 10, 5)] }))).toThrow(/arm 0/);
  });
});
