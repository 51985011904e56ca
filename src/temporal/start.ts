import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  type Client,
  type WorkflowHandle,
  type WorkflowHandleWithFirstExecutionRunId,
  type WorkflowStartOptions,
} from '@temporalio/client';
import { jobWorkflowId, monitorWorkflowId, rolloutWorkflowId } from '../domain/ids';
import type * as workflows from '../workflows';

/** The worker's workflow types by name (a type-only import: no workflow code is loaded here). */
export type Workflows = typeof workflows;
export type WorkflowName = keyof Workflows;

/** `client.workflow.start` with the workflow's name checked and its arguments and result typed. */
export function startWorkflow<N extends WorkflowName>(
  client: Client,
  name: N,
  options: WorkflowStartOptions<Workflows[N]>,
): Promise<WorkflowHandleWithFirstExecutionRunId<Workflows[N]>> {
  return client.workflow.start<Workflows[N]>(name, options);
}

/** A handle whose result is typed by the workflow's name. */
export function workflowHandle<N extends WorkflowName>(client: Client, _name: N, workflowId: string): WorkflowHandle<Workflows[N]> {
  return client.workflow.getHandle<Workflows[N]>(workflowId);
}

async function startOnce<N extends WorkflowName>(
  client: Client,
  name: N,
  options: WorkflowStartOptions<Workflows[N]>,
): Promise<{ workflowId: string; started: boolean }> {
  try {
    await startWorkflow(client, name, options);
    return { workflowId: options.workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { workflowId: options.workflowId, started: false };
    throw err;
  }
}

/**
 * Starts the workflow of a job row. A job runs once, ever: REJECT_DUPLICATE refuses a second
 * run even after the first has closed, and "already started" counts as success.
 */
export function startJobWorkflow(client: Client, taskQueue: string, jobId: number): Promise<{ workflowId: string; started: boolean }> {
  return startOnce(client, 'runJob', {
    taskQueue,
    workflowId: jobWorkflowId(jobId),
    args: [{ jobId }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
  });
}

/** Starts the monitor of an experiment unless one is running (a closed one may be replaced). */
export function startMonitorWorkflow(
  client: Client,
  taskQueue: string,
  experimentId: string,
): Promise<{ workflowId: string; started: boolean }> {
  return startOnce(client, 'experimentMonitor', {
    taskQueue,
    workflowId: monitorWorkflowId(experimentId),
    args: [{ experimentId }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
}

/** Starts the watch of a rollout unless one is running (a closed one may be replaced: it ends at once on a closed rollout). */
export function startRolloutWatchWorkflow(
  client: Client,
  taskQueue: string,
  rolloutId: string,
): Promise<{ workflowId: string; started: boolean }> {
  return startOnce(client, 'rolloutWatch', {
    taskQueue,
    workflowId: rolloutWorkflowId(rolloutId),
    args: [{ rolloutId }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
  });
}
