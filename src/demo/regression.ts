/**
 * The demo's guarded rollout: what the summary says about it, and, for `--scenario regression`,
 * waiting for the watch to roll the regressed version back and checking that against the truth.
 */
import type { PromotionEventRow, RolloutCheckRow, RolloutRow, Store } from '../store';
import { formatP, formatPercent } from '../stats/format';

interface CheckDecision {
  action: string;
  estimate: number;
  ci: [number, number];
  pWorse: number;
}

const points = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} points`;

/** "v2 serves 80%, holdback v1 20%, watched for 3 min". */
export function rolloutLine(r: RolloutRow): string {
  const plan = r.plan as { watchHours: number; holdbackShare: number };
  // An ended rollout has released its split: show the holdback it kept.
  const live = r.status === 'live';
  const hb = live ? Number(r.holdback_weight) : plan.holdbackShare;
  const minutes = Math.round(plan.watchHours * 60);
  return (
    `Rollout: v${r.promoted_version} ${live ? 'serves' : 'served'} ${formatPercent(1 - hb, 0)}, holdback v${r.holdback_version} ${formatPercent(hb, 0)}, ` +
    `watched for ${minutes < 120 ? `${minutes} min` : `${Math.round(plan.watchHours)} h`} (${r.phase})`
  );
}

/** "check 7: -16.9 points [-24.1, -9.8], p 0.0003" from a stored watch check. */
export function checkLine(c: RolloutCheckRow): string {
  const d = c.decision as unknown as CheckDecision;
  return `watch check ${c.check_no}: ${points(d.estimate)} [${(d.ci[0] * 100).toFixed(1)}, ${(d.ci[1] * 100).toFixed(1)}], ${formatP(d.pWorse)} → ${d.action}`;
}

/** Polls the rollout until it ends (or the time is up), narrating each new watch check. */
export async function followRollout(
  store: Store,
  rolloutId: string,
  opts: { timeoutMs: number; signal: AbortSignal; step: (t: string) => void },
): Promise<RolloutRow> {
  const deadline = Date.now() + opts.timeoutMs;
  let seen = 0;
  for (;;) {
    const r = await store.getRollout(rolloutId);
    for (const c of await store.listRolloutChecks(rolloutId, seen)) {
      opts.step(`  ${checkLine(c)}`);
      seen = c.check_no;
    }
    if (r.status !== 'live' || Date.now() > deadline || opts.signal.aborted) return r;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export interface RegressionTruth {
  ok: boolean;
  lines: string[];
}

/**
 * The regression scenario's summary and truth check: the promoted version was made truly worse
 * than the holdback, so the right outcome is an automatic rollback, the previous version active
 * again, one rollback event.
 */
export function regressionSummary(a: {
  rollout: RolloutRow;
  events: PromotionEventRow[];
  activeVersionId: string;
  trueRates: { promotedBefore: number; promotedAfter: number; holdback: number };
  secondsToRollback: number;
}): RegressionTruth {
  const { rollout: r, trueRates: t } = a;
  const rollbacks = a.events.filter((e) => e.kind === 'rollback' && e.rollout_id === r.id);
  const lines = [
    `Regression (simulated): after the promotion v${r.promoted_version} lost ${points(t.promotedAfter - t.promotedBefore).slice(1)} on every topic: ` +
      `TRUE success ${formatPercent(t.promotedBefore)} → ${formatPercent(t.promotedAfter)}, holdback v${r.holdback_version} ${formatPercent(t.holdback)}`,
  ];
  const event = rollbacks[0];
  if (r.status === 'rolled_back' && event) {
    const d = event.decision as unknown as CheckDecision;
    lines.push(
      `Rollback: ${event.mode} by ${event.actor}, ${a.secondsToRollback.toFixed(1)} s after the change: v${r.promoted_version} → v${r.holdback_version}`,
      `  reason: ${event.reason}`,
      `  evidence: ${points(d.estimate)} against the holdback, always-valid interval [${(d.ci[0] * 100).toFixed(1)}, ${(d.ci[1] * 100).toFixed(1)}] points, ${formatP(d.pWorse)}`,
    );
  } else {
    lines.push(`Rollback: none; the rollout is ${r.status}.`);
  }
  const ok =
    t.promotedAfter < t.holdback &&
    r.status === 'rolled_back' &&
    rollbacks.length === 1 &&
    event?.mode === 'auto' &&
    a.activeVersionId === r.holdback_version_id;
  lines.push(
    `Truth check: v${r.promoted_version} was truly worse than v${r.holdback_version} after the change; ` +
      (ok
        ? `it was rolled back automatically, once, and v${r.holdback_version} is active again (correct).`
        : `rollout ${r.status}, ${rollbacks.length} rollback event(s), active version ${a.activeVersionId === r.holdback_version_id ? 'the holdback' : 'NOT the holdback'} (WRONG).`),
  );
  return { ok, lines };
}
