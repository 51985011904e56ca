import { ChildWorkflowFailure, executeChild, ParentClosePolicy, patched, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { AnalysisSummary, GeneratedVariants } from '../activities';
import { FAILURE, failureType } from '../domain/failures';
import { monitorWorkflowId } from '../domain/ids';
import type { PolicyOverrides } from '../domain/policy';
import { DEFAULT_REVIEW_TIMEOUT_HOURS, reviewRequired } from '../domain/review';
import { db, generation, heavy } from './proxies';
import { experimentMonitor, type MonitorResult } from './monitor';
import { awaitReview, type ReviewOutcome } from './review';

export interface CycleInput {
  promptKey: string;
  variantCount?: number;
  strategy?: 'rules' | 'llm';
  /** Run even when the analysis finds nothing actionable (e.g. a human asked for it). */
  force?: boolean;
  /** Experiment policy overrides (see ExperimentPolicy). */
  policy?: PolicyOverrides;
  /** Analysis already done by the caller (the hourly sweep), to avoid running it twice. */
  analysis?: AnalysisSummary;
  /** Variants wait for an operator's review before any traffic sees them. Default: on for `llm`, off for `rules`. */
  review?: boolean;
  /** How long the review may take; undecided variants are then not exposed. Default 72. */
  reviewTimeoutHours?: number;
}

export interface CycleResult {
  promptKey: string;
  outcome:
    | 'no_action'
    | 'no_variants'
    | 'review_rejected'
    | 'review_expired'
    | 'experiment_exists'
    | 'monitor_elsewhere'
    | MonitorResult['outcome'];
  analysis: AnalysisSummary;
  variants?: Pick<GeneratedVariants, 'versionIds' | 'rejected' | 'strategy'>;
  /** Present when the variants waited for review. */
  review?: ReviewOutcome;
  experimentId?: string;
  monitor?: MonitorResult;
}

/** Marks histories that know about review before exposure (cycles started before it replay without it). */
export const REVIEW_PATCH = 'variant-review-before-exposure';

/**
 * The whole optimization cycle for one prompt key: analyze -> generate -> (review) -> create experiment ->
 * monitor (child workflow `experiment-<id>`, abandoned on parent close so a cancelled cycle never
 * orphans a live experiment without its monitor) -> result.
 */
export async function optimizationCycle(input: CycleInput): Promise<CycleResult> {
  const { promptKey } = input;
  const analysis = input.analysis ?? (await heavy.analyzePatterns({ promptKey }));
  if (analysis.actionable === 0 && !input.force) {
    return { promptKey, outcome: 'no_action', analysis };
  }

  const generated = await generation.generateVariants({ promptKey, count: input.variantCount ?? 2, strategy: input.strategy });
  const variants = { versionIds: generated.versionIds, rejected: generated.rejected, strategy: generated.strategy };
  if (generated.versionIds.length === 0) {
    return { promptKey, outcome: 'no_variants', analysis, variants };
  }

  let variantVersionIds = generated.versionIds;
  let review: ReviewOutcome | undefined;
  // patched() only on this branch: with review off the commands are exactly those of before.
  if (reviewRequired(input.review, generated.strategy) && patched(REVIEW_PATCH)) {
    review = await awaitReview({
      promptKey,
      versionIds: variantVersionIds,
      timeoutHours: input.reviewTimeoutHours ?? DEFAULT_REVIEW_TIMEOUT_HOURS,
    });
    variantVersionIds = review.accepted;
    if (variantVersionIds.length === 0) {
      return { promptKey, outcome: review.expired.length > 0 ? 'review_expired' : 'review_rejected', analysis, variants, review };
    }
  }

  const info = workflowInfo();
  let experimentId: string;
  try {
    const exp = await db.createExperiment({
      promptKey,
      variantVersionIds,
      policy: input.policy,
      idempotencyKey: `${info.workflowId}/${info.firstExecutionRunId}`,
      workflowId: info.workflowId,
    });
    experimentId = exp.experimentId;
  } catch (err) {
    if (failureType(err) === FAILURE.LiveExperimentExists) return { promptKey, outcome: 'experiment_exists', analysis, variants, review };
    throw err;
  }

  try {
    const monitor = await executeChild(experimentMonitor, {
      workflowId: monitorWorkflowId(experimentId),
      args: [{ experimentId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    return { promptKey, outcome: monitor.outcome, analysis, variants, review, experimentId, monitor };
  } catch (err) {
    // The reconcile schedule may have started the monitor first: it owns the experiment now.
    if (
      err instanceof WorkflowExecutionAlreadyStartedError ||
      (err instanceof ChildWorkflowFailure && err.cause instanceof WorkflowExecutionAlreadyStartedError)
    ) {
      return { promptKey, outcome: 'monitor_elsewhere', analysis, variants, review, experimentId };
    }
    throw err;
  }
}
