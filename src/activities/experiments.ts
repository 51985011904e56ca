import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE } from '../domain/failures';
import { resolvePolicy, type PolicyOverrides } from '../domain/policy';
import type { Decision, ExperimentPolicy } from '../domain/types';
import { StoreConflictError, type ExperimentOutcome, type ExperimentWithArms } from '../store';
import type { ActivityDeps } from './deps';
import { finalOnBadInput } from './errors';

export interface ExperimentInfo {
  experimentId: string;
  promptKey: string;
  status: ExperimentWithArms['status'];
  outcome: ExperimentOutcome | null;
  policy: ExperimentPolicy;
  createdAt: string;
  arms: Array<{ arm: number; versionId: string; weight: number }>;
}

export interface PromotionResult {
  eventId: string;
  promptKey: string;
  fromVersionId: string | null;
  toVersionId: string;
  kind: string;
  actor: string;
  created: boolean;
  /** The guarded rollout the promotion started (absent for the instant switch). */
  rolloutId?: string | null;
}

export interface CreateExperimentInput {
  promptKey: string;
  variantVersionIds: string[];
  policy?: PolicyOverrides;
  weights?: number[];
  metric?: 'success' | 'rating';
  idempotencyKey: string;
  workflowId?: string;
}

export function experimentInfo(e: ExperimentWithArms): ExperimentInfo {
  return {
    experimentId: e.id,
    promptKey: e.prompt_key,
    status: e.status,
    outcome: e.outcome,
    policy: resolvePolicy(e.policy, e.metric),
    createdAt: e.created_at,
    arms: e.arms.map((a) => ({ arm: a.arm, versionId: a.version_id, weight: Number(a.weight) })),
  };
}

/** A policy the store would accept but the engine cannot use is refused before anything is written. */
function assertValidPolicy(policy: PolicyOverrides | undefined): void {
  try {
    resolvePolicy(policy);
  } catch (err) {
    throw ApplicationFailure.create({ type: FAILURE.InvalidPolicy, message: `policy: ${(err as Error).message}`, nonRetryable: true });
  }
}

/** Creating, promoting and concluding experiments: each one SQL function, idempotent there. */
export function experimentActivities(deps: ActivityDeps) {
  const { store, counters } = deps;
  return {
    /** Idempotent by key: a retry of the same cycle gets the same experiment back. */
    async createExperiment(input: CreateExperimentInput): Promise<ExperimentInfo> {
      assertValidPolicy(input.policy);
      try {
        const e = await store.createExperiment(input);
        if (e.created) counters.experimentsCreated++;
        return experimentInfo(e);
      } catch (err) {
        if (err instanceof StoreConflictError) {
          throw ApplicationFailure.create({ type: FAILURE.LiveExperimentExists, message: err.message, nonRetryable: true });
        }
        return finalOnBadInput(() => Promise.reject(err));
      }
    },

    async loadExperiment(input: { experimentId: string }): Promise<ExperimentInfo> {
      return experimentInfo(await finalOnBadInput(() => store.getExperiment(input.experimentId)));
    },

    /** Atomic in SQL; a second call returns the first promotion ("created": false). */
    async promoteVariant(input: {
      experimentId: string;
      versionId: string;
      kind: 'auto' | 'approval' | 'manual';
      actor: string;
      reason: string;
      decision?: Decision;
    }): Promise<PromotionResult> {
      // The experiment's rollout plan goes with the promotion: both start in one transaction.
      const exp = await finalOnBadInput(() => store.getExperiment(input.experimentId));
      const { rollout } = resolvePolicy(exp.policy, exp.metric);
      const ev = await finalOnBadInput(() => store.promoteVariant({ ...input, rollout }));
      if (ev.created) counters.experimentsCompleted++;
      deps.logger.info({ experimentId: input.experimentId, to: ev.to_version_id, kind: ev.kind, created: ev.created }, 'variant promoted');
      return {
        eventId: ev.id,
        promptKey: ev.prompt_key,
        fromVersionId: ev.from_version_id,
        toVersionId: ev.to_version_id,
        kind: ev.kind,
        actor: ev.actor,
        created: ev.created,
        rolloutId: ev.rollout?.id ?? null,
      };
    },

    async concludeExperiment(input: {
      experimentId: string;
      outcome: Exclude<ExperimentOutcome, 'promoted'>;
      reason: string;
      decision?: Decision;
    }): Promise<{ outcome: ExperimentOutcome | null; created: boolean }> {
      const e = await finalOnBadInput(() => store.concludeExperiment(input));
      if (e.created) counters.experimentsCompleted++;
      return { outcome: e.outcome, created: e.created };
    },

    async setExperimentPaused(input: { experimentId: string; paused: boolean }): Promise<void> {
      await finalOnBadInput(() => store.setExperimentStatus(input.experimentId, input.paused ? 'paused' : 'running'));
    },
  };
}
