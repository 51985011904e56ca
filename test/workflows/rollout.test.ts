import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitorWorkflowId, rolloutWorkflowId } from '../../src/domain/ids';
import type { RolloutPlan } from '../../src/domain/types';
import { startRolloutWatchWorkflow, startWorkflow, workflowHandle } from '../../src/temporal/start';
import { rolloutStatusQuery } from '../../src/workflows/definitions';
import { recordHistory } from '../helpers/histories';
import { ADMIN_TOKEN, startTestService, type TestService } from '../helpers/service';
import { controlAndVariant, threeStepRamp } from '../helpers/store-fixture';
import { driveTraffic, FAST_POLICY, waitFor } from '../helpers/traffic';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies, read by the assertions
type Json = Record<string, any>;

/**
 * Guarded rollouts (issue 15) on the real dev server, the real worker service and a real
 * database: the monitor's promotion starts the watch, the watch ramps, rolls back a regression
 * or releases the holdback, and operators steer through the admin API.
 */
describe('guarded rollout on the real dev server', () => {
  let svc: TestService;
  const taskQueue = 'prompt-optimization-test';

  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => svc?.teardown());

  const admin = async (p: string, body?: unknown) => {
    const res = await fetch(`${svc.baseUrl}${p}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const watchOf = (rolloutId: string) => workflowHandle(svc.temporal.client, 'rolloutWatch', rolloutWorkflowId(rolloutId));

  /** A key with a control and a variant whose experiment is promoted straight away (no monitor) with the plan. */
  async function promotedWith(promptKey: string, rollout: RolloutPlan) {
    const { control, variant } = await controlAndVariant(svc.store, promptKey, {
      control: 'You are the support assistant. Be helpful.',
      variant: 'You are the support assistant. Be helpful and brief.',
    });
    const exp = await svc.store.createExperiment({ promptKey, variantVersionIds: [variant.id], policy: { ...FAST_POLICY, rollout } });
    const ev = await svc.store.promoteVariant({
      experimentId: exp.id,
      versionId: variant.id,
      kind: 'auto',
      actor: 'optimizer',
      reason: 'won',
      rollout,
    });
    return { control, variant, rolloutId: ev.rollout!.id };
  }

  it('the monitor promotes and starts the watch; a regression after the promotion is rolled back automatically, once', async () => {
    const key = 'rollout-regression';
    const { control, variant } = await controlAndVariant(svc.store, key, {
      control: 'You are the support assistant. Be helpful.',
      variant: 'You are the support assistant. Be helpful and precise.',
    });
    const rollout: RolloutPlan = {
      steps: [
        { share: 0.5, holdHours: 0 },
        { share: 1, holdHours: 0 },
      ],
      holdbackShare: 0.3,
      watchHours: 1,
      margin: 0,
    };
    const exp = await svc.store.createExperiment({ promptKey: key, variantVersionIds: [variant.id], policy: { ...FAST_POLICY, rollout } });
    const monitor = await startWorkflow(svc.temporal.client, 'experimentMonitor', {
      taskQueue,
      workflowId: monitorWorkflowId(exp.id),
      args: [{ experimentId: exp.id }],
    });
    await driveTraffic(svc.store, key, (v) => (v === control.id ? 0.45 : 0.9), { subjects: 600 });
    const result = await monitor.result();
    expect(result.outcome).toBe('promoted');
    const rolloutId = result.promotion!.rolloutId!;
    expect(rolloutId).toBeTruthy();
    expect((await svc.store.getActivePrompt(key)).id).toBe(variant.id);

    // The watch runs as its own workflow; with holdHours 0 its first check takes the last step.
    const watching = await waitFor(async () => {
      const r = await svc.store.getRollout(rolloutId);
      return r.phase === 'watching' ? r : undefined;
    });
    expect(watching).toMatchObject({ holdback_version_id: control.id, holdback_weight: 0.3, step: 1 });

    // Then the model behind the new version changes: it gets worse than the holdback.
    await driveTraffic(svc.store, key, (v) => (v === control.id ? 0.85 : 0.4), { subjects: 700, offset: 10_000, seed: 5 });
    const end = await watchOf(rolloutId).result();
    expect(end.outcome).toBe('rolled_back');
    expect(end.last).toMatchObject({ action: 'rollback', status: 'rolled_back' });

    const after = await svc.store.getRollout(rolloutId);
    expect(after.status).toBe('rolled_back');
    expect(after.events.map((e) => `${e.kind}:${e.mode}`)).toEqual(['started:auto', 'advanced:auto', 'rolled_back:auto']);
    expect((await svc.store.getActivePrompt(key)).id).toBe(control.id);
    const rollbacks = (await svc.store.listPromotionEvents(key)).filter((e) => e.kind === 'rollback');
    expect(rollbacks).toHaveLength(1);
    expect(rollbacks[0]).toMatchObject({ mode: 'auto', rollout_id: rolloutId, from_version_id: variant.id, to_version_id: control.id });
    expect(rollbacks[0]!.decision).toMatchObject({ action: 'rollback', pWorse: expect.any(Number) });
    expect(rollbacks[0]!.reason).toMatch(/worse than the holdback v1/);
    const checks = await svc.store.listRolloutChecks(rolloutId);
    expect(checks.map((c) => c.check_no)).toEqual(Array.from({ length: checks.length }, (_, i) => i + 1));
    expect(checks.length).toBe(end.checks);
    expect((await svc.store.servingSnapshot([key])).prompts[0]!.experiment).toBeNull();

    await recordHistory(monitor, 'experiment-monitor-promoted-rollout', svc.namespace);
    await recordHistory(watchOf(rolloutId), 'rollout-watch-rolled-back', svc.namespace);
  }, 60_000);

  it('a watch that ends clean releases the holdback and records the rollout as completed', async () => {
    const key = 'rollout-clean';
    const plan: RolloutPlan = { steps: [{ share: 1, holdHours: 0 }], holdbackShare: 0.2, watchHours: 4 / 3600, margin: 0 };
    const { control, variant, rolloutId } = await promotedWith(key, plan);
    await startRolloutWatchWorkflow(svc.temporal.client, taskQueue, rolloutId);
    await driveTraffic(svc.store, key, () => 0.8, { subjects: 300, offset: 20_000 });
    const end = await watchOf(rolloutId).result();
    expect(end.outcome).toBe('completed');
    const r = await svc.store.getRollout(rolloutId);
    expect(r).toMatchObject({ status: 'completed', holdback_weight: 0 });
    expect(r.events.map((e) => `${e.kind}:${e.mode}`)).toEqual(['started:auto', 'completed:auto']);
    expect((await svc.store.getActivePrompt(key)).id).toBe(variant.id);
    expect((await svc.store.servingSnapshot([key])).prompts[0]!.experiment).toBeNull();
    expect((await svc.store.assignPrompt(key, 'anyone')).version_id).toBe(variant.id);
    expect((await svc.store.getPromptVersion(control.id)).status).toBe('archived');

    await recordHistory(watchOf(rolloutId), 'rollout-watch-completed', svc.namespace);
  }, 60_000);

  it('operators see and steer it through /v1/rollouts; reconcile starts a missing watch; a manual rollback ends the watch cleanly', async () => {
    const key = 'rollout-steer';
    const plan = threeStepRamp(50, 168);
    const { control, rolloutId: id } = await promotedWith(key, plan);

    // No watch yet (as after a crash between the promotion and the child start): reconcile starts it.
    const reconcile = (await svc.temporal.client.workflow.execute('experimentReconcile', {
      taskQueue,
      workflowId: `reconcile-rollout-${id}`,
      args: [{ graceSeconds: 0 }],
    })) as { rollouts?: { started: string[] } };
    expect(reconcile.rollouts!.started).toContain(id);
    const status = await waitFor(async () => {
      const s = await watchOf(id).query(rolloutStatusQuery);
      return s.checks > 0 ? s : undefined;
    });
    expect(status.last).toMatchObject({ action: 'continue', step: 0, status: 'live' });

    const list = await admin(`/v1/rollouts?promptKey=${key}`);
    expect(list.status).toBe(200);
    expect(list.body.rollouts).toHaveLength(1);
    expect(list.body.rollouts[0]).toMatchObject({ id, phase: 'ramping', step: 0, holdback_weight: 0.5 });

    expect((await admin(`/v1/rollouts/${id}/hold`, { actor: 'bob', reason: 'incident review' })).body).toMatchObject({
      changed: true,
      rollout: { held: true, phase: 'held' },
    });
    const advanced = await admin(`/v1/rollouts/${id}/advance`, { actor: 'bob', fromStep: 1 });
    expect(advanced.body).toMatchObject({ changed: true, rollout: { step: 1, holdback_weight: expect.closeTo(0.1, 10) } });
    // The same click again (pinned to the step seen) changes nothing.
    expect((await admin(`/v1/rollouts/${id}/advance`, { actor: 'bob', fromStep: 1 })).body.changed).toBe(false);
    await admin(`/v1/rollouts/${id}/resume`, { actor: 'bob' });

    // Bad input: 400 naming the field, nothing written; unknown id: 404.
    const bad = await admin(`/v1/rollouts/${id}/rollback`, { reason: 'no actor' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/actor/);
    expect((await admin(`/v1/rollouts/${id}/advance`, { actor: 'bob', fromStep: 0 })).status).toBe(400);
    expect((await admin(`/v1/rollouts/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await svc.store.getRollout(id)).events).toHaveLength(4);

    const rolledBack = await admin(`/v1/rollouts/${id}/rollback`, { actor: 'carol', reason: 'complaints from support' });
    expect(rolledBack.status).toBe(200);
    expect(rolledBack.body.rollout).toMatchObject({ status: 'rolled_back', promotion_event: { kind: 'rollback', mode: 'manual' } });
    const end = await watchOf(id).result();
    expect(end.outcome).toBe('rolled_back');
    expect(end.last).toMatchObject({ action: 'closed' });
    expect((await svc.store.getActivePrompt(key)).id).toBe(control.id);
    expect((await admin(`/v1/rollouts/${id}/advance`, { actor: 'bob' })).status).toBe(409);

    const detail = await admin(`/v1/rollouts/${id}`);
    expect(detail.body.rollout.events.map((e: { kind: string }) => e.kind)).toEqual([
      'started',
      'held',
      'advanced',
      'resumed',
      'rolled_back',
    ]);
    expect(detail.body.checks.length).toBeGreaterThan(0);
    expect(detail.body.workflowUrl).toContain(rolloutWorkflowId(id));
  }, 60_000);
});
