import { CancellationScope, ParentClosePolicy, startChild, workflowInfo } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { describeFailure } from '../domain/failures';
import { jobWorkflowId, monitorWorkflowId } from '../domain/ids';
import type { JobType, StartedJob } from '../domain/jobs';
import type { AnalysisSummary, GeneratedVariants, MonitorEnsured } from '../activities';
import { bookkeeping, db, generation, heavy } from './proxies';
import { optimizationCycle, type CycleResult } from './cycle';
import { experimentMonitor } from './monitor';

export interface JobInput {
  jobId: number;
}

/** What each job type returns (and stores in its row's `result`). */
export interface JobResults {
  full_cycle: CycleResult;
  pattern_analysis: AnalysisSummary;
  variant_generation: GeneratedVariants;
  experiment_creation: { experimentId: string; monitorWorkflowId: string };
  experiment_monitoring: { experimentId: string; monitor: MonitorEnsured };
}

export type JobResult = JobResults[JobType];

async function runJobType(job: StartedJob): Promise<JobResult> {
  switch (job.type) {
    case 'full_cycle':
      return optimizationCycle(job.params);
    case 'pattern_analysis':
      return heavy.analyzePatterns(job.params);
    case 'variant_generation':
      return generation.generateVariants({
        promptKey: job.params.promptKey,
        count: job.params.variantCount,
        strategy: job.params.strategy,
      });
    case 'experiment_creation': {
      const info = workflowInfo();
      const exp = await db.createExperiment({ ...job.params, idempotencyKey: jobWorkflowId(job.id), workflowId: info.workflowId });
      try {
        await startChild(experimentMonitor, {
          workflowId: monitorWorkflowId(exp.experimentId),
          args: [{ experimentId: exp.experimentId }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      return { experimentId: exp.experimentId, monitorWorkflowId: monitorWorkflowId(exp.experimentId) };
    }
    case 'experiment_monitoring':
      return { experimentId: job.params.experimentId, monitor: await db.ensureMonitor({ experimentId: job.params.experimentId }) };
  }
}

/**
 * One optimization_jobs row, run once as workflow `job-<id>`: the row goes pending -> running
 * -> completed (with the result) or failed (with the error).
 */
export async function runJob(input: JobInput): Promise<JobResult> {
  let result: JobResult;
  let jobId = input.jobId;
  try {
    const job = await db.startJob({ jobId: input.jobId, workflowId: workflowInfo().workflowId });
    jobId = job.id;
    result = await runJobType(job);
  } catch (err) {
    // Also when the workflow was cancelled (e.g. from the Web UI): the row must end terminal.
    await CancellationScope.nonCancellable(() => bookkeeping.failJob({ jobId, error: describeFailure(err) }));
    throw err;
  }
  await bookkeeping.completeJob({ jobId, result: result ?? {} });
  return result;
}
