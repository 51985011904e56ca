import { resolvePolicy } from '../domain/policy';
import type { ArmStats, Decision, DecisionMemory } from '../domain/types';
import { decide } from '../stats';
import type { SnapshotRow } from '../store';
import type { ActivityDeps } from './deps';
import { finalOnBadInput, withHeartbeat } from './errors';

export interface Evaluation {
  checkNo: number;
  decision: Decision;
  conversations: number;
  /** The policy's maximum duration had passed when this check was taken. */
  expired: boolean;
  /** True when the decision was already recorded for this check (a retry after a crash). */
  replayed: boolean;
}

const HOUR_MS = 3_600_000;

const conversationsOf = (arms: ReadonlyArray<{ n: number }>) => arms.reduce((n, a) => n + a.n, 0);

/**
 * Which check this call takes. A retry of the check that was just written gets that check back.
 * A monitor restarted from scratch (reconcile) asks for check 1 of an experiment that has N: it
 * continues at N + 1 on fresh data instead of walking through old decisions.
 */
function checkNumber(requested: number, previous: SnapshotRow | null): number {
  return previous && previous.check_no > requested ? previous.check_no + 1 : requested;
}

export function evaluationActivities(deps: ActivityDeps) {
  const { store } = deps;
  return {
    /**
     * One monitoring check: aggregates in SQL, decides with the statistics engine, writes the
     * snapshot. A retry of the same check returns the decision already written, so a crash
     * between "decided" and "acted" never yields a different decision for that check.
     */
    async evaluateExperiment(input: { experimentId: string; checkNo: number }): Promise<Evaluation> {
      const exp = await finalOnBadInput(() => store.getExperiment(input.experimentId));
      const policy = resolvePolicy(exp.policy, exp.metric);
      const expiredAt = (at: string) => (Date.parse(at) - Date.parse(exp.created_at)) / HOUR_MS >= policy.maxDurationHours;
      const previous = await store.latestSnapshot(input.experimentId);
      const checkNo = checkNumber(input.checkNo, previous);
      if (previous && previous.check_no === checkNo) {
        return {
          checkNo,
          decision: previous.decision as unknown as Decision,
          conversations: conversationsOf(previous.arms as unknown as ArmStats[]),
          expired: expiredAt(previous.created_at),
          replayed: true,
        };
      }
      // latencySlow counts conversations slower than control's p95 plus the guardrail margin.
      const arms = await withHeartbeat(
        store.experimentArmStats(input.experimentId, {
          latencyFactor: 1 + policy.guardrails.latencyP95Margin,
          recentHours: policy.recentWindowHours,
        }),
      );
      const elapsedHours = (deps.clock().getTime() - Date.parse(exp.created_at)) / HOUR_MS;
      const memory = (previous?.memory ?? { pValues: {} }) as unknown as DecisionMemory;
      const out = await finalOnBadInput(() => decide({ arms, policy, memory, elapsedHours }));
      const snap = await store.writeSnapshot({
        experimentId: input.experimentId,
        checkNo,
        arms,
        decision: out.decision,
        memory: out.memory,
      });
      return {
        checkNo,
        decision: snap.decision as unknown as Decision,
        conversations: conversationsOf(arms),
        expired: expiredAt(snap.created_at),
        replayed: !snap.created,
      };
    },
  };
}
