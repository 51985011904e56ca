import type { ActivityDeps } from './deps';
import { finalOnBadInput, withHeartbeat } from './errors';

export interface AnalysisSummary {
  promptKey: string;
  versionId: string;
  conversations: number;
  successRate: number | null;
  insights: number;
  actionable: number;
  kinds: string[];
}

export interface TrafficKey {
  promptKey: string;
  conversations: number;
  liveExperiment: boolean;
}

export function analysisActivities(deps: ActivityDeps) {
  const { store, counters } = deps;
  return {
    /** Aggregates in SQL and upserts insights by fingerprint: re-running updates, never duplicates. */
    async analyzePatterns(input: { promptKey: string; windowHours?: number }): Promise<AnalysisSummary> {
      const result = await finalOnBadInput(() =>
        withHeartbeat(store.analyzePrompt(input.promptKey, { windowHours: input.windowHours ?? deps.analysisWindowHours })),
      );
      counters.patternsAnalyzed += result.insights.length;
      deps.logger.info(
        { promptKey: input.promptKey, insights: result.insights.length, actionable: result.actionable },
        'patterns analyzed',
      );
      return {
        promptKey: result.prompt_key,
        versionId: result.version_id,
        conversations: result.overall.n,
        successRate: result.overall.success_rate,
        insights: result.insights.length,
        actionable: result.actionable,
        kinds: result.insights.map((i) => (i.segment ? `${i.kind}:${i.segment}` : i.kind)),
      };
    },

    async listPromptKeysWithTraffic(input: { sinceHours: number; minConversations?: number }): Promise<TrafficKey[]> {
      const since = new Date(deps.clock().getTime() - input.sinceHours * 3_600_000);
      const rows = await finalOnBadInput(() => store.promptKeysWithTraffic(since, input.minConversations));
      return rows.map((r) => ({ promptKey: r.prompt_key, conversations: r.conversations, liveExperiment: r.live_experiment }));
    },
  };
}
