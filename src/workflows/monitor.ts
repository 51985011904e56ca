import { ActivityFailure, allHandlersFinished, ApplicationFailure, condition, continueAsNew, log, setHandler, workflowInfo } from '@temporalio/workflow';
import type { Evaluation, PromotionResult } from '../activities';
import type { Decision } from '../domain/types';
import { db, heavy } from './activities';
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
  const status: MonitorStatus = {
    experimentId, phase: input.carried?.paused ? 'paused' : 'monitoring', checks: input.carried?.checks ?? 0,
    lastDecision: input.carried?.lastDecision ?? null, pendingWinner: input.carried?.pendingWinner ?? null, outcome: null,
  };
  if (status.pendingWinner) status.phase = 'awaiting_approval';
  let stopRequest: StopRequest | undefined;
  let pauseWanted = status.phase === 'paused';
  let approval: ApprovalRequest | undefined;
  let promotion: PromotionResult | undefined;
  let finished = false;
  let wake = false;

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
      approval = req;
      wake = true;
      await condition(() => finished);
      if (!promotion) throw new Error('the experiment ended without promotion before the approval took effect');
      return promotion;
    },
    {
      validator: (req) => {
        if (status.phase !== 'awaiting_approval' || !status.pendingWinner) {
          throw new Error(`nothing awaits approval (experiment is ${status.phase})`);
        }
        if (approval) throw new Error('promotion already approved');
        if (!req || typeof req.approver !== 'string' || req.approver.trim() === '') throw new Error('approver is required');
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
    await db.concludeExperiment({ experimentId, outcome, reason, decision: status.lastDecision ?? undefined });
    return finish({ outcome });
  };

  const exp = await db.loadExperiment({ experimentId });
  if (exp.status === 'concluded') return finish({ outcome: 'already_concluded' });
  const intervalMs = exp.policy.checkIntervalSeconds * 1000;

  for (;;) {
    const timedOut = !(await condition(() => wake, intervalMs));
    wake = false;

    if (stopRequest) {
      return conclude('stopped', stopRequest.reason ?? `stopped by ${stopRequest.actor ?? 'an operator'}`);
    }
    if (approval && status.pendingWinner) {
      status.phase = 'concluding';
      promotion = await db.promoteVariant({
        experimentId, versionId: status.pendingWinner.versionId, kind: 'approval', actor: approval.approver,
        reason: approval.note ?? status.lastDecision?.reason ?? 'approved', decision: status.lastDecision ?? undefined,
      });
      return finish({ outcome: 'promoted', promotion });
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
      const winner = d.winner;
      if (status.phase === 'awaiting_approval') {
        // Keep watching while a human decides: the pending winner follows the latest evidence
        // (a later check may favour another variant), and a stop or keep-control decision wins.
        status.lastDecision = d;
        if (d.action === 'promote' && winner) status.pendingWinner = winner;
        if (d.action === 'keep_control' || d.action === 'stop_guardrail') {
          status.pendingWinner = null;
          return conclude(d.action === 'stop_guardrail' ? 'guardrail_stop' : ev.expired ? 'timed_out' : 'kept_control', d.reason);
        }
      } else {
        status.lastDecision = d;
        if (d.action === 'promote' && winner) {
          if (exp.policy.requireApproval) {
            status.phase = 'awaiting_approval';
            status.pendingWinner = winner;
            log.info('promotion awaits approval', { experimentId, versionId: winner.versionId });
          } else {
            status.phase = 'concluding';
            promotion = await db.promoteVariant({ experimentId, versionId: winner.versionId, kind: 'auto', actor: 'optimizer', reason: d.reason, decision: d });
            return finish({ outcome: 'promoted', promotion });
          }
        } else if (d.action === 'keep_control') {
          return conclude(ev.expired ? 'timed_out' : 'kept_control', d.reason);
        } else if (d.action === 'stop_guardrail') {
          return conclude('guardrail_stop', d.reason);
        }
      }
    }

    if (workflowInfo().continueAsNewSuggested && !approval && !stopRequest) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof experimentMonitor>({
        experimentId,
        carried: { checks: status.checks, paused: status.phase === 'paused', pendingWinner: status.pendingWinner, lastDecision: status.lastDecision },
      });
    }
  }
}
