import type { HistoryScan } from './histories';

/** Turns a history scan into failures / duplicates for a scenario result. */
export function historyFindings(h: HistoryScan): { failures: string[]; duplicated: string[] } {
  const failures: string[] = [];
  const duplicated: string[] = [];
  for (const n of h.nondeterministic) failures.push(`nondeterministic workflow task: ${n}`);
  // temporal.api.enums.v1.WorkflowTaskFailedCause: 1 unhandled command (a signal raced a completion)
  // and 13 reset sticky task queue are routine; 24 (nondeterminism) is reported above; the rest are bugs.
  for (const [cause, n] of Object.entries(h.workflowTaskFailedCauses)) {
    if (!['1', '13', '24'].includes(cause))
      failures.push(
        `${n} workflow task failure(s) with cause ${cause}${cause === '14' ? ' (worker unhandled failure: the workflow code threw)' : ''}`,
      );
  }
  for (const p of h.repeatedPromotions) duplicated.push(`temporal: ${p}`);
  for (const m of h.monitorsCompletedTwice) duplicated.push(`temporal: monitor ${m}`);
  const failed = h.byStatus.FAILED ?? 0;
  if (failed > 0) failures.push(`${failed} workflow run(s) FAILED`);
  return { failures, duplicated };
}
