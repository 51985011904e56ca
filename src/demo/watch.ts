/**
 * Follows an optimizationCycle from the outside, the way an operator would: the cycle's event
 * history (which activity is scheduled or done, with its decoded result; when the monitor child
 * starts) and then the monitor's `status` query, one event per monitoring check. The per-arm
 * counts of a check come from its snapshot row (the same numbers the decision saw).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { ArmStats, Decision } from '../domain/types';
import type { Store } from '../store';
import type { CycleResult } from '../workflows/cycle';
import { statusQuery } from '../workflows/definitions';
import type { ArmCount } from './progress';

export type WatchEvent =
  | { type: 'activity-scheduled'; name: string }
  | { type: 'activity-completed'; name: string; result: unknown }
  | { type: 'monitor-started'; workflowId: string }
  | { type: 'check'; experimentId: string; checkNo: number; arms: ArmCount[]; decision: Decision | null };

export interface WatchOptions {
  client: Client;
  store: Pick<Store, 'listSnapshots'>;
  workflowId: string;
  onEvent: (event: WatchEvent) => void | Promise<void>;
  pollMs?: number;
  signal?: AbortSignal;
}

type Settled = { ok: true; value: CycleResult } | { ok: false; error: unknown };

function armCounts(arms: unknown): ArmCount[] {
  if (!Array.isArray(arms)) return [];
  return (arms as ArmStats[]).map((a) => ({ arm: Number(a.arm), n: Number(a.n), successes: Number(a.successes) }));
}

/** Resolves with the cycle's result once it closes and every check has been reported. */
export async function watchCycle(opts: WatchOptions): Promise<CycleResult> {
  const { client, store, onEvent } = opts;
  const handle = client.workflow.getHandle(opts.workflowId);
  let settled: Settled | undefined;
  void handle.result().then(
    (value: CycleResult) => (settled = { ok: true, value }),
    (error: unknown) => (settled = { ok: false, error }),
  );

  const seen = new Set<string>();
  const scheduled = new Map<string, string>();
  let monitorId: string | undefined;
  let experimentId: string | undefined;
  let reported = 0;

  const readHistory = async () => {
    const history = await handle.fetchHistory();
    for (const e of history.events ?? []) {
      const id = String(e.eventId);
      if (seen.has(id)) continue;
      seen.add(id);
      const sched = e.activityTaskScheduledEventAttributes;
      if (sched?.activityType?.name) {
        scheduled.set(id, sched.activityType.name);
        await onEvent({ type: 'activity-scheduled', name: sched.activityType.name });
      }
      const done = e.activityTaskCompletedEventAttributes;
      if (done) {
        const name = scheduled.get(String(done.scheduledEventId)) ?? 'unknown';
        const payload = done.result?.payloads?.[0];
        const result = payload ? defaultPayloadConverter.fromPayload<unknown>(payload) : undefined;
        if (name === 'createExperiment') experimentId = (result as { experimentId?: string } | undefined)?.experimentId;
        await onEvent({ type: 'activity-completed', name, result });
      }
      const child = e.startChildWorkflowExecutionInitiatedEventAttributes;
      if (child?.workflowId) {
        monitorId = child.workflowId;
        await onEvent({ type: 'monitor-started', workflowId: child.workflowId });
      }
    }
  };

  /** Reports every check up to `upTo` from the snapshots; the newest with the query's decision. */
  const reportChecks = async (upTo: number, latest: Decision | null) => {
    if (!experimentId || upTo <= reported) return;
    const snaps = await store.listSnapshots(experimentId, reported);
    for (const s of snaps.sort((a, b) => a.check_no - b.check_no)) {
      if (s.check_no > upTo) break;
      const decision = s.check_no === upTo && latest ? latest : (s.decision as unknown as Decision | null);
      await onEvent({ type: 'check', experimentId, checkNo: s.check_no, arms: armCounts(s.arms), decision });
      reported = s.check_no;
    }
  };

  const pollMonitor = async (final: boolean) => {
    if (!monitorId || !experimentId) return;
    try {
      const status = await client.workflow.getHandle(monitorId).query(statusQuery);
      await reportChecks(status.checks, status.lastDecision);
    } catch (err) {
      // Not yet running (first workflow task pending) or already closed: snapshots still tell.
      if (final) await reportChecks(Number.MAX_SAFE_INTEGER, null);
      else if (opts.signal?.aborted) throw err;
    }
    if (final) await reportChecks(Number.MAX_SAFE_INTEGER, null);
  };

  for (;;) {
    opts.signal?.throwIfAborted();
    const final = settled !== undefined;
    await readHistory();
    await pollMonitor(final);
    if (final) break;
    await sleep(opts.pollMs ?? 250, undefined, { signal: opts.signal });
  }
  const outcome = settled as Settled;
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
