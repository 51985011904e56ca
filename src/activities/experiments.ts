import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { resolvePolicy } from '../domain/policy';
import type { Decision, DecisionMemory, ExperimentPolicy } from '../domain/types';
import { decide } from '../stats';
import { StoreConflictError, type ExperimentOutcome, type ExperimentWithArms } from '../store';
import { monitorWorkflowId, startJobWorkflow, startMonitorWorkflow } from '../temporal/start';
import type { ActivityDeps } from './deps';
import { finalOnBadInput, withHeartbeat } from './errors';

export interface ExperimentInfo {
  experimentId: string;
  promptKey: string;
  status: ExperimentWithArms['status'];
  outcome: ExperimentOutcome | null;
  policy: ExperimentPolicy;
  createdAt: string;
  arms: Array<{ arm: number; versionId: string; weight: number }>;
}

export interface Evaluation {
  checkNo: number;
  decision: Decision;
  conversations: number;
  /** The policy's maximum duration had passed when this check was taken. */
  expired: boolean;
  /** True when the decision was already recorded for this check (a retry after a crash). */
  replayed: boolean;
}

export interface PromotionResult {
  eventId: string;
  promptKey: string;
  fromVersionId: string | null;
  toVersionId: string;
  kind: string;
  actor: string;
  created: boolean;
}

function info(e: ExperimentWithArms): ExperimentInfo {
  return {
    experimentId: e.id, promptKey: e.prompt_key, status: e.status, outcome: e.outcome,
    policy: resolvePolicy(e.policy, e.metric), createdAt: e.created_at,
    arms: e.arms.map((a) => ({ arm: a.arm, versionId: a.version_id, weight: Number(a.weight) })),
  };
}

export function experimentActivities(deps: ActivityDeps) {
  const { store, stats, temporal } = deps;
  return {
    /** Idempotent by key: a retry of the same cycle gets the same experiment back. */
    async createExperiment(input: {
      promptKey: string; variantVersionIds: string[]; policy?: Record<string, unknown>; weights?: number[];
      metric?: 'success' | 'rating'; idempotencyKey: string; workflowId?: string;
    }): Promise<ExperimentInfo> {
      try {
        resolvePolicy(input.policy);
      } catch (err) {
        throw ApplicationFailure.create({ type: 'InvalidPolicy', message: `policy: ${(err as Error).message}`, nonRetryable: true });
      }
      try {
        const e = await store.createExperiment({
          promptKey: input.promptKey, variantVersionIds: input.variantVersionIds, weights: input.weights, metric: input.metric,
          policy: input.policy, idempotencyKey: input.idempotencyKey, workflowId: input.workflowId,
        });
        if (e.created) stats.experimentsCreated++;
        return info(e);
      } catch (err) {
        if (err instanceof StoreConflictError) {
          throw ApplicationFailure.create({ type: 'LiveExperimentExists', message: err.message, nonRetryable: true });
        }
        return finalOnBadInput(() => Promise.reject(err));
      }
    },

    async loadExperiment(input: { experimentId: string }): Promise<ExperimentInfo> {
      return info(await finalOnBadInput(() => store.getExperiment(input.experimentId)));
    },

    /**
     * One monitoring check: aggregates in SQL, decides with the statistics engine, writes the
     * snapshot. A retry of the same check returns the decision already written, so a crash
     * between "decided" and "acted" never yields a different decision for that check.
     */
    async evaluateExperiment(input: { experimentId: string; checkNo: number }): Promise<Evaluation> {
      const exp = await finalOnBadInput(() => store.getExperiment(input.experimentId));
      const policy = resolvePolicy(exp.policy, exp.metric);
      const expiredAt = (at: string) => (Date.parse(at) - Date.parse(exp.created_at)) / 3_600_000 >= policy.maxDurationHours;
      const previous = await store.latestSnapshot(input.experimentId);
      // A retry of the check that was just written returns that decision. A monitor restarted
      // from scratch (reconcile) asks for check 1 of an experiment that has N: it continues at
      // N + 1 on fresh data instead of walking through old decisions.
      const checkNo = previous && previous.check_no > input.checkNo ? previous.check_no + 1 : input.checkNo;
      if (previous && previous.check_no === checkNo) {
        const arms = previous.arms as Array<{ n: number }>;
        return {
          checkNo, decision: previous.decision as unknown as Decision, conversations: arms.reduce((n, a) => n + a.n, 0),
          expired: expiredAt(previous.created_at), replayed: true,
        };
      }
      const arms = await withHeartbeat(store.experimentArmStats(input.experimentId));
      const elapsedHours = (deps.clock().getTime() - Date.parse(exp.created_at)) / 3_600_000;
      const memory = (previous?.memory ?? { pValues: {} }) as unknown as DecisionMemory;
      const out = decide({ arms, policy, memory, elapsedHours });
      const snap = await store.writeSnapshot({ experimentId: input.experimentId, checkNo, arms, decision: out.decision, memory: out.memory });
      return {
        checkNo, decision: snap.decision as unknown as Decision,
        conversations: arms.reduce((n, a) => n + a.n, 0), expired: expiredAt(snap.created_at), replayed: !snap.created,
      };
    },

    /** Atomic in SQL; a second call returns the first promotion ("created": false). */
    async promoteVariant(input: {
      experimentId: string; versionId: string; kind: 'auto' | 'approval' | 'manual'; actor: string; reason: string; decision?: Decision;
    }): Promise<PromotionResult> {
      const ev = await finalOnBadInput(() => store.promoteVariant(input));
      if (ev.created) stats.experimentsCompleted++;
      deps.logger.info({ experimentId: input.experimentId, to: ev.to_version_id, kind: ev.kind, created: ev.created }, 'variant promoted');
      return {
        eventId: ev.id, promptKey: ev.prompt_key, fromVersionId: ev.from_version_id, toVersionId: ev.to_version_id,
        kind: ev.kind, actor: ev.actor, created: ev.created,
      };
    },

    async concludeExperiment(input: {
      experimentId: string; outcome: Exclude<ExperimentOutcome, 'promoted'>; reason: string; decision?: Decision;
    }): Promise<{ outcome: ExperimentOutcome | null; created: boolean }> {
      const e = await finalOnBadInput(() => store.concludeExperiment(input));
      if (e.created) stats.experimentsCompleted++;
      return { outcome: e.outcome, created: e.created };
    },

    async setExperimentPaused(input: { experimentId: string; paused: boolean }): Promise<void> {
      await finalOnBadInput(() => store.setExperimentStatus(input.experimentId, input.paused ? 'paused' : 'running'));
    },

    async listLiveExperiments(input: { olderThanSeconds: number }): Promise<string[]> {
      const cutoff = deps.clock().getTime() - input.olderThanSeconds * 1000;
      const [running, paused] = await Promise.all([
        store.listExperiments({ status: 'running', limit: 500 }),
        store.listExperiments({ status: 'paused', limit: 500 }),
      ]);
      return [...running, ...paused].filter((e) => Date.parse(e.created_at) < cutoff).map((e) => e.id);
    },

    /**
     * Every live experiment must have a live monitor. Starts a missing one; a monitor that
     * closed while the database still says "live" is restarted and the experiment flagged stale.
     */
    async ensureMonitor(input: { experimentId: string }): Promise<'running' | 'started' | 'restarted' | 'concluded'> {
      const exp = await finalOnBadInput(() => store.getExperiment(input.experimentId));
      if (exp.status === 'concluded') return 'concluded';
      const workflowId = monitorWorkflowId(exp.id);
      let closed = false;
      try {
        const d = await temporal.client.workflow.getHandle(workflowId).describe();
        if (d.status.name === 'RUNNING') return 'running';
        closed = true;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      const res = await startMonitorWorkflow(temporal.client, temporal.taskQueue, exp.id);
      if (!res.started) return 'running';
      await store.setExperimentWorkflow(exp.id, workflowId, closed);
      deps.logger.warn({ experimentId: exp.id, closed }, 'experiment monitor (re)started by reconcile');
      return closed ? 'restarted' : 'started';
    },

    /** Claims pending job rows (SKIP LOCKED) and starts their workflows `job-<id>`. */
    async claimAndStartJobs(input: { max: number; leaseSeconds?: number }): Promise<Array<{ jobId: number; started: boolean }>> {
      const out: Array<{ jobId: number; started: boolean }> = [];
      for (let i = 0; i < input.max; i++) {
        const job = await store.claimNextJob(deps.workerId, input.leaseSeconds ?? 120);
        if (!job) break;
        const res = await startJobWorkflow(temporal.client, temporal.taskQueue, job.id);
        out.push({ jobId: job.id, started: res.started });
      }
      return out;
    },
  };
}
