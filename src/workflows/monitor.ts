import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, continueAsNew, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Evaluation, PromotionResult } from '../activities';
import { FAILURE } from '../domain/failures';
import type { Decision } from '../domain/types';
import { db, heavy } from './proxies';
import {
  approvePromotionUpdate, pauseSignal, resumeSignal, statusQuery, stopSignal,
  type ApprovalRequest, type MonitorStatus, type StopRequest,
} from './definitions';

export interface MonitorInput {
  experimentId: string;
  /** State carried across continue-as-new. */
  carried?: { checks: number; paused: boolean; pendingWinner: MonitorStatus['pendingWinner']; lastDecision: Decision | null };
}

export interface MonitorResult {
  experimentId: string;
  outcome: 'promoted' | 'kept_control' | 'stopped' | 'guardrail_stop' | 'timed_out' | 'already_concluded';
  checks: number;
  promotion?: PromotionResult;
  decision: Decision | null;
}

/**
 * One check. A check whose activity exhausted its retries (a database down for longer than the
 * retry budget) is skipped: the experiment is watched for days, and the next check comes at the
 * next interval. Final errors (the experiment is gone, bad data) still end the workflow.
 */
async function evaluateOrSkip(experimentId: string, checkNo: number): Promise<Evaluation | undefined> {
  try {
    return await heavy.evaluateExperiment({ experimentId, checkNo });
  } catch (err) {
    const final = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.nonRetryable;
    if (final || !(err instanceof ActivityFailure)) throw err;
    log.warn('check skipped: evaluation kept failing; retrying at the next interval', { experimentId, checkNo, error: err.message });
    return undefined;
  }
}

/**
 * Watches one experiment until it ends: a durable timer per check (the policy's interval),
 * a snapshot per check, the decision engine in the evaluate activity (so the statistics can
 * change without changing this workflow), promotion at most once (SQL is idempotent too).
 */
export async function experimentMonitor(input: MonitorInput): Promise<MonitorResult> {
  const { experimentId } = input;
  const carried = input.carried;
  const status: MonitorStatus = {
    experimentId, phase: carried?.paused ? 'paused' : carried?.pendingWinner ? 'awaiting_approval' : 'monitoring',
    checks: carried?.checks ?? 0, lastDecision: carried?.lastDecision ?? null, pendingWinner: carried?.pendingWinner ?? null,
    outcome: null,
  };
  let stopRequest: StopRequest | undefined;
  let pauseWanted = status.phase === 'paused';
  /** An accepted approval, pinned to the version the approver saw. */
  let approval: (ApprovalRequest & { versionId: string }) | undefined;
  let approvalOutcome: { promotion: PromotionResult } | { error: string } | undefined;
  let finished = false;
  let wake = false;
  // Read through a function: TypeScript cannot see the main loop assign it while the handler awaits.
  const currentApprovalOutcome = () => approvalOutcome;

  setHandler(statusQuery, () => status);
  setHandler(stopSignal, (req) => {
    stopRequest = req ?? {};
    wake = true;
  });
  setHandler(pauseSignal, () => {
    pauseWanted = true;
    wake = true;
  });
  setHandler(resumeSignal, () => {
    pauseWanted = false;
    wake = true;
  });
  setHandler(
    approvePromotionUpdate,
    async (req) => {
      approval = { ...req, versionId: req.versionId ?? status.pendingWinner!.versionId };
      approvalOutcome = undefined;
      wake = true;
      await condition(() => approvalOutcome !== undefined || finished);
      const outcome = currentApprovalOutcome();
      if (outcome && 'promotion' in outcome) return outcome.promotion;
      // An ApplicationFailure fails the update, not the workflow task.
      throw ApplicationFailure.nonRetryable(
        outcome?.error ?? `the experiment ended (${status.outcome ?? 'concluded'}) before the approval took effect`,
        FAILURE.ApprovalSuperseded,
      );
    },
    {
      validator: (req) => {
        if (status.phase !== 'awaiting_approval' || !status.pendingWinner) {
          throw new Error(`nothing awaits approval (experiment is ${status.phase})`);
        }
        if (stopRequest) throw new Error('the experiment is being stopped');
        if (approval) throw new Error('promotion already approved');
        if (!req || typeof req.approver !== 'string' || req.approver.trim() === '') throw new Error('approver is required');
        if (req.versionId !== undefined && req.versionId !== status.pendingWinner.versionId) {
          throw new Error(`the pending winner is version ${status.pendingWinner.versionId}, not ${req.versionId}`);
        }
      },
    },
  );

  const finish = async (result: Omit<MonitorResult, 'experimentId' | 'checks' | 'decision'>): Promise<MonitorResult> => {
    status.phase = 'concluded';
    status.outcome = result.outcome;
    finished = true;
    await condition(allHandlersFinished);
    return { experimentId, checks: status.checks, decision: status.lastDecision, ...result };
  };

  const conclude = async (outcome: 'kept_control' | 'stopped' | 'guardrail_stop' | 'timed_out', reason: string) => {
    status.phase = 'concluding';
    status.pendingWinner = null;
    await db.concludeExperiment({ experimentId, outcome, reason, decision: status.lastDecision ?? undefined });
    return finish({ outcome });
  };

  const promote = async (versionId: string, kind: 'auto' | 'approval', actor: string, reason: string) => {
    status.phase = 'concluding';
    const promotion = await db.promoteVariant({ experimentId, versionId, kind, actor, reason, decision: status.lastDecision ?? undefined });
    if (kind === 'approval') approvalOutcome = { promotion };
    return finish({ outcome: 'promoted', promotion });
  };

  const exp = await db.loadExperiment({ experimentId });
  if (exp.status === 'concluded') return finish({ outcome: 'already_concluded' });
  if (!carried && exp.status === 'paused') {
    // A monitor (re)started for a paused experiment stays paused until resumed.
    status.phase = 'paused';
    pauseWanted = true;
  }
  const intervalMs = exp.policy.checkIntervalSeconds * 1000;

  for (;;) {
    const timedOut = !(await condition(() => wake, intervalMs));
    wake = false;

    if (stopRequest) {
      return conclude('stopped', stopRequest.reason ?? `stopped by ${stopRequest.actor ?? 'an operator'}`);
    }
    if (approval) {
      const a = approval;
      approval = undefined;
      if (status.phase === 'awaiting_approval' && status.pendingWinner?.versionId === a.versionId) {
        return promote(a.versionId, 'approval', a.approver, a.note ?? status.lastDecision?.reason ?? 'approved');
      }
      approvalOutcome = { error: 'the evidence changed before the approval took effect (the pending winner moved); review and approve again' };
    }
    const paused = status.phase === 'paused';
    if (pauseWanted !== paused) {
      await db.setExperimentPaused({ experimentId, paused: pauseWanted });
      status.phase = pauseWanted ? 'paused' : status.pendingWinner ? 'awaiting_approval' : 'monitoring';
    }

    const ev = timedOut && status.phase !== 'paused' ? await evaluateOrSkip(experimentId, status.checks + 1) : undefined;
    if (ev) {
      status.checks = ev.checkNo;
      const d = ev.decision;
      status.lastDecision = d;
      if (d.action === 'stop_guardrail') return conclude('guardrail_stop', d.reason);
      if (d.action === 'keep_control') return conclude(ev.expired ? 'timed_out' : 'kept_control', d.reason);
      if (status.phase === 'awaiting_approval') {
        // While a human decides, the pending winner follows the latest evidence; evidence that
        // no longer supports a promotion withdraws it, and the policy's maximum duration ends it.
        if (ev.expired) return conclude('timed_out', `maximum duration reached while awaiting approval: ${d.reason}`);
        if (d.action === 'promote' && d.winner) status.pendingWinner = d.winner;
        else {
          status.pendingWinner = null;
          status.phase = 'monitoring';
        }
      } else if (d.action === 'promote' && d.winner) {
        if (!exp.policy.requireApproval) return promote(d.winner.versionId, 'auto', 'optimizer', d.reason);
        status.phase = 'awaiting_approval';
        status.pendingWinner = d.winner;
        log.info('promotion awaits approval', { experimentId, versionId: d.winner.versionId });
      }
    }

    // Signals that arrived during this iteration are handled before continuing as new.
    if (workflowInfo().continueAsNewSuggested && !approval && !stopRequest && !wake) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof experimentMonitor>({
        experimentId,
        carried: { checks: status.checks, paused: status.phase === 'paused', pendingWinner: status.pendingWinner, lastDecision: status.lastDecision },
      });
    }
  }
}
