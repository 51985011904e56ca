import { describe, expect, it } from 'vitest';
import { DEFAULT_ROLLOUT, INSTANT_SWITCH, type RolloutPlan } from '../../src/domain/types';
import { StoreConflictError, StoreValidationError, type Store } from '../../src/store';
import { backends } from '../helpers/backends';
import { controlAndVariant, storeOn, threeStepRamp } from '../helpers/store-fixture';

const RAMP = threeStepRamp(1, 72);

/** The rollouts of issue 15 in SQL: the same functions on every backend. */
describe.each(backends)('rollouts on $name', (backend) => {
  const store = storeOn(backend);
  let seq = 0;

  async function promoted(plan: RolloutPlan = RAMP) {
    const promptKey = `rollout-${backend.name}-${++seq}`;
    const s: Store = store();
    const { control, variant } = await controlAndVariant(s, promptKey, { control: 'Be helpful.', variant: 'Be helpful and brief.' });
    const exp = await s.createExperiment({ promptKey, variantVersionIds: [variant.id] });
    const ev = await s.promoteVariant({
      experimentId: exp.id,
      versionId: variant.id,
      kind: 'auto',
      actor: 'optimizer',
      reason: 'won',
      rollout: plan,
    });
    return { promptKey, control, variant, exp, ev, rollout: ev.rollout! };
  }

  const steer = { mode: 'manual' as const, actor: 'ops@example.com', reason: 'checked the dashboards' };

  it('promotion starts the rollout in the same call: active flipped, holdback = previous version, split at step 1, audited', async () => {
    const { promptKey, control, variant, rollout } = await promoted();
    expect(rollout).toMatchObject({
      prompt_key: promptKey,
      promoted_version_id: variant.id,
      holdback_version_id: control.id,
      status: 'live',
      phase: 'ramping',
      step: 0,
      steps: 3,
      holdback_weight: 0.5,
    });
    expect(rollout.events.map((e) => [e.kind, e.mode])).toEqual([['started', 'auto']]);
    expect((await store().getActivePrompt(promptKey)).id).toBe(variant.id);
    const snap = await store().servingSnapshot([promptKey]);
    expect(snap.prompts[0]!.experiment).toMatchObject({
      kind: 'rollout',
      experimentId: rollout.id,
      paused: false,
      arms: [
        { arm: 0, versionId: control.id, weight: 0.5 },
        { arm: 1, versionId: variant.id, weight: 0.5 },
      ],
    });
  });

  it('a retried promotion returns the same rollout; the instant switch starts none', async () => {
    const { exp, variant, rollout } = await promoted();
    const again = await store().promoteVariant({
      experimentId: exp.id,
      versionId: variant.id,
      kind: 'auto',
      actor: 'optimizer',
      reason: 'won',
    });
    expect(again.created).toBe(false);
    expect(again.rollout!.id).toBe(rollout.id);
    const instant = await promoted(INSTANT_SWITCH);
    expect(instant.rollout).toBeNull();
    expect((await store().listRollouts({ promptKey: instant.promptKey })).length).toBe(0);
  });

  it('assigns through the same bucket: a subject keeps its version between steps unless the holdback shrank past it', async () => {
    const { promptKey, control, variant, rollout } = await promoted();
    const subjects = Array.from({ length: 400 }, (_, i) => `s${i}`);
    const before = new Map<string, string>();
    for (const s of subjects) before.set(s, (await store().assignPrompt(promptKey, s)).version_id);
    const held = [...before.values()].filter((v) => v === control.id).length;
    expect(held).toBeGreaterThan(150);
    expect(held).toBeLessThan(250);
    await store().advanceRollout({ rolloutId: rollout.id, fromStep: 0, ...steer });
    let moved = 0;
    for (const s of subjects) {
      const now = await store().assignPrompt(promptKey, s);
      expect(now.rollout_id).toBe(rollout.id);
      if (before.get(s) === variant.id) expect(now.version_id).toBe(variant.id);
      if (now.version_id !== before.get(s)) moved++;
    }
    expect(moved).toBeGreaterThan(100); // 50% -> 10% holdback: about 160 of 400 move, and only towards the new version
  });

  it('attributes conversations whose version matches the subject bucket, with their step; stats compare within steps', async () => {
    const { promptKey, control, variant, rollout } = await promoted();
    let i = 0;
    for (const subject of Array.from({ length: 60 }, (_, k) => `u${k}`)) {
      const a = await store().assignPrompt(promptKey, subject);
      await store().recordConversation({
        prompt_key: promptKey,
        version_id: a.version_id,
        success: a.version_id === variant.id,
        subject_id: subject,
        latency_ms: 100 + i,
        tokens: 10,
        external_id: `${promptKey}-${i++}`,
      });
      // The wrong version for this subject: recorded, not attributed.
      const other = a.version_id === variant.id ? control.id : variant.id;
      await store().recordConversation({
        prompt_key: promptKey,
        version_id: other,
        success: true,
        subject_id: subject,
        external_id: `${promptKey}-${i++}`,
      });
    }
    const arms = await store().rolloutArmStats(rollout.id);
    expect(arms.map((a) => a.versionId)).toEqual([control.id, variant.id]);
    expect(arms[0]!.n + arms[1]!.n).toBe(60);
    expect(arms[1]!.successes).toBe(arms[1]!.n);
    expect(arms[0]!.successes).toBe(0);
    expect(arms[1]!.topics).toEqual([expect.objectContaining({ topic: 'step 1', n: arms[1]!.n })]);
    expect(arms[0]!.tokensSum).toBe(10 * arms[0]!.n);
    expect(arms[0]!.latencyThreshold).toBeGreaterThan(100);
  });

  it('advance names the step it leaves: a repeat changes nothing, the last step refuses, each move audited', async () => {
    const { rollout } = await promoted();
    const first = await store().advanceRollout({ rolloutId: rollout.id, fromStep: 0, ...steer });
    expect(first).toMatchObject({ created: true, step: 1, holdback_weight: expect.closeTo(0.1, 10) });
    expect((await store().advanceRollout({ rolloutId: rollout.id, fromStep: 0, ...steer })).created).toBe(false);
    const last = await store().advanceRollout({ rolloutId: rollout.id, fromStep: 1, ...steer });
    expect(last).toMatchObject({ step: 2, holdback_weight: 0.05, phase: 'watching' });
    await expect(store().advanceRollout({ rolloutId: rollout.id, fromStep: 2, ...steer })).rejects.toBeInstanceOf(StoreConflictError);
    expect(last.events.map((e) => `${e.kind}@${e.step}`)).toEqual(['started@0', 'advanced@0', 'advanced@1']);
  });

  it('hold and resume are audited once each; a held rollout is still watched', async () => {
    const { rollout } = await promoted();
    const held = await store().setRolloutHeld({ rolloutId: rollout.id, held: true, actor: 'ops', reason: 'incident' });
    expect(held).toMatchObject({ created: true, held: true, phase: 'held' });
    expect((await store().setRolloutHeld({ rolloutId: rollout.id, held: true, actor: 'ops', reason: 'again' })).created).toBe(false);
    const resumed = await store().setRolloutHeld({ rolloutId: rollout.id, held: false, actor: 'ops', reason: 'fixed' });
    expect(resumed.events.map((e) => e.kind)).toEqual(['started', 'held', 'resumed']);
  });

  it('rollback is atomic and once: the holdback version active again, rollout closed, a rollback promotion event with mode and evidence', async () => {
    const { promptKey, control, variant, rollout } = await promoted(DEFAULT_ROLLOUT);
    const evidence = { action: 'rollback', pWorse: 0.001 };
    const done = await store().rollbackRollout({ rolloutId: rollout.id, mode: 'auto', actor: 'optimizer', reason: 'worse', evidence });
    expect(done).toMatchObject({ created: true, status: 'rolled_back', phase: 'rolled_back', holdback_weight: 0 });
    expect(done.promotion_event).toMatchObject({
      kind: 'rollback',
      mode: 'auto',
      rollout_id: rollout.id,
      from_version_id: variant.id,
      to_version_id: control.id,
      decision: evidence,
    });
    const again = await store().rollbackRollout({ rolloutId: rollout.id, mode: 'manual', actor: 'ops', reason: 'double click' });
    expect(again.created).toBe(false);
    expect(again.promotion_event.id).toBe(done.promotion_event.id);
    const versions = await store().listPromptVersions(promptKey);
    expect(versions.filter((v) => v.status === 'active').map((v) => v.id)).toEqual([control.id]);
    const rollbacks = (await store().listPromotionEvents(promptKey)).filter((e) => e.kind === 'rollback');
    expect(rollbacks.length).toBe(1);
    expect((await store().servingSnapshot([promptKey])).prompts[0]!.experiment).toBeNull();
    await expect(store().completeRollout({ rolloutId: rollout.id, ...steer })).rejects.toBeInstanceOf(StoreConflictError);
  });

  it('completion releases the holdback; a completed rollout cannot be rolled back as a rollout (rollback_prompt undoes it)', async () => {
    const { promptKey, control, rollout } = await promoted(DEFAULT_ROLLOUT);
    const done = await store().completeRollout({ rolloutId: rollout.id, ...steer });
    expect(done).toMatchObject({ created: true, status: 'completed', holdback_weight: 0 });
    expect((await store().completeRollout({ rolloutId: rollout.id, ...steer })).created).toBe(false);
    await expect(store().rollbackRollout({ rolloutId: rollout.id, ...steer })).rejects.toBeInstanceOf(StoreConflictError);
    const ev = await store().rollbackPrompt(promptKey, 'ops', 'changed my mind');
    expect(ev).toMatchObject({ kind: 'rollback', mode: 'manual', to_version_id: control.id, rollout_id: null });
  });

  it('rollback_prompt during a live rollout is its manual rollback; no new experiment while a rollout is live', async () => {
    const { promptKey, control, variant, rollout } = await promoted();
    const v3 = await store().createPromptVersion({ promptKey, content: 'Be helpful, brief and kind.', parentVersionId: variant.id });
    await expect(store().createExperiment({ promptKey, variantVersionIds: [v3.id] })).rejects.toBeInstanceOf(StoreConflictError);
    const ev = await store().rollbackPrompt(promptKey, 'ops', 'customer complaints');
    expect(ev).toMatchObject({ kind: 'rollback', mode: 'manual', rollout_id: rollout.id, to_version_id: control.id });
    expect((await store().getRollout(rollout.id)).status).toBe('rolled_back');
    const exp = await store().createExperiment({ promptKey, variantVersionIds: [v3.id] });
    expect(exp.status).toBe('running');
  });

  it('refuses bad input naming the field, and writes nothing', async () => {
    const { rollout, exp, variant } = await promoted();
    await expect(store().advanceRollout({ rolloutId: rollout.id, fromStep: 0, ...steer, mode: 'sometimes' as 'auto' })).rejects.toThrow(
      /mode/,
    );
    await expect(store().rollbackRollout({ rolloutId: rollout.id, ...steer, actor: '' })).rejects.toThrow(/actor/);
    expect((await store().getRollout(rollout.id)).events.length).toBe(1);
    const bad = {
      ...RAMP,
      steps: [
        { share: 0.9, holdHours: 1 },
        { share: 0.5, holdHours: 1 },
      ],
    };
    await expect(
      store().promoteVariant({ experimentId: exp.id, versionId: variant.id, kind: 'auto', actor: 'x', reason: 'y', rollout: bad }),
    ).rejects.toBeInstanceOf(StoreValidationError);
    // A watch that would end before the ramp does (it counts from the promotion) leaves the last step unwatched.
    const unwatched = { ...RAMP, watchHours: RAMP.steps.reduce((h, s) => h + s.holdHours, 0) };
    await expect(
      store().promoteVariant({ experimentId: exp.id, versionId: variant.id, kind: 'auto', actor: 'x', reason: 'y', rollout: unwatched }),
    ).rejects.toThrow(/watchHours must exceed/);
  });
});
