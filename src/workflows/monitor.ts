import {
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  ParentClosePolicy,
  patched,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { rolloutWorkflowId } from '../domain/ids';
import type { Evaluation, PromotionResult } from '../activities';
import type { Decision } from '../domain/types';
import { approvePromotionUpdate, pauseSignal, resumeSignal, statusQuery, stopSignal } from './definitions';
import { MonitorState, type CarriedState, type MonitorOutcome, type Step } from './monitor-state';
import { db, heavy } from './proxies';
import { rolloutWatch } from './rollout';
import { orSkipped } from './skippable';

export interface MonitorInput {
  experimentId: string;
  /** State carried across continue-as-new. */
  carried?: CarriedState;
}

export interface MonitorResult {
  experimentId: string;
  outcome: MonitorOutcome;
  checks: number;
  promotion?: PromotionResult;
  decision: Decision | null;
}

/** One check; see orSkipped for a check whose activity kept failing. */
function evaluateOrSkip(experimentId: string, checkNo: number): Promise<Evaluation | undefined> {
  return orSkipped('check', { experimentId, checkNo }, () => heavy.evaluateExperiment({ experimentId, checkNo }));
}

/**
 * The promotion started a guarded rollout: its watch runs on as its own workflow (ABANDON: it
 * outlives this monitor). Reconcile may have started it first, which is as good.
 */
async function startWatch(rolloutId: string): Promise<void> {
  try {
    await startChild(rolloutWatch, {
      workflowId: rolloutWorkflowId(rolloutId),
      args: [{ rolloutId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

function registerHandlers(m: MonitorState): void {
  setHandler(statusQuery, () => m.status);
  setHandler(stopSignal, (req) => m.requestStop(req));
  setHandler(pauseSignal, () => m.requestPause(true));
  setHandler(resumeSignal, () => m.requestPause(false));
  setHandler(
    approvePromotionUpdate,
    async (req) => {
      m.acceptApproval(req);
      await condition(() => m.approvalSettled());
      return m.approvalResult();
    },
    { validator: (req) => m.validateApproval(req) },
  );
}

/**
 * Watches one experiment until it ends: a durable timer per check (the policy's interval),
 * a snapshot per check, the decision engine in the evaluate activity (so the statistics can
 * change without changing this workflow), promotion at most once (SQL is idempotent too).
 */
export async function experimentMonitor(input: MonitorInput): Promise<MonitorResult> {
  const { experimentId } = input;
  const m = new MonitorState(experimentId, input.carried);
  registerHandlers(m);

  const finish = async (outcome: MonitorOutcome, promotion?: PromotionResult): Promise<MonitorResult> => {
    m.finish(outcome);
    await condition(allHandlersFinished);
    return { experimentId, checks: m.status.checks, decision: m.status.lastDecision, outcome, ...(promotion ? { promotion } : {}) };
  };

  /** Runs a concluding step's activity and ends the workflow. */
  const act = async (step: Extract<Step, { kind: 'conclude' | 'promote' }>): Promise<MonitorResult> => {
    m.beginConcluding(step);
    const decision = m.status.lastDecision ?? undefined;
    if (step.kind === 'conclude') {
      await db.concludeExperiment({ experimentId, outcome: step.outcome, reason: step.reason, decision });
      return finish(step.outcome);
    }
    const promotion = await db.promoteVariant({
      experimentId,
      versionId: step.versionId,
      kind: step.via,
      actor: step.actor,
      reason: step.reason,
      decision,
    });
    m.promoted(promotion, step.via);
    if (promotion.rolloutId && patched('rollout-watch')) await startWatch(promotion.rolloutId);
    return finish('promoted', promotion);
  };

  const exp = await db.loadExperiment({ experimentId });
  if (exp.status === 'concluded') return finish('already_concluded');
  m.adoptStoredStatus(exp.status, input.carried !== undefined);
  const intervalMs = exp.policy.checkIntervalSeconds * 1000;

  for (;;) {
    const timedOut = !(await condition(() => m.isWoken(), intervalMs));
    m.consumeWake();

    const message = m.stepForMessages();
    if (message.kind === 'conclude' || message.kind === 'promote') return act(message);
    const pause = m.pauseToApply();
    if (pause !== undefined) {
      await db.setExperimentPaused({ experimentId, paused: pause });
      m.pauseApplied(pause);
    }

    const ev = m.shouldEvaluate(timedOut) ? await evaluateOrSkip(experimentId, m.status.checks + 1) : undefined;
    const step = ev ? m.stepForEvaluation(ev, exp.policy.requireApproval) : { kind: 'none' as const };
    if (step.kind === 'conclude' || step.kind === 'promote') return act(step);
    if (step.kind === 'await_approval') log.info('promotion awaits approval', { experimentId, versionId: step.versionId });

    if (workflowInfo().continueAsNewSuggested && m.canContinueAsNew()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof experimentMonitor>({ experimentId, carried: m.carried() });
    }
  }
}
