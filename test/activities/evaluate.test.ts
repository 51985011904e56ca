import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { evaluationActivities } from '../../src/activities/evaluate';
import type { ActivityDeps } from '../../src/activities/deps';
import type { ArmStats } from '../../src/domain/types';
import type { ConversationInput } from '../../src/store';
import { backends } from '../helpers/backends';
import { controlAndVariant, storeOn } from '../helpers/store-fixture';

/**
 * The monitoring check outside Temporal (activities are plain functions), on a real database: it
 * must ask SQL for the aggregates the sequential guardrails need with the experiment's own
 * latency margin, and snapshot exactly what SQL returned.
 */
describe.each(backends)('evaluateExperiment on $name', (backend) => {
  const storeOf = storeOn(backend);

  it("counts slow conversations against (1 + the policy's latencyP95Margin) x control's p95, over the policy's recent window", async () => {
    const store = storeOf();
    const promptKey = 'eval-latency';
    const { variant } = await controlAndVariant(store, promptKey, {
      control: 'Answer about {{product}}.',
      variant: 'Answer briefly about {{product}}.',
    });
    const exp = await store.createExperiment({
      promptKey,
      variantVersionIds: [variant.id],
      policy: { guardrails: { latencyP95Margin: 0.5 }, recentWindowHours: 6 },
    });

    // One subject per arm; control's 21 latencies 100..2100 have p95 2000, so the threshold is
    // 1.5 x 2000 = 3000: of the variant's 2999, 3000 and 3001 only the last is slower.
    const subjects = new Map<number, { subject: string; versionId: string }>();
    for (let i = 0; !subjects.has(0) || !subjects.has(1); i++) {
      const a = await store.assignPrompt(promptKey, `subject-${i}`);
      if (!subjects.has(a.arm!)) subjects.set(a.arm!, { subject: `subject-${i}`, versionId: a.version_id });
    }
    const row = (arm: number, latency: number): ConversationInput => ({
      prompt_key: promptKey,
      version_id: subjects.get(arm)!.versionId,
      subject_id: subjects.get(arm)!.subject,
      success: true,
      latency_ms: latency,
    });
    await store.recordConversations([
      ...Array.from({ length: 21 }, (_, i) => row(0, 100 * (i + 1))),
      row(1, 2999),
      row(1, 3000),
      row(1, 3001),
    ]);

    const activities = evaluationActivities({ store, clock: () => new Date() } as unknown as ActivityDeps);
    const evaluation = await activities.evaluateExperiment({ experimentId: exp.id, checkNo: 1 });
    expect(evaluation).toMatchObject({ checkNo: 1, conversations: 24, replayed: false });

    const snapshot = await store.latestSnapshot(exp.id);
    const arms = snapshot!.arms as unknown as ArmStats[];
    expect(arms.map((a) => [a.arm, a.latencyN, a.latencyThreshold, a.latencySlow])).toEqual([
      [0, 21, 3000, 0],
      [1, 3, 3000, 1],
    ]);
    expect(arms.map((a) => [a.recent?.hours, a.recent?.n, a.version])).toEqual([
      [6, 21, 1],
      [6, 3, 2],
    ]);
    // The snapshot holds what SQL answers for the same parameters.
    expect(arms).toEqual(await store.experimentArmStats(exp.id, { latencyFactor: 1.5, recentHours: 6 }));
  });

  it('a corrupt memory in the last snapshot fails the check for good (non-retryable, names the field), writing nothing', async () => {
    const store = storeOf();
    const promptKey = 'eval-corrupt';
    const { variant } = await controlAndVariant(store, promptKey, {
      control: 'Help with {{product}}.',
      variant: 'Help briefly with {{product}}.',
    });
    const exp = await store.createExperiment({ promptKey, variantVersionIds: [variant.id] });
    await store.writeSnapshot({
      experimentId: exp.id,
      checkNo: 1,
      arms: [],
      decision: {
        action: 'continue',
        reason: 'first check',
        engine: 'msprt-v2',
        variants: [],
        srm: { chiSquare: 0, pValue: 1, mismatch: false },
        gatesMet: false,
      },
      memory: { pValues: { [variant.id]: -0.5 } },
    });

    const activities = evaluationActivities({ store, clock: () => new Date() } as unknown as ActivityDeps);
    const failure = await activities.evaluateExperiment({ experimentId: exp.id, checkNo: 2 }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'InvalidDecisionInput', nonRetryable: true });
    expect((failure as Error).message).toBe(`memory.pValues.${variant.id}: must be a probability in [0, 1], got -0.5`);
    expect((await store.latestSnapshot(exp.id))!.check_no).toBe(1);
  });
});
