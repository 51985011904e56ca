import { ChildWorkflowFailure, executeChild, ParentClosePolicy, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { AnalysisSummary, GeneratedVariants } from '../activities';
import { FAILURE, failureType } from '../domain/failures';
import { monitorWorkflowId } from '../domain/ids';
import type { PolicyOverrides } from '../domain/policy';
import { db, generation, heavy } from './proxies';
import { experimentMonitor, type MonitorResult } from './monitor';

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
}

export interface CycleResult {
  promptKey: string;
  outcome: 'no_action' | 'no_variants' | 'experiment_exists' | 'monitor_elsewhere' | MonitorResult['outcome'];
  analysis: AnalysisSummary;
  variants?: Pick<GeneratedVariants, 'versionIds' | 'rejected' | 'strategy'>;
  experimentId?: string;
  monitor?: MonitorResult;
}

/**
 * The whole optimization cycle for one prompt key: analyze -> generate -> create experiment ->
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

  const info = workflowInfo();
  let experimentId: string;
  try {
    const exp = await db.createExperiment({
      promptKey, variantVersionIds: generated.versionIds, policy: input.policy,
      idempotencyKey: `${info.workflowId}/${info.firstExecutionRunId}`, workflowId: info.workflowId,
    });
    experimentId = exp.experimentId;
  } catch (err) {
    if (failureType(err) === FAILURE.LiveExperimentExists) return { promptKey, outcome: 'experiment_exists', analysis, variants };
    throw err;
  }

  try {
    const monitor = await executeChild(experimentMonitor, {
      workflowId: monitorWorkflowId(experimentId),
      args: [{ experimentId }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
    return { promptKey, outcome: monitor.outcome, analysis, variants, experimentId, monitor };
  } catch (err) {
    // The reconcile schedule may have started the monitor first: it owns the experiment now.
    if (err instanceof WorkflowExecutionAlreadyStartedError || (err instanceof ChildWorkflowFailure && err.cause instanceof WorkflowExecutionAlreadyStartedError)) {
      return { promptKey, outcome: 'monitor_elsewhere', analysis, variants, experimentId };
    }
    throw err;
  }
}
