import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Decision } from '../domain/types';
import type { PromotionResult, RolloutCheck } from '../activities';
import type { ReviewDecision } from '../domain/review';

/** Messages of experimentMonitor, shared by the workflow, the worker's HTTP API and the CLI. */
export type MonitorPhase = 'monitoring' | 'paused' | 'awaiting_approval' | 'concluding' | 'concluded';

export interface MonitorStatus {
  experimentId: string;
  phase: MonitorPhase;
  checks: number;
  lastDecision: Decision | null;
  pendingWinner: { arm: number; versionId: string } | null;
  outcome: string | null;
}

export interface StopRequest {
  reason?: string;
  actor?: string;
}

export interface ApprovalRequest {
  approver: string;
  note?: string;
  /** The version the approver reviewed; refused when it is no longer the pending winner. */
  versionId?: string;
}

export const statusQuery = defineQuery<MonitorStatus>('status');
export const stopSignal = defineSignal<[StopRequest]>('stop');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const approvePromotionUpdate = defineUpdate<PromotionResult, [ApprovalRequest]>('approvePromotion');

/** Messages of optimizationCycle while its variants wait for review (src/workflows/review.ts). */
export interface ReviewRequest {
  versionId: string;
  decision: ReviewDecision;
  reviewer: string;
  note?: string;
}

export interface ReviewResult {
  versionId: string;
  decision: ReviewDecision;
  reviewer: string;
  /** Versions of this cycle still waiting for a decision. */
  pending: string[];
}

export interface ReviewState {
  open: boolean;
  deadline: string;
  pending: string[];
  decisions: Array<{ versionId: string; decision: ReviewDecision; reviewer: string }>;
}

export const reviewVariantUpdate = defineUpdate<ReviewResult, [ReviewRequest]>('reviewVariant');
export const reviewStatusQuery = defineQuery<ReviewState>('review');

/** Messages of rolloutWatch (src/workflows/rollout.ts). */
export interface RolloutWatchStatus {
  rolloutId: string;
  checks: number;
  /** The latest check as the activity reported it (its action, reason, step and split). */
  last: RolloutCheck | null;
  /** Set when the rollout ended: completed or rolled_back. */
  outcome: 'completed' | 'rolled_back' | null;
}

export const rolloutStatusQuery = defineQuery<RolloutWatchStatus>('rolloutStatus');
/** An operator changed the rollout in the database (advance, hold, finish, rollback): check now. */
export const rolloutChangedSignal = defineSignal('rolloutChanged');
