import { allHandlersFinished, condition, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ReviewDecisionRecord } from '../activities';
import type { ReviewDecision } from '../domain/review';
import { reviewStatusQuery, reviewVariantUpdate, type ReviewRequest, type ReviewState } from './definitions';
import { db } from './proxies';

export interface ReviewOutcome {
  accepted: string[];
  rejected: string[];
  /** Undecided at the deadline: not exposed, left candidates for a later cycle to propose again. */
  expired: string[];
  decisions: Array<{ versionId: string; decision: ReviewDecision; reviewer: string }>;
  deadline: string;
}

/** Shape checks for an update a client could send by hand (the HTTP API checks more). */
function checkRequest(
  req: ReviewRequest,
  versionIds: readonly string[],
  decided: ReadonlyMap<string, ReviewDecisionRecord>,
  open: boolean,
): void {
  if (!open) throw new Error('the review of this cycle is closed (decided or expired)');
  if (!req || typeof req.versionId !== 'string' || !versionIds.includes(req.versionId)) {
    throw new Error(`version ${String(req?.versionId)} is not waiting for review in this cycle`);
  }
  if (req.decision !== 'accepted' && req.decision !== 'rejected') throw new Error('decision must be accepted or rejected');
  if (typeof req.reviewer !== 'string' || req.reviewer.trim() === '' || req.reviewer.length > 200)
    throw new Error('reviewer must be 1-200 characters');
  const prior = decided.get(req.versionId);
  if (prior && prior.decision !== req.decision)
    throw new Error(`version ${req.versionId} was already ${prior.decision} by ${prior.reviewer}`);
}

/**
 * A durable wait for an operator's decision on each version: the `reviewVariant` update records
 * one decision (through an idempotent activity), the `review` query tells what is left, and at
 * the deadline whatever is undecided expires. Updates that arrive after the wait closed are
 * refused by the validator, so they never reach the history.
 */
export async function awaitReview(input: { promptKey: string; versionIds: string[]; timeoutHours: number }): Promise<ReviewOutcome> {
  const { workflowId } = workflowInfo();
  const versionIds = input.versionIds;
  // Workflow time: replay-safe, the same on every replay.
  const deadline = new Date(new Date().getTime() + input.timeoutHours * 3_600_000).toISOString();
  await db.requestVariantReviews({ promptKey: input.promptKey, versionIds, workflowId, deadline });

  const decided = new Map<string, ReviewDecisionRecord>();
  let open = true;
  const pending = () => versionIds.filter((id) => !decided.has(id));
  const decisions = () => [...decided.values()].map(({ versionId, decision, reviewer }) => ({ versionId, decision, reviewer }));

  setHandler(reviewStatusQuery, (): ReviewState => ({ open, deadline, pending: pending(), decisions: decisions() }));
  setHandler(
    reviewVariantUpdate,
    async (req) => {
      const record = await db.decideVariantReview({ ...req, workflowId });
      if (!decided.has(record.versionId)) decided.set(record.versionId, record);
      return { versionId: record.versionId, decision: record.decision, reviewer: record.reviewer, pending: pending() };
    },
    { validator: (req) => checkRequest(req, versionIds, decided, open) },
  );

  await condition(() => decided.size === versionIds.length, input.timeoutHours * 3_600_000);
  open = false;
  // A decision in flight at the deadline still counts: its activity finishes first.
  await condition(allHandlersFinished);
  const expired = decided.size < versionIds.length ? (await db.expireVariantReviews({ workflowId })).expired : [];
  const ofKind = (kind: ReviewDecision) => versionIds.filter((id) => decided.get(id)?.decision === kind);
  return { accepted: ofKind('accepted'), rejected: ofKind('rejected'), expired, decisions: decisions(), deadline };
}
