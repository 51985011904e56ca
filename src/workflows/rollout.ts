import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RolloutCheck } from '../activities';
import { rolloutChangedSignal, rolloutStatusQuery, type RolloutWatchStatus } from './definitions';
import { heavy } from './proxies';
import { orSkipped } from './skippable';

export interface RolloutWatchInput {
  rolloutId: string;
  /** State carried across continue-as-new. */
  carried?: { checks: number; last: RolloutCheck | null };
}

/** Until the first check has said otherwise (the experiment's interval comes back with every check). */
const FIRST_INTERVAL_SECONDS = 60;

/**
 * Watches one guarded rollout until it ends: a check on a durable timer (the experiment's check
 * interval), or at once when an operator changed the rollout (the `rolloutChanged` signal). The
 * check activity decides and acts (advance a step, roll back, release the holdback) through
 * idempotent SQL, so this workflow only loops: a retried or replayed check never acts twice, and
 * a rollout an operator rolled back or finished ends the watch at its next check.
 */
export async function rolloutWatch(input: RolloutWatchInput): Promise<RolloutWatchStatus> {
  const { rolloutId } = input;
  const status: RolloutWatchStatus = { rolloutId, checks: input.carried?.checks ?? 0, last: input.carried?.last ?? null, outcome: null };
  let woken = false;
  setHandler(rolloutStatusQuery, () => status);
  setHandler(rolloutChangedSignal, () => {
    woken = true;
  });

  for (;;) {
    const check = await orSkipped('rollout check', { rolloutId }, () => heavy.checkRollout({ rolloutId, checkNo: status.checks + 1 }));
    if (check) {
      if (check.checkNo > 0) status.checks = check.checkNo;
      status.last = check;
      if (check.status !== 'live') {
        status.outcome = check.status;
        await condition(allHandlersFinished);
        return status;
      }
    }
    const intervalMs = (status.last?.intervalSeconds || FIRST_INTERVAL_SECONDS) * 1000;
    await condition(() => woken, intervalMs);
    woken = false;
    if (workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof rolloutWatch>({ rolloutId, carried: { checks: status.checks, last: status.last } });
    }
  }
}
