/**
 * Pure formatting of the demo's terminal output: one line per step or monitoring check, and the
 * final summary. No I/O, no clock: everything arrives as arguments, so it is unit-tested.
 */
import type { AnalysisSummary } from '../activities';
import type { Decision, ExperimentPolicy, VariantAssessment } from '../domain/types';
import { armLabel, formatCount, formatEffect, formatNumber, formatP, formatPercent } from '../stats/format';

export interface ArmCount {
  arm: number;
  n: number;
  successes: number;
}

export interface CheckView {
  checkNo: number;
  arms: ArmCount[];
  decision: Decision | null;
  minSamplesPerArm: number;
  /** Conversations the simulator has logged so far (all arms). */
  sent?: number;
}

export interface InsightView {
  kind: string;
  segment: string | null;
  severity: string;
  isActionable: boolean;
  evidence: Record<string, unknown>;
}

export interface VariantView {
  arm: number;
  version: number;
  /** Short content hash (sha256 of the normalized prompt). */
  hash: string;
  rationale: string | null;
  /** What the variant adds to the control. */
  added: string;
  /** The simulator's TRUE overall success rate for this version. */
  trueRate: number;
  trulyBetter: boolean;
}

export interface SummaryView {
  promptKey: string;
  elapsedMs: number;
  outcome: string;
  analysis: { conversations: number; successRate: number | null; controlVersion: number };
  insights: InsightView[];
  control: { version: number; hash: string; trueRate: number };
  variants: VariantView[];
  checks: number;
  /** Arms at the last check. */
  arms: ArmCount[];
  decision: Decision | null;
  alpha: number;
  promotion: { fromVersion: number | null; toVersion: number; arm: number | null; hash: string; kind: string; actor: string } | null;
  links: { ui: string; cycle: string; monitor: string | null };
  weakTopic: string;
  lift: number;
}

const RULE = '─'.repeat(78);

/** 12_345 ms -> "00:12.3". */
export function formatClock(ms: number): string {
  const safe = Math.max(0, Number.isFinite(ms) ? ms : 0);
  const tenths = Math.floor(safe / 100);
  const minutes = Math.floor(tenths / 600);
  const seconds = (tenths % 600) / 10;
  return `${String(minutes).padStart(2, '0')}:${seconds.toFixed(1).padStart(4, '0')}`;
}

/** A progress line with the time since the demo started. */
export function stamp(elapsedMs: number, text: string): string {
  return `[${formatClock(elapsedMs)}] ${text}`;
}

function rate(r: number | null): string {
  return r === null ? 'n/a' : formatPercent(r);
}

function points(d: number): string {
  return formatEffect(d, 'success').replace(' points', '');
}

export function formatAnalysis(a: AnalysisSummary, controlVersion: number): string {
  const kinds = a.kinds.length > 0 ? `: ${a.kinds.join(', ')}` : '';
  return (
    `  analysis of v${controlVersion}: ${formatCount(a.conversations)} conversations, success ${rate(a.successRate)}; ` +
    `${a.insights} insight${a.insights === 1 ? '' : 's'}, ${a.actionable} actionable${kinds}`
  );
}

export function formatGenerated(
  strategy: string,
  versions: Array<{ arm: number; version: number; rationale: string | null }>,
  rejected: number,
): string[] {
  const head = `  ${versions.length} variant${versions.length === 1 ? '' : 's'} stored (strategy ${strategy}${rejected > 0 ? `, ${rejected} rejected by validation` : ''})`;
  return [head, ...versions.map((v) => `    ${armLabel(v.arm)} = v${v.version}: ${truncate(v.rationale ?? '(no rationale)', 110)}`)];
}

export function formatExperimentCreated(
  experimentId: string,
  arms: Array<{ arm: number; version: number; weight: number }>,
  policy: Pick<ExperimentPolicy, 'checkIntervalSeconds' | 'minSamplesPerArm' | 'maxDurationHours' | 'alpha'>,
): string[] {
  const split = arms.map((a) => `${armLabel(a.arm)} v${a.version} ${formatPercent(a.weight, 0)}`).join(', ');
  return [
    `  experiment ${experimentId}: ${split}`,
    `  policy: a check every ${formatNumber(policy.checkIntervalSeconds)} s, >= ${formatCount(policy.minSamplesPerArm)} conversations per arm, ` +
      `alpha ${formatNumber(policy.alpha)}, stop after ${formatNumber(policy.maxDurationHours * 60)} min`,
  ];
}

/** The variant with the highest estimate (ties: lowest arm). */
export function bestVariant(decision: Decision | null): VariantAssessment | undefined {
  if (!decision || decision.variants.length === 0) return undefined;
  return [...decision.variants].sort((a, b) => b.estimate - a.estimate || a.arm - b.arm)[0];
}

function actionLabel(decision: Decision | null): string {
  if (!decision) return 'no decision';
  switch (decision.action) {
    case 'promote':
      return `PROMOTE ${decision.winner ? armLabel(decision.winner.arm) : ''}`.trim();
    case 'keep_control':
      return 'KEEP CONTROL';
    case 'stop_guardrail':
      return 'STOP (guardrail)';
    case 'continue':
      return 'continue';
  }
}

/** One line per monitoring check: counts per arm, the best variant's numbers, the action. */
export function formatCheck(c: CheckView): string {
  const counts = [...c.arms]
    .sort((a, b) => a.arm - b.arm)
    .map((a) => `${a.arm === 0 ? 'control' : `v${a.arm}`} ${formatCount(a.n)}`)
    .join(' · ');
  const gated = c.arms.some((a) => a.n < c.minSamplesPerArm);
  const best = bestVariant(c.decision);
  let evidence: string;
  if (!best) evidence = 'no estimate yet';
  else {
    evidence =
      `best ${armLabel(best.arm)} ${points(best.estimate)} pts, always-valid ${formatP(best.pValue)} ` +
      `(Holm ${formatP(best.adjustedPValue)}), P(beat) ${formatPercent(best.probBeatControl, 0)}`;
  }
  const gate = gated ? ` (gathering >= ${formatCount(c.minSamplesPerArm)}/arm)` : '';
  const sent = c.sent !== undefined ? ` │ sent ${formatCount(c.sent)}` : '';
  return `  check ${String(c.checkNo).padStart(2)} │ n: ${counts} │ ${evidence}${gate} │ ${actionLabel(c.decision)}${sent}`;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v)
    ? v
    : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : undefined;
}

function interval(v: unknown): [number, number] | undefined {
  if (!Array.isArray(v) || v.length !== 2) return undefined;
  const lo = num(v[0]);
  const hi = num(v[1]);
  return lo !== undefined && hi !== undefined ? [lo, hi] : undefined;
}

/** Evidence of an insight in words for the usual kinds, `key=value` for the rest. */
export function formatEvidence(kind: string, evidence: Record<string, unknown>): string {
  if (kind === 'low_success_segment') {
    const r = num(evidence.rate);
    const ci = interval(evidence.rate_ci);
    const rest = num(evidence.rest_rate);
    const n = num(evidence.n);
    const restN = num(evidence.rest_n);
    const z = num(evidence.z);
    if (r !== undefined && rest !== undefined) {
      const ciText = ci ? `95% CI ${formatPercent(ci[0])}–${formatPercent(ci[1])}, ` : '';
      return (
        `success ${formatPercent(r)} (${ciText}n=${formatCount(n ?? 0)}) vs ${formatPercent(rest)} on the other topics ` +
        `(n=${formatCount(restN ?? 0)})${z !== undefined ? `, z=${z}` : ''}`
      );
    }
  }
  return Object.entries(evidence)
    .map(([k, v]) => {
      const iv = interval(v);
      if (iv) return `${k}=[${formatNumber(iv[0])}, ${formatNumber(iv[1])}]`;
      const x = num(v);
      return x === undefined ? undefined : `${k}=${formatNumber(x, 4)}`;
    })
    .filter((s): s is string => s !== undefined)
    .join(', ');
}

function truncate(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= max ? one : `${one.slice(0, max - 1)}…`;
}

/** The first non-empty lines a variant adds to the control. */
export function firstLines(added: string, count = 3, width = 100): string[] {
  return added
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(0, count)
    .map((l) => truncate(l, width));
}

function versionOfArm(v: SummaryView, arm: number | null): string {
  if (arm === null) return '?';
  if (arm === 0) return `v${v.control.version}`;
  const variant = v.variants.find((x) => x.arm === arm);
  return variant ? `v${variant.version}` : '?';
}

/** Did the optimizer pick what the simulator made truly better? */
export function verdict(v: SummaryView): { ok: boolean; text: string } {
  const better = v.variants.filter((x) => x.trulyBetter);
  const names = better.map((x) => `${armLabel(x.arm)} (v${x.version}, ${x.hash})`).join(' and ');
  const truth =
    better.length > 0
      ? `the simulator made ${names} truly better (+${formatNumber(v.lift * 100)} points on "${v.weakTopic}")`
      : 'the simulator made no variant truly better';
  if (!v.promotion) {
    return better.length > 0
      ? { ok: false, text: `${truth}; nothing was promoted (missed it).` }
      : { ok: true, text: `${truth}; nothing was promoted (correct).` };
  }
  const promoted = `${v.promotion.arm === null ? `v${v.promotion.toVersion}` : armLabel(v.promotion.arm)} (v${v.promotion.toVersion}, ${v.promotion.hash})`;
  const ok = better.some((x) => x.arm === v.promotion!.arm);
  return { ok, text: `${truth}; the optimizer promoted ${promoted}${ok ? ' (correct).' : ' (WRONG).'}` };
}

export function formatSummary(v: SummaryView): string[] {
  const out: string[] = ['', RULE, `Summary: ${v.promptKey}, outcome ${v.outcome.toUpperCase()} after ${formatClock(v.elapsedMs)}`, RULE];

  out.push(
    `Insights (analysis of ${formatCount(v.analysis.conversations)} logged conversations on v${v.analysis.controlVersion}, ` +
      `success ${rate(v.analysis.successRate)}):`,
  );
  if (v.insights.length === 0) out.push('  (none)');
  for (const i of v.insights) {
    out.push(`  • ${i.kind}${i.segment ? ` [${i.segment}]` : ''}, severity ${i.severity}${i.isActionable ? ', actionable' : ''}`);
    const evidence = formatEvidence(i.kind, i.evidence);
    if (evidence) out.push(`    evidence: ${evidence}`);
  }

  out.push('', `Variants (control v${v.control.version}, ${v.control.hash}, TRUE success ${formatPercent(v.control.trueRate)}):`);
  if (v.variants.length === 0) out.push('  (none)');
  for (const x of v.variants) {
    out.push(
      `  • ${armLabel(x.arm)} = v${x.version}, ${x.hash}, TRUE success ${formatPercent(x.trueRate)}` +
        `${x.trulyBetter ? ` (truly better: +${formatNumber(v.lift * 100)} points on "${v.weakTopic}")` : ' (truly neutral)'}`,
    );
    out.push(`    rationale: ${truncate(x.rationale ?? '(none)', 160)}`);
    for (const l of firstLines(x.added)) out.push(`    + ${l}`);
  }

  out.push(
    '',
    `Decision after ${v.checks} check${v.checks === 1 ? '' : 's'}` +
      (v.arms.length > 0
        ? ` (${[...v.arms]
            .sort((a, b) => a.arm - b.arm)
            .map((a) => `${armLabel(a.arm)} ${formatCount(a.n)}`)
            .join(', ')}):`
        : ':'),
  );
  const d = v.decision;
  if (!d) out.push('  (no decision recorded)');
  else {
    out.push(`  action: ${d.action}${d.winner ? ` ${armLabel(d.winner.arm)} (${versionOfArm(v, d.winner.arm)})` : ''}`);
    const shown = d.winner ? d.variants.find((a) => a.arm === d.winner!.arm) : bestVariant(d);
    for (const a of [...d.variants].sort((p, q) => p.arm - q.arm)) {
      const mark = shown && a.arm === shown.arm ? '→' : ' ';
      out.push(
        `  ${mark} ${armLabel(a.arm)}: estimate ${points(a.estimate)} points, ${formatNumber((1 - v.alpha) * 100)}% always-valid CI ` +
          `[${points(a.ci[0])}, ${points(a.ci[1])}], always-valid ${formatP(a.pValue)}, Holm-adjusted ${formatP(a.adjustedPValue)}, ` +
          `P(beat control) ${formatPercent(a.probBeatControl)}`,
      );
    }
    out.push(`  SRM check: chi-square ${d.srm.chiSquare.toFixed(2)}, ${formatP(d.srm.pValue)}${d.srm.mismatch ? ' (MISMATCH)' : ' (ok)'}`);
    out.push(`  reason: ${d.reason}`);
  }

  out.push('');
  if (v.promotion) {
    out.push(
      `Promotion: ${v.promptKey} v${v.promotion.fromVersion ?? '?'} → v${v.promotion.toVersion} ` +
        `(${v.promotion.arm === null ? 'version' : armLabel(v.promotion.arm)}, content ${v.promotion.hash}), ${v.promotion.kind} by ${v.promotion.actor}`,
    );
  } else {
    out.push(`Promotion: none, v${v.control.version} stays active (${v.outcome}).`);
  }
  const truth = verdict(v);
  out.push(`Truth check: ${truth.text}`);

  out.push('', `Temporal Web UI: ${v.links.ui}`, `  cycle workflow:   ${v.links.cycle}`);
  if (v.links.monitor) out.push(`  monitor workflow: ${v.links.monitor}`);
  out.push(RULE);
  return out;
}
