import type { ReviewDecision } from '../domain/review';
import type { ActivityDeps } from './deps';
import { finalOnBadInput } from './errors';

/** One recorded decision, as the cycle workflow keeps it (no prompt text: histories stay small). */
export interface ReviewDecisionRecord {
  versionId: string;
  decision: ReviewDecision;
  reviewer: string;
  /** False when the same decision had been recorded before (a retried update). */
  created: boolean;
}

/**
 * The database side of review before exposure. Each step is idempotent in SQL (a retried request
 * finds its rows, a repeated decision is a no-op), so Temporal's retries duplicate nothing.
 */
export function reviewActivities(deps: ActivityDeps) {
  const { store } = deps;
  return {
    async requestVariantReviews(input: {
      promptKey: string;
      versionIds: string[];
      workflowId: string;
      deadline: string;
    }): Promise<{ requested: number }> {
      const rows = await finalOnBadInput(() => store.requestVariantReviews({ ...input, deadline: new Date(input.deadline) }));
      deps.logger.info({ promptKey: input.promptKey, versions: input.versionIds, deadline: input.deadline }, 'variants wait for review');
      return { requested: rows.length };
    },

    async decideVariantReview(input: {
      versionId: string;
      workflowId: string;
      decision: ReviewDecision;
      reviewer: string;
      note?: string;
    }): Promise<ReviewDecisionRecord> {
      const row = await finalOnBadInput(() => store.decideVariantReview(input));
      deps.logger.info(
        { promptKey: row.prompt_key, versionId: row.version_id, decision: row.status, reviewer: row.decided_by },
        'variant reviewed',
      );
      return { versionId: row.version_id, decision: input.decision, reviewer: row.decided_by ?? input.reviewer, created: row.created };
    },

    async expireVariantReviews(input: { workflowId: string }): Promise<{ expired: string[] }> {
      const rows = await finalOnBadInput(() => store.expireVariantReviews(input.workflowId));
      if (rows.length > 0)
        deps.logger.warn({ workflowId: input.workflowId, versions: rows.map((r) => r.version_id) }, 'variant reviews expired');
      return { expired: rows.map((r) => r.version_id) };
    },
  };
}
