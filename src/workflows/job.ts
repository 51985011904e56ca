import { CancellationScope, ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { StartedJob } from '../activities';
import { bookkeeping, db, generation, heavy } from './activities';
import { optimizationCycle } from './cycle';
import { experimentMonitor } from './monitor';

export interface JobInput {
  jobId: number;
}

/** SDK wrappers whose message says nothing about what went wrong. */
const WRAPPER_MESSAGES = new Set(['Activity task failed', 'Child Workflow execution failed']);

function describeError(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  while (e instanceof Error && parts.length < 4) {
    if (!parts.includes(e.message) && !WRAPPER_MESSAGES.has(e.message)) parts.push(e.message);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(': ') || String(err);
}

async function runJobType(job: StartedJob): Promise<unknown> {
  switch (job.type) {
    case 'full_cycle':
      return optimizationCycle(job.params);
    case 'pattern_analysis':
      return heavy.analyzePatterns(job.params);
    case 'variant_generation':
      return generation.generateVariants({ promptKey: job.params.promptKey, count: job.params.variantCount, strategy: job.params.strategy });
    case 'experiment_creation': {
      const info = workflowInfo();
      const exp = await db.createExperiment({ ...job.params, idempotencyKey: `job-${job.id}`, workflowId: info.workflowId });
      try {
        await startChild(experimentMonitor, {
          workflowId: `experiment-${exp.experimentId}`, args: [{ experimentId: exp.experimentId }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      return { experimentId: exp.experimentId, monitorWorkflowId: `experiment-${exp.experimentId}` };
    }
    case 'experiment_monitoring':
      return { experimentId: job.params.experimentId, monitor: await db.ensureMonitor({ experimentId: job.params.experimentId }) };
  }
}

/**
 * One optimization_jobs row, run once as workflow `job-<id>`: the row goes pending -> running
 * -> completed (with the result) or failed (with the error).
 */
export async function runJob(input: JobInput): Promise<unknown> {
  let result: unknown;
  let jobId = input.jobId;
  try {
    const job = await db.startJob({ jobId: input.jobId, workflowId: workflowInfo().workflowId });
    jobId = job.id;
    result = await runJobType(job);
  } catch (err) {
    // Also when the workflow was cancelled (e.g. from the Web UI): the row must end terminal.
    await CancellationScope.nonCancellable(() => bookkeeping.failJob({ jobId, error: describeError(err) }));
    throw err;
  }
  await bookkeeping.completeJob({ jobId, result: result ?? {} });
  return result;
}
