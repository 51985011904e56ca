import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusQuery, stopSignal } from '../../src/workflows/definitions';
import { cycleWorkflowId, jobWorkflowId, monitorWorkflowId, SCHEDULE_IDS } from '../../src/domain/ids';
import { ensureSchedules } from '../../src/worker/schedules';
import { startJobWorkflow, startWorkflow, workflowHandle } from '../../src/temporal/start';
import { recordHistory } from '../helpers/histories';
import { ADMIN_TOKEN, startTestService, type TestService } from '../helpers/service';
import { FAST_POLICY, driveTraffic, seedPromptWithWeakSegment, waitFor } from '../helpers/traffic';

/**
 * The durable cycle on the real Temporal dev server and a real database (PostgreSQL when
 * DATABASE_URL is set, else PGlite), through the real worker service.
 * With RECORD_HISTORIES=1 the histories are written to test/histories for the replay test.
 */

describe('optimization cycle on the real dev server', () => {
  let svc: TestService;
  const taskQueue = 'prompt-optimization-test';

  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => svc?.teardown());

  const admin = (p: string, init: RequestInit = {}) =>
    fetch(`${svc.baseUrl}${p}`, {
      ...init,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...init.headers },
    });

  const monitorOf = (experimentId: string) => workflowHandle(svc.temporal.client, 'experimentMonitor', monitorWorkflowId(experimentId));

  async function liveExperiment(promptKey: string) {
    return waitFor(async () => (await svc.store.listExperiments({ promptKey, status: 'running' }))[0], {
      what: `experiment for ${promptKey}`,
    });
  }

  it('runs from logged conversations to a promotion, once', async () => {
    const key = 'support-auto';
    const controlId = await seedPromptWithWeakSegment(svc.store, key);
    const handle = await startWorkflow(svc.temporal.client, 'optimizationCycle', {
      taskQueue,
      workflowId: cycleWorkflowId(key),
      args: [{ promptKey: key, variantCount: 2, policy: FAST_POLICY }],
    });
    const exp = await liveExperiment(key);
    expect(exp.arms).toHaveLength(3);
    expect(exp.control_version_id).toBe(controlId);
    await driveTraffic(svc.store, key, (v) => (v === controlId ? 0.45 : 0.9), { subjects: 900 });

    const result = await handle.result();
    expect(result.outcome).toBe('promoted');
    expect(result.analysis.actionable).toBeGreaterThan(0);
    expect(result.variants?.versionIds).toHaveLength(2);
    const winner = result.monitor!.promotion!.toVersionId;
    expect(result.variants!.versionIds).toContain(winner);

    const active = await svc.store.getActivePrompt(key);
    expect(active.id).toBe(winner);
    const events = await svc.store.listPromotionEvents(key);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'auto', from_version_id: controlId, to_version_id: winner, experiment_id: exp.id });
    // The stored reason names the versions as people know them, and the arm.
    const winnerArm = exp.arms.find((a) => a.version_id === winner)!;
    const controlArm = exp.arms.find((a) => a.arm === 0)!;
    expect(events[0]!.reason).toMatch(
      new RegExp(`^v${winnerArm.version} \\(variant ${winnerArm.arm}\\) beats control v${controlArm.version} by \\+[\\d.]+ points \\(`),
    );
    const concluded = await svc.store.getExperiment(exp.id);
    expect(concluded).toMatchObject({ status: 'concluded', outcome: 'promoted', winner_version_id: winner });
    const snapshots = await svc.store.listSnapshots(exp.id);
    expect(snapshots.length).toBe(result.monitor!.checks);
    expect(snapshots.at(-1)!.decision).toMatchObject({ action: 'promote' });
    expect(svc.counters.experimentsCreated).toBeGreaterThanOrEqual(1);

    await recordHistory(handle, 'optimization-cycle-promoted', svc.namespace);
    await recordHistory(monitorOf(exp.id), 'experiment-monitor-promoted', svc.namespace);
  });

  it('waits for a human when the policy requires approval, and promotes on the approvePromotion update', async () => {
    const key = 'support-approval';
    const controlId = await seedPromptWithWeakSegment(svc.store, key);
    const handle = await startWorkflow(svc.temporal.client, 'optimizationCycle', {
      taskQueue,
      workflowId: cycleWorkflowId(key),
      args: [{ promptKey: key, variantCount: 1, policy: { ...FAST_POLICY, requireApproval: true } }],
    });
    const exp = await liveExperiment(key);
    const monitor = monitorOf(exp.id);

    // Nothing awaits approval yet: the update is rejected by its validator, nothing changes.
    const early = await admin(`/v1/experiments/${exp.id}/approve`, { method: 'POST', body: JSON.stringify({ approver: 'alice' }) });
    expect(early.status).toBe(409);
    expect(((await early.json()) as { error: string }).error).toMatch(/nothing awaits approval/);

    await driveTraffic(svc.store, key, (v) => (v === controlId ? 0.45 : 0.9), { subjects: 600, seed: 3 });
    const status = await waitFor(
      async () => {
        const s = await monitor.query(statusQuery);
        return s.phase === 'awaiting_approval' ? s : undefined;
      },
      { what: 'awaiting_approval' },
    );
    expect(status.pendingWinner).not.toBeNull();
    expect((await svc.store.getActivePrompt(key)).id).toBe(controlId);

    // An approval pinned to a version that is not the pending winner is refused.
    const wrong = await admin(`/v1/experiments/${exp.id}/approve`, {
      method: 'POST',
      body: JSON.stringify({ approver: 'mallory', versionId: controlId }),
    });
    expect(wrong.status).toBe(409);
    expect(((await wrong.json()) as { error: string }).error).toMatch(/pending winner is version/);

    const res = await admin(`/v1/experiments/${exp.id}/approve`, {
      method: 'POST',
      body: JSON.stringify({ approver: 'alice', note: 'looks good', versionId: status.pendingWinner!.versionId }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { promotion: unknown };
    expect(body.promotion).toMatchObject({ kind: 'approval', actor: 'alice', toVersionId: status.pendingWinner!.versionId, created: true });

    const result = await handle.result();
    expect(result.outcome).toBe('promoted');
    expect((await svc.store.getActivePrompt(key)).id).toBe(status.pendingWinner!.versionId);
    expect(await svc.store.listPromotionEvents(key)).toHaveLength(1);
    const again = await admin(`/v1/experiments/${exp.id}/approve`, { method: 'POST', body: JSON.stringify({ approver: 'bob' }) });
    expect(again.status).toBe(409);

    await recordHistory(monitor, 'experiment-monitor-approval', svc.namespace);
  });

  it('stops an experiment on request: control stays, variants are rejected', async () => {
    const key = 'support-stop';
    const controlId = await seedPromptWithWeakSegment(svc.store, key);
    const handle = await startWorkflow(svc.temporal.client, 'optimizationCycle', {
      taskQueue,
      workflowId: cycleWorkflowId(key),
      args: [{ promptKey: key, variantCount: 1, policy: FAST_POLICY }],
    });
    const exp = await liveExperiment(key);
    const pause = await admin(`/v1/experiments/${exp.id}/pause`, { method: 'POST' });
    expect(pause.status).toBe(202);
    await waitFor(async () => (await svc.store.getExperiment(exp.id)).status === 'paused', { what: 'paused' });
    expect((await svc.store.assignPrompt(key, 'someone')).version_id).toBe(controlId);

    const res = await admin(`/v1/experiments/${exp.id}/stop`, {
      method: 'POST',
      body: JSON.stringify({ reason: 'wrong audience', actor: 'carol' }),
    });
    expect(res.status).toBe(202);
    const result = await handle.result();
    expect(result.outcome).toBe('stopped');
    const e = await svc.store.getExperiment(exp.id);
    expect(e).toMatchObject({ status: 'concluded', outcome: 'stopped' });
    expect((e.decision as { reason: string }).reason).toBe('wrong audience');
    expect((await svc.store.getActivePrompt(key)).id).toBe(controlId);
    expect((await svc.store.listPromptVersions(key)).filter((v) => v.status === 'rejected')).toHaveLength(1);
    const late = await admin(`/v1/experiments/${exp.id}/stop`, { method: 'POST', body: '{}' });
    expect(late.status).toBe(409);

    await recordHistory(monitorOf(exp.id), 'experiment-monitor-stopped', svc.namespace);
  });

  it('continues as new when the server suggests it, carrying its state', async () => {
    const key = 'support-long';
    await seedPromptWithWeakSegment(svc.store, key);
    const variant = await svc.store.createPromptVersion({ promptKey: key, content: 'A long-running variant for {{product}}.' });
    const exp = await svc.store.createExperiment({ promptKey: key, variantVersionIds: [variant.id], policy: FAST_POLICY });
    const handle = await startWorkflow(svc.temporal.client, 'experimentMonitor', {
      taskQueue,
      workflowId: `experiment-${exp.id}`,
      args: [{ experimentId: exp.id }],
    });
    const firstRun = handle.firstExecutionRunId;
    // The dev server suggests continue-as-new after 60 events (global setup's dynamic config).
    const desc = await waitFor(
      async () => {
        const d = await monitorOf(exp.id).describe();
        return d.runId !== firstRun ? d : undefined;
      },
      { timeoutMs: 45_000, what: 'continue-as-new' },
    );
    expect(desc.status.name).toBe('RUNNING');
    const status = await monitorOf(exp.id).query(statusQuery);
    expect(status.checks).toBeGreaterThan(3);

    await monitorOf(exp.id).signal(stopSignal, { reason: 'test over' });
    const result = await monitorOf(exp.id).result();
    expect(result.outcome).toBe('stopped');
    expect(result.checks).toBeGreaterThanOrEqual(status.checks);
    // One snapshot per check across runs, never two for the same check.
    const snaps = await svc.store.listSnapshots(exp.id);
    expect(snaps.map((s) => s.check_no)).toEqual(Array.from({ length: snaps.length }, (_, i) => i + 1));

    await recordHistory(monitorOf(exp.id), 'experiment-monitor-continued', svc.namespace, firstRun);
  }, 90_000);

  it('picks up a job row inserted directly into the table (intake), and runs a job once', async () => {
    const key = 'support-intake';
    await seedPromptWithWeakSegment(svc.store, key);
    const job = await svc.store.createJob({ type: 'pattern_analysis', params: { promptKey: key }, createdBy: 'other-system' });
    const intake = await (
      await startWorkflow(svc.temporal.client, 'jobIntake', { taskQueue, workflowId: 'intake-test', args: [{}] })
    ).result();
    expect(intake).toMatchObject({ started: [job.id] });
    const done = await waitFor(
      async () => {
        const j = await svc.store.getJob(job.id);
        return j.status === 'completed' ? j : undefined;
      },
      { what: 'job completed' },
    );
    expect(done.workflow_id).toBe(`job-${job.id}`);
    expect((done.result as { actionable: number }).actionable).toBeGreaterThan(0);

    // Starting it again, even after it completed, never runs it a second time.
    expect(await startJobWorkflow(svc.temporal.client, taskQueue, job.id)).toEqual({ workflowId: `job-${job.id}`, started: false });
    const again = await (
      await startWorkflow(svc.temporal.client, 'jobIntake', { taskQueue, workflowId: 'intake-test-2', args: [{}] })
    ).result();
    expect(again).toMatchObject({ claimed: 0 });

    await recordHistory(workflowHandle(svc.temporal.client, 'runJob', jobWorkflowId(job.id)), 'run-job-pattern-analysis', svc.namespace);
  });

  it('fails a job with bad parameters: the row says why', async () => {
    const job = await svc.store.createJob({ type: 'experiment_monitoring', params: { experimentId: 'not-a-uuid' } });
    const { workflowId } = await startJobWorkflow(svc.temporal.client, taskQueue, job.id);
    await expect(workflowHandle(svc.temporal.client, 'runJob', workflowId).result()).rejects.toThrow();
    const row = await svc.store.getJob(job.id);
    expect(row.status).toBe('failed');
    expect(row.error).toMatch(/params.experimentId/);
  });

  it('creates the schedules once: a second boot updates them', async () => {
    const settings = { taskQueue, analysisEveryMs: 3_600_000, reconcileEveryMs: 900_000, intakeEveryMs: 60_000, catchupWindowMs: 600_000 };
    const first = await ensureSchedules(svc.temporal.client, settings);
    const second = await ensureSchedules(svc.temporal.client, { ...settings, intakeEveryMs: 120_000 });
    expect(first.map((s) => s.action)).toEqual(['created', 'created', 'created']);
    expect(second.map((s) => s.action)).toEqual(['updated', 'updated', 'updated']);
    const ids: string[] = [];
    for await (const s of svc.temporal.client.schedule.list()) ids.push(s.scheduleId);
    expect(ids.sort()).toEqual(Object.values(SCHEDULE_IDS).sort());
    const intake = await svc.temporal.client.schedule.getHandle(SCHEDULE_IDS.intake).describe();
    expect(intake.spec.intervals?.[0]?.every).toBe(120_000);
    expect(intake.policies.overlap).toBe('SKIP');

    // Triggering the intake schedule runs jobIntake for real.
    const key = 'support-schedule';
    await seedPromptWithWeakSegment(svc.store, key);
    const job = await svc.store.createJob({ type: 'pattern_analysis', params: { promptKey: key } });
    await svc.temporal.client.schedule.getHandle(SCHEDULE_IDS.intake).trigger();
    await waitFor(async () => (await svc.store.getJob(job.id)).status === 'completed', { what: 'scheduled intake' });
    for (const id of Object.values(SCHEDULE_IDS)) await svc.temporal.client.schedule.getHandle(id).delete();
  });
});
