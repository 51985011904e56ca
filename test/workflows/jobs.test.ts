import type { WorkflowStartOptions } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cycleWorkflowId, monitorWorkflowId } from '../../src/domain/ids';
import type { JobType } from '../../src/domain/jobs';
import { startJobWorkflow, startWorkflow, workflowHandle, type WorkflowName, type Workflows } from '../../src/temporal/start';
import { stopSignal } from '../../src/workflows/definitions';
import type { JobResults } from '../../src/workflows/job';
import { startTestService, type TestService } from '../helpers/service';
import { FAST_POLICY, driveTraffic, seedPromptWithWeakSegment, waitFor } from '../helpers/traffic';

/** Each of the five job types runs as workflow job-<id> and leaves its row terminal with a result. */

describe('job types on the real dev server', () => {
  let svc: TestService;
  const taskQueue = 'prompt-optimization-test';

  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => svc?.teardown());

  async function runJob<T extends JobType>(type: T, params: Record<string, unknown>) {
    const job = await svc.store.createJob({ type, params, createdBy: 'jobs-test' });
    const { workflowId, started } = await startJobWorkflow(svc.temporal.client, taskQueue, job.id);
    expect(started).toBe(true);
    expect(workflowId).toBe(`job-${job.id}`);
    const handle = workflowHandle(svc.temporal.client, 'runJob', workflowId);
    // runJob returns the union of every type's result; this job's type picks the member.
    return { job, handle, finished: async () => (await handle.result()) as JobResults[T] };
  }

  async function executeWorkflow<N extends WorkflowName>(name: N, opts: WorkflowStartOptions<Workflows[N]>) {
    return (await startWorkflow(svc.temporal.client, name, opts)).result();
  }

  const monitorOf = (experimentId: string) => workflowHandle(svc.temporal.client, 'experimentMonitor', monitorWorkflowId(experimentId));

  it('variant_generation stores validated candidates, and a retry reuses them', async () => {
    const key = 'jobs-variants';
    const controlId = await seedPromptWithWeakSegment(svc.store, key);
    await svc.store.analyzePrompt(key);
    const { job, finished } = await runJob('variant_generation', { promptKey: key, variantCount: 2 });
    const result = await finished();
    expect(result.controlVersionId).toBe(controlId);
    expect(result.strategy).toBe('rules');
    expect(result.versionIds).toHaveLength(2);
    const versions = await svc.store.listPromptVersions(key);
    for (const id of result.versionIds) {
      const v = versions.find((x) => x.id === id)!;
      expect(v).toMatchObject({ status: 'candidate', parent_version_id: controlId, strategy: 'rules' });
      expect(v.content).toContain('{{product}}');
      expect(v.rationale).toMatch(/low_success_segment|billing/);
    }
    expect(await svc.store.getJob(job.id)).toMatchObject({ status: 'completed', workflow_id: `job-${job.id}` });

    // A second generation job (as a retry would) gets the same rows back, not copies.
    const again = await runJob('variant_generation', { promptKey: key, variantCount: 2 });
    const second = await again.finished();
    expect(second.versionIds.sort()).toEqual([...result.versionIds].sort());
    expect(second.reused).toBe(2);
    expect(await svc.store.listPromptVersions(key)).toHaveLength(3);
  });

  it('experiment_creation creates the experiment and starts its monitor; experiment_monitoring finds it running', async () => {
    const key = 'jobs-experiment';
    await seedPromptWithWeakSegment(svc.store, key);
    const variant = await svc.store.createPromptVersion({ promptKey: key, content: 'Be concise with {{product}} users.' });
    const { job, finished } = await runJob('experiment_creation', { promptKey: key, variantVersionIds: [variant.id], policy: FAST_POLICY });
    const created = await finished();
    expect(created.monitorWorkflowId).toBe(`experiment-${created.experimentId}`);
    const desc = await svc.temporal.client.workflow.getHandle(created.monitorWorkflowId).describe();
    expect(desc.status.name).toBe('RUNNING');
    expect((await svc.store.getJob(job.id)).result).toMatchObject({ experimentId: created.experimentId });

    const monitoring = await runJob('experiment_monitoring', { experimentId: created.experimentId });
    expect(await monitoring.handle.result()).toEqual({ experimentId: created.experimentId, monitor: 'running' });

    await svc.temporal.client.workflow.getHandle(created.monitorWorkflowId).signal(stopSignal, { reason: 'done' });
    const monitor = await workflowHandle(svc.temporal.client, 'experimentMonitor', created.monitorWorkflowId).result();
    expect(monitor.outcome).toBe('stopped');
  });

  it('experiment_monitoring restarts a monitor that is missing, and reconcile leaves a live one alone', async () => {
    const key = 'jobs-reconcile';
    await seedPromptWithWeakSegment(svc.store, key);
    const variant = await svc.store.createPromptVersion({ promptKey: key, content: 'Ask a clarifying question for {{product}}.' });
    // An experiment whose monitor never started (e.g. the cycle crashed right after creating it).
    const exp = await svc.store.createExperiment({ promptKey: key, variantVersionIds: [variant.id], policy: FAST_POLICY });
    const { handle } = await runJob('experiment_monitoring', { experimentId: exp.id });
    expect(await handle.result()).toEqual({ experimentId: exp.id, monitor: 'started' });
    const reconcile = await svc.temporal.client.workflow.execute('experimentReconcile', {
      taskQueue,
      workflowId: `reconcile-${exp.id}`,
      args: [{ graceSeconds: 0 }],
    });
    expect(reconcile).toMatchObject({ started: [], restarted: [] });
    expect((reconcile as { checked: number }).checked).toBeGreaterThanOrEqual(1);

    // Kill the monitor behind the database's back: reconcile restarts it and flags the experiment.
    await monitorOf(exp.id).terminate('simulated loss');
    const after = await svc.temporal.client.workflow.execute('experimentReconcile', {
      taskQueue,
      workflowId: `reconcile-2-${exp.id}`,
      args: [{ graceSeconds: 0 }],
    });
    expect(after).toMatchObject({ restarted: [exp.id] });
    expect((await svc.store.getExperiment(exp.id)).stale_since).not.toBeNull();
    // The restarted monitor continues the check numbering on fresh data (no walk through old checks).
    const beforeRestart = (await svc.store.latestSnapshot(exp.id))?.check_no ?? 0;
    await waitFor(async () => ((await svc.store.latestSnapshot(exp.id))?.check_no ?? 0) > beforeRestart, {
      what: 'a check after the restart',
    });
    await monitorOf(exp.id).signal(stopSignal, {});
    const restarted = await monitorOf(exp.id).result();
    expect(restarted.outcome).toBe('stopped');
    const checks = (await svc.store.listSnapshots(exp.id)).map((s) => s.check_no);
    expect(checks).toEqual(Array.from({ length: checks.length }, (_, i) => i + 1));
    expect(restarted.checks).toBe(checks.length);
  });

  it('full_cycle as a job: the row ends completed with the cycle result', async () => {
    const key = 'jobs-full';
    const controlId = await seedPromptWithWeakSegment(svc.store, key);
    const { job, finished } = await runJob('full_cycle', { promptKey: key, variantCount: 1, policy: FAST_POLICY });
    const exp = await waitFor(async () => (await svc.store.listExperiments({ promptKey: key, status: 'running' }))[0], {
      what: 'experiment',
    });
    await driveTraffic(svc.store, key, (v) => (v === controlId ? 0.4 : 0.9), { subjects: 600 });
    const result = await finished();
    expect(result).toMatchObject({ outcome: 'promoted', experimentId: exp.id });
    const row = await svc.store.getJob(job.id);
    expect(row.status).toBe('completed');
    expect(row.result).toMatchObject({ outcome: 'promoted', experimentId: exp.id });
  });

  it('the hourly sweep starts one cycle per key with actionable insights, never two', async () => {
    const key = 'jobs-sweep';
    await seedPromptWithWeakSegment(svc.store, key);
    const sweep = await executeWorkflow('patternAnalysisSweep', {
      taskQueue,
      workflowId: 'sweep-1',
      args: [{ sinceHours: 3, cycle: { variantCount: 1, policy: FAST_POLICY } }],
    });
    expect(sweep.started).toContain(key);
    // A second sweep while that cycle runs: the per-key workflow id or the live experiment stops a second cycle.
    const second = await executeWorkflow('patternAnalysisSweep', {
      taskQueue,
      workflowId: 'sweep-2',
      args: [{ sinceHours: 3, cycle: { variantCount: 1, policy: FAST_POLICY } }],
    });
    expect(second.started).not.toContain(key);
    const exp = await waitFor(async () => (await svc.store.listExperiments({ promptKey: key, status: 'running' }))[0], {
      what: 'sweep experiment',
    });
    await monitorOf(exp.id).signal(stopSignal, { reason: 'test over' });
    const cycle = await workflowHandle(svc.temporal.client, 'optimizationCycle', cycleWorkflowId(key)).result();
    expect(cycle.outcome).toBe('stopped');
    expect(await svc.store.listExperiments({ promptKey: key })).toHaveLength(1);
  });
});
