import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { cycleWorkflowId } from '../domain/ids';
import { db, heavy } from './proxies';
import { optimizationCycle, type CycleInput } from './cycle';

export interface SweepInput {
  /** Look at keys with traffic in this many recent hours. */
  sinceHours?: number;
  minConversations?: number;
  cycle?: Omit<CycleInput, 'promptKey' | 'analysis'>;
}

export interface SweepResult {
  analyzed: number;
  started: string[];
  skipped: Array<{ promptKey: string; reason: string }>;
}

/**
 * Hourly: analyzes every prompt key with recent traffic and starts a cycle where the insights
 * are actionable and no experiment is live. The cycle's workflow id is per key, so two sweeps
 * (or a sweep and a retry) never start two cycles for the same key.
 */
export async function patternAnalysisSweep(input: SweepInput = {}): Promise<SweepResult> {
  const keys = await db.listPromptKeysWithTraffic({ sinceHours: input.sinceHours ?? 1, minConversations: input.minConversations ?? 30 });
  const result: SweepResult = { analyzed: 0, started: [], skipped: [] };
  for (const k of keys) {
    if (k.liveExperiment) {
      result.skipped.push({ promptKey: k.promptKey, reason: 'experiment running' });
      continue;
    }
    const analysis = await heavy.analyzePatterns({ promptKey: k.promptKey });
    result.analyzed++;
    if (analysis.actionable === 0) {
      result.skipped.push({ promptKey: k.promptKey, reason: 'nothing actionable' });
      continue;
    }
    try {
      await startChild(optimizationCycle, {
        workflowId: cycleWorkflowId(k.promptKey),
        args: [{ ...input.cycle, promptKey: k.promptKey, analysis }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
      result.started.push(k.promptKey);
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      result.skipped.push({ promptKey: k.promptKey, reason: 'cycle already running' });
    }
  }
  return result;
}
