/**
 * Workflow and schedule ids. They are derived from database ids so that starting twice can never
 * run twice, and several layers (workflows, activities, the HTTP API, the CLI, the dashboard)
 * must agree on them: a renamed id here and nowhere else would let reconcile start a second
 * monitor for the same experiment.
 */

/** `job-<id>`: one optimization_jobs row, run once ever. */
export const jobWorkflowId = (jobId: number | string): string => `job-${jobId}`;

/** `experiment-<uuid>`: the monitor of one experiment. */
export const monitorWorkflowId = (experimentId: string): string => `experiment-${experimentId}`;

/** `cycle-<promptKey>`: the cycle the hourly sweep starts for a prompt key (API cycles run as `job-<id>`). */
export const cycleWorkflowId = (promptKey: string): string => `cycle-${promptKey}`;

/** The monitor's experiment id, or null when the workflow id is not a monitor's. */
export function experimentIdOfMonitor(workflowId: string): string | null {
  return workflowId.startsWith('experiment-') ? workflowId.slice('experiment-'.length) : null;
}

export const SCHEDULE_IDS = {
  analysis: 'pattern-analysis-sweep',
  reconcile: 'experiment-reconcile',
  intake: 'job-intake',
} as const;

export type ScheduleId = (typeof SCHEDULE_IDS)[keyof typeof SCHEDULE_IDS];

/** Workflow id of the runs a schedule starts (Temporal appends the start time). */
export const scheduleRunWorkflowId = (scheduleId: ScheduleId): string => `${scheduleId}-run`;

/** Link to one workflow in the Temporal Web UI. */
export function workflowUrl(uiUrl: string, namespace: string, workflowId: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/** `rollout-<uuid>`: the watch of one rollout (the guarded rollout after a promotion). */
export const rolloutWorkflowId = (rolloutId: string): string => `rollout-${rolloutId}`;
