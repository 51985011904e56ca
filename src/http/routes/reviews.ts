import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { Router } from 'express';
import { z } from 'zod';
import { workflowUrl } from '../../domain/ids';
import type { ReviewDecision } from '../../domain/review';
import type { VariantReviewRow } from '../../store';
import { reviewVariantUpdate, type ReviewResult } from '../../workflows/definitions';
import type { HttpDeps } from '../deps';
import { HttpError } from '../errors';
import { actor, limit, note, parse, promptKey, UuidParam } from '../validation';

const ListReviews = z.object({
  status: z.enum(['pending', 'accepted', 'rejected', 'expired', 'all']).default('pending'),
  promptKey: promptKey.optional(),
  limit,
});

const Decide = z.object({ reviewer: actor, note: note.optional() }).strict();

const DECISIONS: Record<'accept' | 'reject', ReviewDecision> = { accept: 'accepted', reject: 'rejected' };

/**
 * Admin: variants waiting for review before any traffic sees them (review before exposure).
 * A decision goes to the cycle that waits for it, as its `reviewVariant` update: the workflow
 * validates it against its own state and records it, so a decision exists only if the cycle took it.
 */
export function reviewsRouter(deps: HttpDeps): Router {
  const router = Router();
  const link = (workflowId: string) => workflowUrl(deps.uiUrl, deps.namespace, workflowId);
  const withLink = (r: VariantReviewRow) => ({ ...r, workflowUrl: link(r.workflow_id) });

  router.get('/reviews', async (req, res) => {
    const q = parse(ListReviews, req.query, 'query');
    const reviews = await deps.store.listVariantReviews({
      status: q.status === 'all' ? null : q.status,
      promptKey: q.promptKey,
      limit: q.limit,
    });
    res.json({ reviews: reviews.map(withLink) });
  });

  /** The pending review of a version, or the reason there is none (404 unknown, 409 already decided). */
  async function pendingReview(versionId: string): Promise<VariantReviewRow> {
    const reviews = await deps.store.listVariantReviews({ versionId, status: null });
    const pending = reviews.find((r) => r.status === 'pending');
    if (pending) return pending;
    if (reviews.length === 0) throw new HttpError(404, `version ${versionId} has no review`);
    throw new HttpError(409, `the review of version ${versionId} is already ${reviews[0]!.status}`);
  }

  async function sendDecision(review: VariantReviewRow, decision: ReviewDecision, body: z.infer<typeof Decide>): Promise<ReviewResult> {
    try {
      return await deps.client.workflow.getHandle(review.workflow_id).executeUpdate(reviewVariantUpdate, {
        args: [{ versionId: review.version_id, decision, reviewer: body.reviewer, note: body.note }],
      });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new HttpError(409, `the cycle waiting for this review (${review.workflow_id}) is not running`);
      if (err instanceof WorkflowUpdateFailedError)
        throw new HttpError(409, `cannot record the review: ${(err.cause as Error | undefined)?.message ?? err.message}`);
      throw err;
    }
  }

  for (const action of ['accept', 'reject'] as const) {
    router.post(`/reviews/:id/${action}`, async (req, res) => {
      const { id } = parse(UuidParam, req.params, 'params');
      const body = parse(Decide, req.body);
      const review = await pendingReview(id);
      const result = await sendDecision(review, DECISIONS[action], body);
      const [after] = await deps.store.listVariantReviews({ versionId: id, status: null });
      res.json({ result, review: after ? withLink(after) : null });
    });
  }

  return router;
}
