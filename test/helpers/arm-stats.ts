import type { ArmStats, TopicStats } from '../../src/domain/types';

/** An arm's statistics as SQL reports them: no ratings, errors or telemetry unless given. */
export function armStats(index: number, n: number, successes: number, extra: Partial<ArmStats> = {}): ArmStats {
  return {
    arm: index,
    versionId: `v${index}`,
    weight: 1,
    n,
    successes,
    ratingN: 0,
    ratingSum: 0,
    ratingSumSq: 0,
    errors: 0,
    latencyP95: null,
    tokensMean: null,
    ...extra,
  };
}

/** One topic's counts within an arm (no ratings, no errors). */
export function topicStats(topic: string | null, n: number, successes: number): TopicStats {
  return { topic, n, successes, ratingN: 0, ratingSum: 0, ratingSumSq: 0, errors: 0 };
}

/** An arm made of its topics: the totals are the topics' sums. */
export function armOfTopics(index: number, topics: TopicStats[]): ArmStats {
  const n = topics.reduce((s, t) => s + t.n, 0);
  const successes = topics.reduce((s, t) => s + t.successes, 0);
  return armStats(index, n, successes, { topics });
}
