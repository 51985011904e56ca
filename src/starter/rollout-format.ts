/**
 * Human output of the rollout commands: pure functions from API data to lines of text (as
 * format.ts), so the wording is unit-tested without a worker. Times are passed in (`now`).
 */
import type { Metric, RolloutPlan } from '../domain/types';
import type { RolloutDecision } from '../stats/rollout';
import { formatEffect, formatNumber, formatP } from '../stats/format';
import type { RolloutCheckRow, RolloutEventRow, RolloutRow } from '../store/rows';
import type { RolloutAction, RolloutDetail, RolloutSteered } from './api';
import { formatAge, formatInterval, formatTime, table } from './format';

/** What the rollout's experiment says about how to read its numbers (metric and alpha). */
export interface EvidenceScale {
  metric: Metric;
  alpha: number;
}

/** 0.05 -> "5%", 0.1 (as 0.09999999) -> "10%", 0.125 -> "12.5%". */
export function share(x: number): string {
  return `${Number((Number(x) * 100).toFixed(1))}%`;
}

/** 0 -> "0h", 100 -> "4d4h", 0.5 -> "30m". */
export function hoursText(h: number): string {
  return h <= 0 ? '0h' : formatInterval(Math.round(h * 3_600_000));
}

/** "5%/95%": the holdback's share, then the promoted version's. */
export function splitText(r: Pick<RolloutRow, 'holdback_weight'>): string {
  const hw = Number(r.holdback_weight);
  return `${share(hw)}/${share(1 - hw)}`;
}

/** 1-based, as operators (and `advance --from-step`) count: "2/3". */
export const stepText = (r: Pick<RolloutRow, 'step' | 'steps'>): string => `${r.step + 1}/${r.steps}`;

const marginText = (m: number, metric: Metric) =>
  metric === 'rating' ? `${m.toFixed(2)} rating points` : `${(m * 100).toFixed(1)} points`;

/** "50% for 4d4h -> 100%; holdback 5% for a 7d watch, margin 0.0 points". */
export function planText(plan: RolloutPlan, metric: Metric): string {
  const steps = plan.steps
    .map((s, i) => (i === plan.steps.length - 1 ? share(s.share) : `${share(s.share)} for ${hoursText(s.holdHours)}`))
    .join(' -> ');
  return `${steps}; holdback ${share(plan.holdbackShare)} for a ${hoursText(plan.watchHours)} watch, margin ${marginText(plan.margin, metric)}`;
}

export function rolloutsTable(rollouts: RolloutRow[], now: Date): string {
  if (rollouts.length === 0) return 'no rollouts';
  return table(
    ['ID', 'PROMPT', 'PROMOTED/HOLDBACK', 'PHASE', 'STEP', 'SPLIT H/P', 'STARTED'],
    rollouts.map((r) => [
      r.id,
      r.prompt_key,
      `v${r.promoted_version}/v${r.holdback_version}`,
      r.phase,
      stepText(r),
      splitText(r),
      formatAge(r.started_at, now),
    ]),
  );
}

/**
 * The audit trail: who moved the rollout, how (auto by the watch, manual by an operator) and why.
 * A reason may span lines (the API allows it in notes): one row per event all the same.
 */
export function rolloutEventsTable(events: RolloutEventRow[]): string {
  if (events.length === 0) return 'no events';
  return table(
    ['TIME', 'EVENT', 'MODE', 'ACTOR', 'STEP', 'REASON'],
    events.map((e) => [formatTime(e.created_at), e.kind, e.mode, e.actor, String(e.step + 1), e.reason.replace(/\s+/g, ' ')]),
  );
}

/** "+3.0 points to +7.5 points" (success) or "-0.12 rating points to +0.30 rating points". */
function intervalText(ci: [number, number], metric: Metric): string {
  return `${formatEffect(ci[0], metric)} to ${formatEffect(ci[1], metric)}`;
}

/** The latest check's evidence: estimate (promoted - holdback), its always-valid interval, p, guardrails. */
export function evidenceLines(check: RolloutCheckRow | undefined, scale: EvidenceScale): string[] {
  if (!check) return ['evidence   no check yet'];
  const d = check.decision as unknown as Partial<RolloutDecision>;
  const level = `${formatNumber((1 - scale.alpha) * 100)}%`;
  const lines = [`evidence   check #${check.check_no} at ${formatTime(check.created_at)}: ${d.action ?? '?'}`];
  if (typeof d.estimate === 'number' && Array.isArray(d.ci)) {
    lines.push(
      `           estimate ${formatEffect(d.estimate, scale.metric)} (promoted - holdback), ${level} always-valid interval ${intervalText(d.ci, scale.metric)}` +
        (typeof d.pWorse === 'number' ? `, worse beyond the margin ${formatP(d.pWorse)}` : ''),
    );
  }
  for (const g of d.guardrails ?? []) lines.push(`           guardrail ${g.text}${g.breached ? ' (BREACHED)' : ''}`);
  if (d.reason) lines.push(`           ${d.reason}`);
  return lines;
}

export function rolloutDetailLines(d: RolloutDetail, scale: EvidenceScale, now: Date): string[] {
  const r = d.rollout;
  const plan = r.plan as unknown as RolloutPlan;
  const stepPlan = plan.steps[r.step];
  const hw = Number(r.holdback_weight);
  const lines = [
    `rollout    ${r.id}`,
    `prompt     ${r.prompt_key}  experiment ${r.experiment_id}`,
    `versions   v${r.promoted_version} promoted, v${r.holdback_version} holdback`,
    `phase      ${r.phase}  status ${r.status}`,
    `step       ${stepText(r)}${stepPlan ? ` (${share(stepPlan.share)} of the ramp, held at least ${hoursText(stepPlan.holdHours)})` : ''} since ${formatTime(r.step_started_at)} (${formatAge(r.step_started_at, now)})`,
    `split      holdback ${share(hw)} (v${r.holdback_version}) / promoted ${share(1 - hw)} (v${r.promoted_version})`,
    `plan       ${planText(plan, scale.metric)}`,
    `started    ${formatTime(r.started_at)} (${formatAge(r.started_at, now)})${r.ended_at ? `  ended ${formatTime(r.ended_at)}` : ''}`,
  ];
  if (r.reason && r.status !== 'live') lines.push(`ended as   ${r.status}: ${r.reason}`);
  if (d.live) {
    const last = d.live.last;
    lines.push(`watch      running, ${d.live.checks} check(s)${last ? `, last: ${last.action}` : ', no check yet'}`);
  } else if (r.status === 'live') {
    lines.push('watch      not answering (the reconcile schedule restarts a missing watch)');
  }
  lines.push(...evidenceLines(d.checks.at(-1), scale), `checks     ${d.checks.length}`, '', rolloutEventsTable(r.events), '');
  lines.push(`web ui     ${d.workflowUrl}`);
  return lines;
}

const DONE: Record<RolloutAction, string> = {
  advance: 'advanced',
  hold: 'held',
  resume: 'resumed',
  finish: 'finished',
  rollback: 'rolled back',
};

/** What a steering command did, or that it found the rollout already so. */
export function steeredLines(action: RolloutAction, res: RolloutSteered, fromStep?: number): string[] {
  const r = res.rollout;
  const where = `${r.prompt_key} now ${r.phase}, step ${stepText(r)}, split ${splitText(r)}`;
  let head: string;
  if (!res.changed) {
    head =
      action === 'advance' && fromStep !== undefined
        ? `rollout ${r.id} had already left step ${fromStep}: nothing changed (${where})`
        : `rollout ${r.id} was already ${DONE[action]}: nothing changed (${where})`;
  } else {
    const by = r.events.at(-1);
    head = `rollout ${r.id} ${DONE[action]}${by ? ` by ${by.actor}` : ''}: ${where}`;
  }
  const lines = [head];
  if (action === 'rollback' && r.promotion_event) lines.push(`the holdback v${r.holdback_version} is the active version again`);
  lines.push(`web ui    ${res.workflowUrl}`);
  return lines;
}
