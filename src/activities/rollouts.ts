import { WorkflowNotFoundError } from '@temporalio/client';
import { rolloutWorkflowId } from '../domain/ids';
import { resolvePolicy } from '../domain/policy';
import type { ExperimentPolicy, RolloutPlan } from '../domain/types';
import { checkRollout, type RolloutAction, type RolloutDecision } from '../stats/rollout';
import type { WatchMemory } from '../stats/watch';
import { StoreConflictError, type RolloutCheckRow, type RolloutRow, type RolloutStatus } from '../store';
import { startRolloutWatchWorkflow } from '../temporal/start';
import type { ActivityDeps } from './deps';
import { finalOnBadInput, withHeartbeat } from './errors';

const HOUR_MS = 3_600_000;

/** What one watch check did, for the workflow's status and its loop. */
export interface RolloutCheck {
  rolloutId: string;
  /** 0 when no check was taken (the rollout had already ended). */
  checkNo: number;
  action: RolloutAction | 'closed';
  reason: string;
  status: RolloutStatus;
  step: number;
  holdbackWeight: number;
  /** Seconds to the next check (the experiment's check interval). */
  intervalSeconds: number;
  /** True when the decision had been recorded before (a retry after a crash). */
  replayed: boolean;
}

export type WatchEnsured = 'running' | 'started' | 'closed';

const ACTOR = 'optimizer';

/** As evaluate.ts: a retry gets its own check back, a watch restarted from scratch continues after the last one. */
function checkNumber(requested: number, previous: RolloutCheckRow | null): number {
  return previous && previous.check_no > requested ? previous.check_no + 1 : requested;
}

function summary(r: RolloutRow, checkNo: number, action: RolloutCheck['action'], reason: string, interval: number, replayed: boolean) {
  return {
    rolloutId: r.id,
    checkNo,
    action,
    reason,
    status: r.status,
    step: r.step,
    holdbackWeight: Number(r.holdback_weight),
    intervalSeconds: interval,
    replayed,
  };
}

export function rolloutActivities(deps: ActivityDeps) {
  const { store, temporal } = deps;

  /**
   * Carries out a check's decision. Each write is idempotent in SQL (rollback and completion at
   * most once, an advance names the step it leaves), so a retry after a crash repeats nothing; a
   * conflict means an operator moved the rollout first, and the rollout as it now stands wins.
   */
  async function apply(r: RolloutRow, d: RolloutDecision): Promise<RolloutRow> {
    const ending = { rolloutId: r.id, mode: 'auto' as const, actor: ACTOR, reason: d.reason.slice(0, 2000), evidence: d };
    try {
      if (d.action === 'rollback') return await store.rollbackRollout(ending);
      if (d.action === 'complete') return await store.completeRollout(ending);
      if (d.action === 'advance') return await store.advanceRollout({ ...ending, fromStep: d.step });
      return r;
    } catch (err) {
      if (err instanceof StoreConflictError) return store.getRollout(r.id);
      throw err;
    }
  }

  async function decideCheck(r: RolloutRow, checkNo: number, policy: ExperimentPolicy, memory: WatchMemory | undefined) {
    const plan = r.plan as unknown as RolloutPlan;
    const arms = await withHeartbeat(store.rolloutArmStats(r.id, { latencyFactor: 1 + policy.guardrails.latencyP95Margin }));
    const now = deps.clock().getTime();
    const out = await finalOnBadInput(() =>
      checkRollout({
        arms,
        plan,
        policy,
        memory,
        step: r.step,
        held: r.held,
        stepHours: (now - Date.parse(r.step_started_at)) / HOUR_MS,
        elapsedHours: (now - Date.parse(r.started_at)) / HOUR_MS,
      }),
    );
    const written = await store.writeRolloutCheck({ rolloutId: r.id, checkNo, arms, decision: out.decision, memory: out.memory });
    return { decision: written.decision as unknown as RolloutDecision, replayed: !written.created };
  }

  return {
    /**
     * One check of a rollout's watch: statistics in SQL, the decision (rollout.ts), the check
     * written, then the decision carried out. A rollout that has ended (rolled back or finished
     * by an operator) is reported `closed` without a check.
     */
    async checkRollout(input: { rolloutId: string; checkNo: number }): Promise<RolloutCheck> {
      const r = await finalOnBadInput(() => store.getRollout(input.rolloutId));
      if (r.status !== 'live') return summary(r, 0, 'closed', r.reason ?? `rollout ${r.status}`, 0, false);
      const exp = await finalOnBadInput(() => store.getExperiment(r.experiment_id));
      const policy = resolvePolicy(exp.policy, exp.metric);
      const interval = policy.checkIntervalSeconds;
      const previous = await store.latestRolloutCheck(r.id);
      const checkNo = checkNumber(input.checkNo, previous);
      const { decision, replayed } =
        previous && previous.check_no === checkNo
          ? { decision: previous.decision as unknown as RolloutDecision, replayed: true }
          : await decideCheck(r, checkNo, policy, previous?.memory as unknown as WatchMemory | undefined);
      const after = await apply(r, decision);
      if (decision.action !== 'continue') {
        deps.logger.info({ rolloutId: r.id, checkNo, action: decision.action, status: after.status }, 'rollout moved');
      }
      return summary(after, checkNo, decision.action, decision.reason, interval, replayed);
    },

    async listLiveRollouts(): Promise<string[]> {
      return (await store.listRollouts({ status: 'live', limit: 500 })).map((r) => r.id);
    },

    /** Every live rollout has a running watch: starts a missing or closed one. */
    async ensureRolloutWatch(input: { rolloutId: string }): Promise<WatchEnsured> {
      const r = await finalOnBadInput(() => store.getRollout(input.rolloutId));
      if (r.status !== 'live') return 'closed';
      try {
        const d = await temporal.client.workflow.getHandle(rolloutWorkflowId(r.id)).describe();
        if (d.status.name === 'RUNNING') return 'running';
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      const res = await startRolloutWatchWorkflow(temporal.client, temporal.taskQueue, r.id);
      if (res.started) deps.logger.warn({ rolloutId: r.id }, 'rollout watch (re)started by reconcile');
      return res.started ? 'started' : 'running';
    },
  };
}
