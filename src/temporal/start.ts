import {
  WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy, type Client,
} from '@temporalio/client';

/** Workflow ids are derived from database ids so that starting twice can never run twice. */
export const jobWorkflowId = (jobId: number | string) => `job-${jobId}`;
export const monitorWorkflowId = (experimentId: string) => `experiment-${experimentId}`;
export const cycleWorkflowId = (promptKey: string) => `cycle-${promptKey}`;

export function workflowUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * Starts the workflow of a job row. A job runs once, ever: REJECT_DUPLICATE refuses a second
 * run even after the first has closed, and "already started" counts as success.
 */
export async function startJobWorkflow(client: Client, taskQueue: string, jobId: number): Promise<{ workflowId: string; started: boolean }> {
  const workflowId = jobWorkflowId(jobId);
  try {
    await client.workflow.start('runJob', {
      taskQueue, workflowId, args: [{ jobId }], workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    });
    return { workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw err;
  }
}

/** Starts the monitor of an experiment unless one is running (a closed one may be replaced). */
export async function startMonitorWorkflow(client: Client, taskQueue: string, experimentId: string): Promise<{ workflowId: string; started: boolean }> {
  const workflowId = monitorWorkflowId(experimentId);
  try {
    await client.workflow.start('experimentMonitor', {
      taskQueue, workflowId, args: [{ experimentId }], workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
    return { workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId, started: false };
    throw err;
  }
}
