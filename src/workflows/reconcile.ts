import { patched } from '@temporalio/workflow';
import { db } from './proxies';

export interface ReconcileResult {
  checked: number;
  started: string[];
  restarted: string[];
  /** Live rollouts checked, and those whose watch had to be started. */
  rollouts?: { checked: number; started: string[] };
}

/**
 * Every 15 minutes: each live experiment in the database has a live monitor, and each live
 * rollout a running watch. Experiments younger than the grace period are left alone (their
 * cycle is about to start the monitor).
 */
export async function experimentReconcile(input: { graceSeconds?: number } = {}): Promise<ReconcileResult> {
  const ids = await db.listLiveExperiments({ olderThanSeconds: input.graceSeconds ?? 120 });
  const result: ReconcileResult = { checked: ids.length, started: [], restarted: [] };
  for (const experimentId of ids) {
    const outcome = await db.ensureMonitor({ experimentId });
    if (outcome === 'started') result.started.push(experimentId);
    if (outcome === 'restarted') result.restarted.push(experimentId);
  }
  if (patched('rollout-watch-reconcile')) {
    const rollouts = await db.listLiveRollouts();
    result.rollouts = { checked: rollouts.length, started: [] };
    for (const rolloutId of rollouts) {
      if ((await db.ensureRolloutWatch({ rolloutId })) === 'started') result.rollouts.started.push(rolloutId);
    }
  }
  return result;
}
