import type { Client } from '@temporalio/client';

/**
 * Reads every workflow history of a scenario's namespace and counts what matters for
 * exactly-once and determinism: workflow task failures (and which were nondeterminism errors),
 * workflow task timeouts (a worker died holding the task), activity attempts per type (retries),
 * and promotions completed more than once inside one monitor.
 */
export interface HistoryScan {
  workflows: number;
  events: number;
  byStatus: Record<string, number>;
  workflowTaskFailed: number;
  workflowTaskFailedCauses: Record<string, number>;
  nondeterministic: string[];
  workflowTaskTimedOut: number;
  activities: Record<string, { executions: number; retries: number; maxAttempt: number }>;
  /** Monitors in which promoteVariant completed more than once (must be none). */
  repeatedPromotions: string[];
  /** Monitors (workflow ids) that closed more than once as completed runs. */
  monitorsCompletedTwice: string[];
}

// temporal.api.enums.v1.WorkflowTaskFailedCause
const NON_DETERMINISTIC_CAUSE = 24;

interface RawEvent {
  workflowTaskFailedEventAttributes?: { cause?: number | null; failure?: { message?: string | null } | null } | null;
  workflowTaskTimedOutEventAttributes?: unknown;
  activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null;
  activityTaskStartedEventAttributes?: { scheduledEventId?: unknown; attempt?: number | null } | null;
  activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null;
  eventId?: unknown;
}

export async function scanHistories(client: Client): Promise<HistoryScan> {
  const scan: HistoryScan = {
    workflows: 0,
    events: 0,
    byStatus: {},
    workflowTaskFailed: 0,
    workflowTaskFailedCauses: {},
    nondeterministic: [],
    workflowTaskTimedOut: 0,
    activities: {},
    repeatedPromotions: [],
    monitorsCompletedTwice: [],
  };
  const completedRuns = new Map<string, number>();
  for await (const wf of client.workflow.list()) {
    scan.workflows++;
    scan.byStatus[wf.status.name] = (scan.byStatus[wf.status.name] ?? 0) + 1;
    if (wf.type === 'experimentMonitor' && wf.status.name === 'COMPLETED')
      completedRuns.set(wf.workflowId, (completedRuns.get(wf.workflowId) ?? 0) + 1);
    const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const events = (history.events ?? []) as RawEvent[];
    scan.events += events.length;
    const scheduled = new Map<string, string>();
    let promotions = 0;
    for (const e of events) {
      const failed = e.workflowTaskFailedEventAttributes;
      if (failed) {
        scan.workflowTaskFailed++;
        const cause = String(failed.cause ?? 'unknown');
        scan.workflowTaskFailedCauses[cause] = (scan.workflowTaskFailedCauses[cause] ?? 0) + 1;
        if (failed.cause === NON_DETERMINISTIC_CAUSE || /nondetermin/i.test(failed.failure?.message ?? '')) {
          scan.nondeterministic.push(`${wf.workflowId}: ${failed.failure?.message ?? ''}`.slice(0, 300));
        }
      }
      if (e.workflowTaskTimedOutEventAttributes) scan.workflowTaskTimedOut++;
      const sch = e.activityTaskScheduledEventAttributes;
      if (sch) scheduled.set(String(e.eventId), sch.activityType?.name ?? '?');
      const started = e.activityTaskStartedEventAttributes;
      if (started) {
        const type = scheduled.get(String(started.scheduledEventId)) ?? '?';
        const a = (scan.activities[type] ??= { executions: 0, retries: 0, maxAttempt: 0 });
        const attempt = started.attempt ?? 1;
        a.executions++;
        a.retries += attempt - 1;
        a.maxAttempt = Math.max(a.maxAttempt, attempt);
      }
      const done = e.activityTaskCompletedEventAttributes;
      if (done && scheduled.get(String(done.scheduledEventId)) === 'promoteVariant') promotions++;
    }
    if (promotions > 1) scan.repeatedPromotions.push(`${wf.workflowId}: promoteVariant completed ${promotions} times`);
  }
  for (const [id, n] of completedRuns) if (n > 1) scan.monitorsCompletedTwice.push(`${id}: ${n} completed runs`);
  return scan;
}

/** Sums scans (the report's history row covers every scenario). */
export function mergeScans(scans: HistoryScan[]): HistoryScan {
  const out: HistoryScan = {
    workflows: 0,
    events: 0,
    byStatus: {},
    workflowTaskFailed: 0,
    workflowTaskFailedCauses: {},
    nondeterministic: [],
    workflowTaskTimedOut: 0,
    activities: {},
    repeatedPromotions: [],
    monitorsCompletedTwice: [],
  };
  for (const s of scans) {
    out.workflows += s.workflows;
    out.events += s.events;
    for (const [k, v] of Object.entries(s.byStatus)) out.byStatus[k] = (out.byStatus[k] ?? 0) + v;
    out.workflowTaskFailed += s.workflowTaskFailed;
    for (const [k, v] of Object.entries(s.workflowTaskFailedCauses))
      out.workflowTaskFailedCauses[k] = (out.workflowTaskFailedCauses[k] ?? 0) + v;
    out.nondeterministic.push(...s.nondeterministic);
    out.workflowTaskTimedOut += s.workflowTaskTimedOut;
    for (const [k, v] of Object.entries(s.activities)) {
      const a = (out.activities[k] ??= { executions: 0, retries: 0, maxAttempt: 0 });
      a.executions += v.executions;
      a.retries += v.retries;
      a.maxAttempt = Math.max(a.maxAttempt, v.maxAttempt);
    }
    out.repeatedPromotions.push(...s.repeatedPromotions);
    out.monitorsCompletedTwice.push(...s.monitorsCompletedTwice);
  }
  return out;
}
