import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Activities, Evaluation, ExperimentInfo, PromotionResult } from '../../src/activities';
import { monitorWorkflowId } from '../../src/domain/ids';
import { DEFAULT_POLICY, type Decision } from '../../src/domain/types';
import { startWorkflow } from '../../src/temporal/start';
import { approvePromotionUpdate, pauseSignal, resumeSignal, statusQuery, type MonitorStatus } from '../../src/workflows/definitions';
import type { experimentMonitor } from '../../src/workflows/monitor';
import { connectTestTemporal } from '../helpers/temporal';
import { waitFor } from '../helpers/traffic';

/**
 * The monitor's branches, driven with scripted activities on the real dev server: each test
 * scripts what every check decides (and when it answers), then asserts the status query, the
 * activity calls and the workflow result. End-to-end runs with real traffic are in cycle.test.ts.
 */

type MonitorActivities = Pick<
  Activities,
  'loadExperiment' | 'evaluateExperiment' | 'concludeExperiment' | 'promoteVariant' | 'setExperimentPaused'
>;

/** What one check answers: a decision, a decision released later, or failures before a decision. */
type CheckScript = Decision | { gate: Promise<void>; decision: Decision } | { failFirst: number; decision: Decision };

interface Script {
  requireApproval: boolean;
  checks: CheckScript[];
  /** Every evaluateExperiment call (after the script runs out, checks decide `continue`). */
  evaluations: Array<{ checkNo: number; attempt: number }>;
  promotions: Array<{ versionId: string; kind: string; actor: string }>;
  conclusions: Array<{ outcome: string; reason: string }>;
  pauses: boolean[];
}

const A = randomUUID();
const B = randomUUID();

function decision(action: Decision['action'], winner?: string): Decision {
  return {
    action,
    reason: `scripted ${action}${winner ? ` ${winner.slice(0, 8)}` : ''}`,
    engine: 'scripted',
    variants: [],
    srm: { chiSquare: 0, pValue: 1, mismatch: false },
    gatesMet: true,
    ...(winner ? { winner: { arm: winner === A ? 1 : 2, versionId: winner } } : {}),
  };
}

const CONTINUE = decision('continue');

function scriptedActivities(scripts: Map<string, Script>): MonitorActivities {
  const script = (id: string) => {
    const s = scripts.get(id);
    if (!s) throw ApplicationFailure.nonRetryable(`no script for ${id}`);
    return s;
  };
  return {
    async loadExperiment({ experimentId }): Promise<ExperimentInfo> {
      const s = script(experimentId);
      return {
        experimentId,
        promptKey: 'monitor-test',
        status: 'running',
        outcome: null,
        createdAt: new Date().toISOString(),
        arms: [],
        policy: { ...DEFAULT_POLICY, checkIntervalSeconds: 1, requireApproval: s.requireApproval },
      };
    },
    async evaluateExperiment({ experimentId, checkNo }): Promise<Evaluation> {
      const s = script(experimentId);
      const attempt = s.evaluations.filter((e) => e.checkNo === checkNo).length + 1;
      s.evaluations.push({ checkNo, attempt });
      const planned = s.checks[checkNo - 1] ?? CONTINUE;
      if ('failFirst' in planned && attempt <= planned.failFirst) {
        // Retried at once (nextRetryDelay) with the workflow's own retry policy.
        throw ApplicationFailure.create({ message: 'database down (scripted)', nextRetryDelay: '10ms' });
      }
      if ('gate' in planned) await planned.gate;
      const d = 'action' in planned ? planned : planned.decision;
      return { checkNo, decision: d, conversations: checkNo * 10, expired: false, replayed: false };
    },
    async concludeExperiment({ experimentId, outcome, reason }) {
      script(experimentId).conclusions.push({ outcome, reason });
      return { outcome, created: true };
    },
    async promoteVariant({ experimentId, versionId, kind, actor }): Promise<PromotionResult> {
      script(experimentId).promotions.push({ versionId, kind, actor });
      return { eventId: randomUUID(), promptKey: 'monitor-test', fromVersionId: null, toVersionId: versionId, kind, actor, created: true };
    },
    async setExperimentPaused({ experimentId, paused }) {
      script(experimentId).pauses.push(paused);
    },
  };
}

describe('experimentMonitor branches with scripted activities', () => {
  const scripts = new Map<string, Script>();
  const taskQueue = `monitor-branches-${randomUUID().slice(0, 8)}`;
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let worker: Worker;
  let running: Promise<void>;

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    worker = await Worker.create({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      workflowsPath: path.join(__dirname, '../../src/workflows/index.ts'),
      activities: scriptedActivities(scripts),
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await temporal?.close();
  });

  async function startMonitor(requireApproval: boolean, checks: CheckScript[]) {
    const experimentId = randomUUID();
    const script: Script = { requireApproval, checks, evaluations: [], promotions: [], conclusions: [], pauses: [] };
    scripts.set(experimentId, script);
    const handle = await startWorkflow(temporal.client, 'experimentMonitor', {
      taskQueue,
      workflowId: monitorWorkflowId(experimentId),
      args: [{ experimentId }],
    });
    return { experimentId, script, handle };
  }

  const status = (handle: WorkflowHandle<typeof experimentMonitor>): Promise<MonitorStatus> => handle.query(statusQuery);

  async function untilStatus(
    handle: WorkflowHandle<typeof experimentMonitor>,
    ok: (s: MonitorStatus) => boolean,
    what: string,
  ): Promise<MonitorStatus> {
    let last: MonitorStatus | undefined;
    await waitFor(async () => ok((last = await status(handle))), { timeoutMs: 30_000, what });
    return last!;
  }

  it('an approval superseded by the next check fails the update, and the monitor goes on to a fresh approval', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { handle, script } = await startMonitor(true, [decision('promote', A), { gate, decision: decision('promote', B) }]);
    await untilStatus(handle, (s) => s.phase === 'awaiting_approval' && s.pendingWinner?.versionId === A, 'A pending');
    // Check 2 is in flight (gated) when the approval of A is accepted; it then names B.
    await waitFor(async () => script.evaluations.some((e) => e.checkNo === 2), { timeoutMs: 30_000, what: 'check 2 started' });
    const approval = handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'alice', versionId: A }] });
    await new Promise((r) => setTimeout(r, 500));
    release();
    const err = await approval.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(((err as WorkflowUpdateFailedError).cause as Error).message).toMatch(/the pending winner moved/);
    expect(((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type).toBe('ApprovalSuperseded');
    expect(script.promotions).toEqual([]);

    const s = await status(handle);
    expect(s).toMatchObject({ phase: 'awaiting_approval', pendingWinner: { versionId: B } });
    const promotion = await handle.executeUpdate(approvePromotionUpdate, {
      args: [{ approver: 'alice', versionId: B, note: 'B reviewed' }],
    });
    expect(promotion.toVersionId).toBe(B);
    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'promoted', promotion: { toVersionId: B, kind: 'approval', actor: 'alice' } });
    expect(script.promotions).toEqual([{ versionId: B, kind: 'approval', actor: 'alice' }]);
  });

  it('evidence withdrawn while awaiting approval takes the pending winner back; an approval is then refused', async () => {
    const { handle, script } = await startMonitor(true, [decision('promote', A), CONTINUE, CONTINUE, decision('keep_control')]);
    await untilStatus(handle, (s) => s.phase === 'awaiting_approval', 'A pending');
    const withdrawn = await untilStatus(handle, (s) => s.checks >= 2, 'check 2');
    expect(withdrawn).toMatchObject({ phase: 'monitoring', pendingWinner: null });
    const err = await handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'bob' }] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(String((err as Error).cause ?? err)).toMatch(/nothing awaits approval \(experiment is monitoring\)/);
    expect(await handle.result()).toMatchObject({ outcome: 'kept_control', checks: 4 });
    expect(script.promotions).toEqual([]);
    expect(script.conclusions).toEqual([{ outcome: 'kept_control', reason: 'scripted keep_control' }]);
  });

  it('pause while awaiting approval: no checks while paused, the pending winner survives, resume returns to awaiting', async () => {
    const { handle, script } = await startMonitor(true, [decision('promote', A)]);
    await untilStatus(handle, (s) => s.phase === 'awaiting_approval', 'A pending');
    await handle.signal(pauseSignal);
    const paused = await untilStatus(handle, (s) => s.phase === 'paused', 'paused');
    expect(paused.pendingWinner?.versionId).toBe(A);
    const checksWhenPaused = script.evaluations.length;
    await new Promise((r) => setTimeout(r, 3_000));
    expect(script.evaluations.length).toBe(checksWhenPaused);
    const refused = await handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'carol' }] }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(String((refused as Error).cause ?? refused)).toMatch(/nothing awaits approval \(experiment is paused\)/);

    await handle.signal(resumeSignal);
    await untilStatus(handle, (s) => s.phase === 'awaiting_approval' && s.pendingWinner?.versionId === A, 'awaiting again');
    expect(script.pauses).toEqual([true, false]);
    await handle.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'carol' }] });
    expect(await handle.result()).toMatchObject({ outcome: 'promoted', promotion: { toVersionId: A } });
  });

  it('a check whose activity exhausts its retries is skipped; the next interval takes the same check again', async () => {
    // Check 1 fails all 25 attempts of the proxy's retry policy (src/workflows/proxies.ts), so it is
    // skipped; at the next interval check 1 is taken again and answers; check 2 promotes.
    const { handle, script } = await startMonitor(false, [{ failFirst: 25, decision: CONTINUE }, decision('promote', A)]);
    const result = await handle.result();
    expect(result).toMatchObject({ outcome: 'promoted', checks: 2, promotion: { toVersionId: A, kind: 'auto', actor: 'optimizer' } });
    const firstCheck = script.evaluations.filter((e) => e.checkNo === 1);
    expect(firstCheck.length).toBe(26);
    expect(firstCheck[24]).toEqual({ checkNo: 1, attempt: 25 });
    const history = await handle.fetchHistory();
    const failed = history.events!.filter((e) => e.activityTaskFailedEventAttributes).length;
    expect(failed).toBe(1);
  }, 90_000);

  it('state survives continue-as-new: checks, the pending winner and pause carry over, and the approval lands once', async () => {
    const { handle, script, experimentId } = await startMonitor(true, [
      decision('promote', A),
      ...Array.from({ length: 40 }, () => decision('promote', A)),
    ]);
    await untilStatus(handle, (s) => s.phase === 'awaiting_approval', 'A pending');
    const first = (await handle.describe()).runId;
    await handle.signal(pauseSignal);
    await untilStatus(handle, (s) => s.phase === 'paused', 'paused');
    await handle.signal(resumeSignal);
    // The dev server suggests continue-as-new at 60 events (test/global-setup.ts).
    await waitFor(async () => (await handle.describe()).runId !== first, { timeoutMs: 60_000, what: 'continued as new' });
    const latest = temporal.client.workflow.getHandle<typeof experimentMonitor>(monitorWorkflowId(experimentId));
    const carried = await untilStatus(latest, (s) => s.phase === 'awaiting_approval', 'awaiting in the new run');
    expect(carried.pendingWinner?.versionId).toBe(A);
    expect(carried.checks).toBeGreaterThanOrEqual(3);
    expect(carried.lastDecision?.action).toBe('promote');
    await latest.executeUpdate(approvePromotionUpdate, { args: [{ approver: 'dave', versionId: A }] });
    const result = await latest.result();
    expect(result.outcome).toBe('promoted');
    expect(result.checks).toBeGreaterThanOrEqual(carried.checks);
    expect(script.promotions).toEqual([{ versionId: A, kind: 'approval', actor: 'dave' }]);
    expect(script.pauses).toEqual([true, false]);
    const checkNos = script.evaluations.map((e) => e.checkNo);
    expect(checkNos).toEqual([...checkNos].sort((a, b) => a - b));
    expect(new Set(checkNos).size).toBe(checkNos.length);
  }, 90_000);
});
