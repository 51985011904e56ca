/**
 * The sample-ratio check of one look, and why it is sticky.
 *
 * Two always-valid tests run at every look: the arm totals against the configured weights, and
 * the topic mix per arm (see srm.ts). Both p-values are running minima carried in memory. Once
 * either falls to the policy's `srmPValue` the experiment is marked tripped for good: evidence
 * gathered while the assignment was broken cannot be trusted later just because the counts
 * drifted back into line, so a tripped experiment never promotes. An operator stops it or
 * restarts it as a new experiment once the assignment is fixed.
 */
import type { ArmStats, Decision, DecisionMemory, ExperimentPolicy, SrmTrip } from '../domain/types';
import { topicKey } from './counts';
import { balancePValue, srmSequentialPValue, srmTest } from './srm';

export interface SrmCheck {
  status: Decision['srm'];
  memory: NonNullable<DecisionMemory['srm']>;
}

/** Arm counts per topic, one vector per topic in arm order (arms without topics contribute 0). */
export function topicStrata(arms: readonly ArmStats[]): number[][] {
  const byTopic = new Map<string, number[]>();
  arms.forEach((arm, i) => {
    for (const t of arm.topics ?? []) {
      const key = topicKey(t.topic);
      const counts = byTopic.get(key) ?? arms.map(() => 0);
      counts[i] = (counts[i] ?? 0) + t.n;
      byTopic.set(key, counts);
    }
  });
  return [...byTopic.keys()].sort().map((key) => byTopic.get(key)!);
}

export function checkSrm(arms: readonly ArmStats[], policy: ExperimentPolicy, memory: DecisionMemory, elapsedHours: number): SrmCheck {
  const counts = arms.map((a) => a.n);
  const weights = arms.map((a) => a.weight);
  const pearson = srmTest(counts, weights);
  const previous = memory.srm ?? { countsP: 1, topicsP: 1 };
  const countsP = Math.min(previous.countsP, srmSequentialPValue(counts, weights));
  const topicsP = Math.min(previous.topicsP, balancePValue(topicStrata(arms), weights));
  let tripped: SrmTrip | undefined = previous.tripped;
  if (!tripped && countsP <= policy.srmPValue) tripped = { test: 'counts', pValue: countsP, atHours: elapsedHours };
  else if (!tripped && topicsP <= policy.srmPValue) tripped = { test: 'topics', pValue: topicsP, atHours: elapsedHours };
  return {
    status: {
      chiSquare: pearson.chiSquare,
      pValue: pearson.pValue,
      mismatch: tripped !== undefined,
      sequentialPValue: countsP,
      balancePValue: topicsP,
      ...(tripped ? { tripped } : {}),
    },
    memory: { countsP, topicsP, ...(tripped ? { tripped } : {}) },
  };
}
