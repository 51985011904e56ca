import { db } from './proxies';

export interface ReconcileResult {
  checked: number;
  started: string[];
  restarted: string[];
}

/**
 * Every 15 minutes: each live experiment in the database has a live monitor. Experiments
 * younger than the grace period are left alone (their cycle is about to start the monitor).
 */
export async function experimentReconcile(input: { graceSeconds?: number } = {}): Promise<ReconcileResult> {
  const ids = await db.listLiveExperiments({ olderThanSeconds: input.graceSeconds ?? 120 });
  const result: ReconcileResult = { checked: ids.length, started: [], restarted: [] };
  for (const experimentId of ids) {
    const outcome = await db.ensureMonitor({ experimentId });
    if (outcome === 'started') result.started.push(experimentId);
    if (outcome === 'restarted') result.restarted.push(experimentId);
  }
  return result;
}
