import { ApplicationFailure } from '@temporalio/workflow';
import type { Evaluation, PromotionResult } from '../activities';
import { FAILURE } from '../domain/failures';
import type { Decision } from '../domain/types';
import type { ApprovalRequest, MonitorStatus, StopRequest } from './definitions';

export type MonitorOutcome = 'promoted' | 'kept_control' | 'stopped' | 'guardrail_stop' | 'timed_out' | 'already_concluded';
export type ConcludedOutcome = Exclude<MonitorOutcome, 'promoted' | 'already_concluded'>;

/** State carried across continue-as-new. */
export interface CarriedState {
  checks: number;
  paused: boolean;
  pendingWinner: MonitorStatus['pendingWinner'];
  lastDecision: Decision | null;
}

/** What the monitor's loop does next; the workflow runs the activity the step names. */
export type Step =
  | { kind: 'none' }
  | { kind: 'conclude'; outcome: ConcludedOutcome; reason: string }
  | { kind: 'promote'; versionId: string; via: 'auto' | 'approval'; actor: string; reason: string }
  | { kind: 'await_approval'; versionId: string };

const NONE: Step = { kind: 'none' };

/** An accepted approval, pinned to the version the approver saw. */
type PinnedApproval = ApprovalRequest & { versionId: string };

type ApprovalOutcome = { promotion: PromotionResult } | { error: string };

/**
 * The monitor's state and the rules that move it, one method per event (a message from an
 * operator, a woken loop, a check's evaluation). No Temporal commands are issued here: the
 * workflow (monitor.ts) owns the timer loop, the activity calls and continue-as-new, so the order
 * of commands that recorded histories replay against stays in one readable place.
 */
export class MonitorState {
  readonly status: MonitorStatus;
  private stopRequest: StopRequest | undefined;
  private pauseWanted: boolean;
  private approval: PinnedApproval | undefined;
  private approvalOutcome: ApprovalOutcome | undefined;
  private finished = false;
  private woken = false;

  constructor(experimentId: string, carried?: CarriedState) {
    this.status = {
      experimentId,
      phase: carried?.paused ? 'paused' : carried?.pendingWinner ? 'awaiting_approval' : 'monitoring',
      checks: carried?.checks ?? 0,
      lastDecision: carried?.lastDecision ?? null,
      pendingWinner: carried?.pendingWinner ?? null,
      outcome: null,
    };
    this.pauseWanted = this.status.phase === 'paused';
  }

  // --- messages ------------------------------------------------------------------------------

  requestStop(req: StopRequest | undefined): void {
    this.stopRequest = req ?? {};
    this.woken = true;
  }

  requestPause(paused: boolean): void {
    this.pauseWanted = paused;
    this.woken = true;
  }

  /** Throws (rejecting the update before it enters history) unless an approval can be taken now. */
  validateApproval(req: ApprovalRequest | undefined): void {
    const pending = this.status.pendingWinner;
    if (this.status.phase !== 'awaiting_approval' || !pending)
      throw new Error(`nothing awaits approval (experiment is ${this.status.phase})`);
    if (this.stopRequest) throw new Error('the experiment is being stopped');
    if (this.approval) throw new Error('promotion already approved');
    if (!req || typeof req.approver !== 'string' || req.approver.trim() === '') throw new Error('approver is required');
    if (req.versionId !== undefined && req.versionId !== pending.versionId) {
      throw new Error(`the pending winner is version ${pending.versionId}, not ${req.versionId}`);
    }
  }

  acceptApproval(req: ApprovalRequest): void {
    this.approval = { ...req, versionId: req.versionId ?? this.status.pendingWinner!.versionId };
    this.approvalOutcome = undefined;
    this.woken = true;
  }

  /** The approval update may answer: the loop acted on it, or the monitor ended first. */
  approvalSettled(): boolean {
    return this.approvalOutcome !== undefined || this.finished;
  }

  /** The update's answer; an ApplicationFailure fails the update, not the workflow task. */
  approvalResult(): PromotionResult {
    const outcome = this.approvalOutcome;
    if (outcome && 'promotion' in outcome) return outcome.promotion;
    throw ApplicationFailure.nonRetryable(
      outcome?.error ?? `the experiment ended (${this.status.outcome ?? 'concluded'}) before the approval took effect`,
      FAILURE.ApprovalSuperseded,
    );
  }

  // --- the loop ------------------------------------------------------------------------------

  /** A monitor (re)started for an experiment the database says is paused stays paused until resumed. */
  adoptStoredStatus(status: string, carried: boolean): void {
    if (carried || status !== 'paused') return;
    this.status.phase = 'paused';
    this.pauseWanted = true;
  }

  isWoken(): boolean {
    return this.woken;
  }

  consumeWake(): void {
    this.woken = false;
  }

  /** Operator messages first: a stop wins; then an approval, if it still matches the pending winner. */
  stepForMessages(): Step {
    if (this.stopRequest) {
      return {
        kind: 'conclude',
        outcome: 'stopped',
        reason: this.stopRequest.reason ?? `stopped by ${this.stopRequest.actor ?? 'an operator'}`,
      };
    }
    const a = this.approval;
    if (!a) return NONE;
    this.approval = undefined;
    if (this.status.phase === 'awaiting_approval' && this.status.pendingWinner?.versionId === a.versionId) {
      return {
        kind: 'promote',
        versionId: a.versionId,
        via: 'approval',
        actor: a.approver,
        reason: a.note ?? this.status.lastDecision?.reason ?? 'approved',
      };
    }
    this.approvalOutcome = {
      error: 'the evidence changed before the approval took effect (the pending winner moved); review and approve again',
    };
    return NONE;
  }

  /** The paused state to write to the database, when the operator changed it. */
  pauseToApply(): boolean | undefined {
    return this.pauseWanted !== (this.status.phase === 'paused') ? this.pauseWanted : undefined;
  }

  pauseApplied(paused: boolean): void {
    this.status.phase = paused ? 'paused' : this.status.pendingWinner ? 'awaiting_approval' : 'monitoring';
  }

  /** A check is due when the interval passed without a message, unless paused. */
  shouldEvaluate(timedOut: boolean): boolean {
    return timedOut && this.status.phase !== 'paused';
  }

  /**
   * One check's decision. While a human decides, the pending winner follows the latest evidence;
   * evidence that no longer supports a promotion withdraws it, and the maximum duration ends it.
   */
  stepForEvaluation(ev: Evaluation, requireApproval: boolean): Step {
    const d = ev.decision;
    this.status.checks = ev.checkNo;
    this.status.lastDecision = d;
    if (d.action === 'stop_guardrail') return { kind: 'conclude', outcome: 'guardrail_stop', reason: d.reason };
    if (d.action === 'keep_control') return { kind: 'conclude', outcome: ev.expired ? 'timed_out' : 'kept_control', reason: d.reason };
    const winner = d.action === 'promote' ? d.winner : undefined;
    if (this.status.phase === 'awaiting_approval') {
      if (ev.expired)
        return { kind: 'conclude', outcome: 'timed_out', reason: `maximum duration reached while awaiting approval: ${d.reason}` };
      if (winner) this.status.pendingWinner = winner;
      else {
        this.status.pendingWinner = null;
        this.status.phase = 'monitoring';
      }
      return NONE;
    }
    if (!winner) return NONE;
    if (!requireApproval) return { kind: 'promote', versionId: winner.versionId, via: 'auto', actor: 'optimizer', reason: d.reason };
    this.status.phase = 'awaiting_approval';
    this.status.pendingWinner = winner;
    return { kind: 'await_approval', versionId: winner.versionId };
  }

  beginConcluding(step: Extract<Step, { kind: 'conclude' | 'promote' }>): void {
    this.status.phase = 'concluding';
    if (step.kind === 'conclude') this.status.pendingWinner = null;
  }

  promoted(promotion: PromotionResult, via: 'auto' | 'approval'): void {
    if (via === 'approval') this.approvalOutcome = { promotion };
  }

  finish(outcome: MonitorOutcome): void {
    this.status.phase = 'concluded';
    this.status.outcome = outcome;
    this.finished = true;
  }

  /** Signals that arrived during this iteration are handled before continuing as new. */
  canContinueAsNew(): boolean {
    return !this.approval && !this.stopRequest && !this.woken;
  }

  carried(): CarriedState {
    const s = this.status;
    return { checks: s.checks, paused: s.phase === 'paused', pendingWinner: s.pendingWinner, lastDecision: s.lastDecision };
  }
}
