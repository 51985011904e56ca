import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions } from '@temporalio/client';
import { SCHEDULE_IDS, scheduleRunWorkflowId, type ScheduleId } from '../domain/ids';
import type { WorkflowName } from '../temporal/start';

export interface ScheduleSettings {
  taskQueue: string;
  analysisEveryMs: number;
  reconcileEveryMs: number;
  intakeEveryMs: number;
  catchupWindowMs: number;
}

function scheduleOptions(id: ScheduleId, workflowType: WorkflowName, everyMs: number, s: ScheduleSettings, memo: string): ScheduleOptions {
  return {
    scheduleId: id,
    spec: { intervals: [{ every: everyMs }] },
    action: { type: 'startWorkflow', workflowType, taskQueue: s.taskQueue, workflowId: scheduleRunWorkflowId(id), args: [{}] },
    // A slow run is never doubled up; a worker that was down catches up only on recent ticks.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: s.catchupWindowMs },
    memo: { purpose: memo },
  };
}

export function desiredSchedules(s: ScheduleSettings): ScheduleOptions[] {
  return [
    scheduleOptions(
      SCHEDULE_IDS.analysis,
      'patternAnalysisSweep',
      s.analysisEveryMs,
      s,
      'hourly pattern analysis of prompt keys with traffic',
    ),
    scheduleOptions(SCHEDULE_IDS.reconcile, 'experimentReconcile', s.reconcileEveryMs, s, 'every live experiment has a live monitor'),
    scheduleOptions(SCHEDULE_IDS.intake, 'jobIntake', s.intakeEveryMs, s, 'start pending optimization_jobs rows'),
  ];
}

/**
 * Creates the schedules, or updates them to the configured intervals when they exist:
 * restarting the worker never duplicates a schedule (ids are fixed).
 */
export async function ensureSchedules(client: Client, s: ScheduleSettings): Promise<Array<{ id: string; action: 'created' | 'updated' }>> {
  const out: Array<{ id: string; action: 'created' | 'updated' }> = [];
  for (const opts of desiredSchedules(s)) {
    try {
      await client.schedule.create(opts);
      out.push({ id: opts.scheduleId, action: 'created' });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await client.schedule.getHandle(opts.scheduleId).update((prev) => ({
        ...prev,
        spec: opts.spec,
        action: opts.action as typeof prev.action,
        policies: { ...prev.policies, ...opts.policies },
      }));
      out.push({ id: opts.scheduleId, action: 'updated' });
    }
  }
  return out;
}
