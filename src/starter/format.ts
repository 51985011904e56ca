/**
 * Human output of the starter CLI: pure functions from API/Temporal data to lines of text, so the
 * wording is unit-tested without a worker. Times are passed in (`now`) for the same reason.
 */
import type { Decision, VariantAssessment } from '../domain/types';
import { formatEffect, formatP } from '../stats/format';
import type { ExperimentWithArms, JobRow } from '../store/rows';
import type { MonitorStatus } from '../workflows/definitions';
import type { CreatedJob, ExperimentDetail, JobDetail } from './api';

/** What `schedules list` shows for one schedule (filled from a Temporal describe). */
export interface ScheduleRow {
  id: string;
  workflowType: string | null;
  everyMs: number[];
  paused: boolean;
  note: string | null;
  nextRun: Date | null;
  recentActions: Array<{ at: Date; workflowId: string }>;
}

/** Left-aligned columns separated by two spaces; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** 3_600_000 -> "1h", 90_000 -> "1m30s", 1_500 -> "1.5s". */
export function formatInterval(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(1))}s`;
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  let rest = Math.round(ms / 1000) * 1000;
  let out = '';
  for (const [u, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${u}`;
    rest -= n * size;
  }
  return out;
}

/** "12s ago", "in 4m", "just now": enough to tell whether something is stale. */
export function formatAge(at: string | Date | null | undefined, now: Date): string {
  if (!at) return '-';
  const ms = new Date(at).getTime() - now.getTime();
  if (Number.isNaN(ms)) return '-';
  const abs = Math.abs(ms);
  if (abs < 1000) return 'just now';
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)}s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)}m`
        : abs < 172_800_000
          ? `${Math.round(abs / 3_600_000)}h`
          : `${Math.round(abs / 86_400_000)}d`;
  return ms < 0 ? `${text} ago` : `in ${text}`;
}

/** "2026-11-29 12:00:01Z": sortable, unambiguous, no locale. */
export function formatTime(at: string | Date | null | undefined): string {
  if (!at) return '-';
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? '-' : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

export const shortId = (id: string | null | undefined): string => (id ? id.slice(0, 8) : '-');

/** The prompt key a job is about, from its params (every job type but monitoring has one). */
export function jobPromptKey(job: Pick<JobRow, 'params'>): string {
  const p = job.params as Record<string, unknown> | null;
  if (typeof p?.promptKey === 'string') return p.promptKey;
  if (typeof p?.experimentId === 'string') return `experiment ${shortId(p.experimentId)}`;
  return '-';
}

/** Version labels ("v3") from an experiment's arms; unknown ids fall back to a short id. */
export function versionLabels(exp: Pick<ExperimentWithArms, 'arms'> | null | undefined): (versionId: string | null | undefined) => string {
  const map = new Map((exp?.arms ?? []).map((a) => [a.version_id, `v${a.version}`]));
  return (id) => (id ? (map.get(id) ?? shortId(id)) : '-');
}

export function jobsTable(jobs: JobRow[], now: Date): string {
  if (jobs.length === 0) return 'no jobs';
  return table(
    ['ID', 'TYPE', 'STATUS', 'PROMPT', 'CREATED', 'BY', 'WORKFLOW'],
    jobs.map((j) => [String(j.id), j.type, j.status, jobPromptKey(j), formatAge(j.created_at, now), j.created_by, j.workflow_id ?? '-']),
  );
}

export function createdJobLines(res: CreatedJob): string[] {
  return [
    `job ${res.job.id} (${res.job.type}, ${jobPromptKey(res.job)}) ${res.job.status}`,
    `workflow  ${res.workflowId}`,
    `web ui    ${res.workflowUrl}`,
  ];
}

interface PromotionLike {
  fromVersionId: string | null;
  toVersionId: string;
  kind: string;
  actor: string;
}
interface JobResultLike {
  outcome?: string;
  experimentId?: string;
  promptKey?: string;
  conversations?: number;
  successRate?: number | null;
  insights?: number;
  actionable?: number;
  kinds?: string[];
  analysis?: { conversations: number; actionable: number };
  variants?: { versionIds: string[]; strategy: string };
  versionIds?: string[];
  rejected?: unknown[];
  strategy?: string;
  monitor?: string | { outcome: string; checks: number; promotion?: PromotionLike; decision?: Decision | null };
  monitorWorkflowId?: string;
}

function promotionText(p: PromotionLike, label: (id: string | null) => string): string {
  return `promoted ${label(p.toVersionId)} over ${label(p.fromVersionId)} (${p.kind} by ${p.actor})`;
}

/** One sentence per job type saying what the job did (the row's `result`), or why it failed. */
export function jobResultSummary(job: Pick<JobRow, 'type' | 'status' | 'result' | 'error'>, label = versionLabels(null)): string {
  if (job.status === 'failed') return `failed: ${job.error ?? 'unknown error'}`;
  if (job.status !== 'completed') return job.status;
  const r = (job.result ?? {}) as JobResultLike;
  switch (job.type) {
    case 'pattern_analysis': {
      const rate = typeof r.successRate === 'number' ? `, success ${(r.successRate * 100).toFixed(1)}%` : '';
      const kinds = r.kinds && r.kinds.length > 0 ? ` (${r.kinds.join(', ')})` : '';
      return `analyzed ${r.conversations ?? 0} conversations${rate}: ${r.insights ?? 0} insights, ${r.actionable ?? 0} actionable${kinds}`;
    }
    case 'variant_generation':
      return `generated ${r.versionIds?.length ?? 0} variant(s) with ${r.strategy ?? '?'}${r.rejected?.length ? `, ${r.rejected.length} rejected` : ''}`;
    case 'experiment_creation':
      return `experiment ${r.experimentId ?? '?'} created, monitored by ${r.monitorWorkflowId ?? '?'}`;
    case 'experiment_monitoring':
      return `monitor of experiment ${r.experimentId ?? '?'}: ${typeof r.monitor === 'string' ? r.monitor : '?'}`;
    case 'full_cycle': {
      const m = typeof r.monitor === 'object' ? r.monitor : undefined;
      if (m?.promotion) return `${promotionText(m.promotion, label)} after ${m.checks} check(s)`;
      if (r.outcome === 'no_action')
        return `no action: ${r.analysis?.actionable ?? 0} actionable insights in ${r.analysis?.conversations ?? 0} conversations (use --force to run anyway)`;
      const reason = m?.decision?.reason ? `: ${m.decision.reason}` : '';
      return `${r.outcome ?? 'completed'}${m ? ` after ${m.checks} check(s)` : ''}${reason}`;
    }
  }
}

export function jobDetailLines(d: JobDetail, now: Date): string[] {
  const j = d.job;
  return [
    `job ${j.id}  ${j.type}  ${j.status}`,
    `prompt     ${jobPromptKey(j)}`,
    `params     ${JSON.stringify(j.params)}`,
    `created    ${formatTime(j.created_at)} (${formatAge(j.created_at, now)}) by ${j.created_by}`,
    `started    ${formatTime(j.started_at)}`,
    `finished   ${formatTime(j.finished_at)}`,
    `attempts   ${j.attempts}`,
    `result     ${jobResultSummary(j)}`,
    `workflow   ${j.workflow_id ?? '-'}`,
    ...(d.workflowUrl ? [`web ui     ${d.workflowUrl}`] : []),
  ];
}

export function experimentsTable(exps: ExperimentWithArms[], now: Date): string {
  if (exps.length === 0) return 'no experiments';
  return table(
    ['ID', 'PROMPT', 'STATUS', 'OUTCOME', 'ARMS', 'WINNER', 'CREATED'],
    exps.map((e) => {
      const label = versionLabels(e);
      const arms = [...e.arms]
        .sort((a, b) => a.arm - b.arm)
        .map((a) => `v${a.version}`)
        .join(' vs ');
      return [
        e.id,
        e.prompt_key,
        e.status,
        e.outcome ?? '-',
        arms,
        e.winner_version_id ? label(e.winner_version_id) : '-',
        formatAge(e.created_at, now),
      ];
    }),
  );
}

/** "v2 +12.0 points p=0.012 (holm p=0.024) P(beat)=98%": one variant's evidence, compactly. */
export function variantEvidence(v: VariantAssessment, metric: 'success' | 'rating', label: (id: string) => string): string {
  const holm = v.adjustedPValue !== v.pValue ? ` (holm ${formatP(v.adjustedPValue)})` : '';
  const guard = v.guardrailViolations.length > 0 ? ` guardrails: ${v.guardrailViolations.join(', ')}` : '';
  return `${label(v.versionId)} ${formatEffect(v.estimate, metric)} ${formatP(v.pValue)}${holm} P(beat)=${Math.round(v.probBeatControl * 100)}%${guard}`;
}

/** The sample ratio trip in words: it is sticky, so say what it means for the experiment. */
export function srmWords(srm: Decision['srm']): string {
  const trip = srm.tripped;
  if (!trip) return `sample ratio mismatch (${formatP(srm.pValue)})`;
  const what = trip.test === 'topics' ? 'topic mix differs between arms' : 'traffic split is off';
  return `sample ratio mismatch since hour ${Math.round(trip.atHours * 10) / 10}: ${what} (${formatP(trip.pValue)}), can never promote: stop or restart`;
}

/** The one line `--wait` prints whenever the monitor's status changes. */
export function liveLine(live: MonitorStatus, exp: Pick<ExperimentWithArms, 'arms' | 'metric'>): string {
  const label = versionLabels(exp);
  const parts = [`check ${live.checks}`, live.phase];
  const d = live.lastDecision;
  if (d) {
    parts.push(d.action);
    for (const v of d.variants) parts.push(variantEvidence(v, exp.metric, label));
    if (!d.gatesMet) parts.push('min samples not reached');
    if (d.srm?.mismatch) parts.push(srmWords(d.srm));
  } else {
    parts.push('no check yet');
  }
  if (live.pendingWinner) parts.push(`awaiting approval of ${label(live.pendingWinner.versionId)}`);
  return parts.join(' · ');
}

/**
 * The newest decision: the live monitor's, else the one stored at conclusion (which may be only
 * `{ reason }` when an operator stopped the experiment before any check), else the last snapshot's.
 */
function latestDecision(d: ExperimentDetail): Partial<Decision> | null {
  const fromSnapshot = d.snapshots.at(-1)?.decision as unknown as Decision | undefined;
  return d.live?.lastDecision ?? (d.experiment.decision as Partial<Decision> | null) ?? fromSnapshot ?? null;
}

export function experimentDetailLines(d: ExperimentDetail, now: Date): string[] {
  const e = d.experiment;
  const label = versionLabels(e);
  const lastArms = (d.snapshots.at(-1)?.arms ?? []) as Array<{ arm: number; n: number; successes: number }>;
  const counts = new Map(lastArms.map((a) => [a.arm, a]));
  const arms = [...e.arms]
    .sort((a, b) => a.arm - b.arm)
    .map((a) => {
      const c = counts.get(a.arm);
      return [
        a.arm === 0 ? 'control' : `variant ${a.arm}`,
        `v${a.version}`,
        a.version_id,
        String(Number(a.weight)),
        c ? String(c.n) : '-',
        c ? String(c.successes) : '-',
      ];
    });
  const lines = [
    `experiment ${e.id}`,
    `prompt     ${e.prompt_key}  metric ${e.metric}`,
    `status     ${e.status}${e.outcome ? ` (${e.outcome})` : ''}${e.winner_version_id ? `  winner ${label(e.winner_version_id)}` : ''}`,
    `created    ${formatTime(e.created_at)} (${formatAge(e.created_at, now)})${e.concluded_at ? `  concluded ${formatTime(e.concluded_at)}` : ''}`,
    ...(e.stale_since ? [`stale since ${formatTime(e.stale_since)} (its monitor was restarted)`] : []),
    '',
    table(['ARM', 'VERSION', 'VERSION ID', 'WEIGHT', 'N', 'SUCCESSES'], arms),
    '',
  ];
  if (d.live) lines.push(`live       ${liveLine(d.live, e)}`);
  const decision = latestDecision(d);
  if (decision) {
    lines.push(`decision   ${decision.action ?? e.outcome ?? '-'}: ${decision.reason ?? '-'}`);
    for (const v of decision.variants ?? []) lines.push(`           ${variantEvidence(v, e.metric, label)}`);
  } else {
    lines.push('decision   none yet');
  }
  lines.push(`snapshots  ${d.snapshots.length}`, `web ui     ${d.workflowUrl}`);
  return lines;
}

export function schedulesTable(rows: ScheduleRow[], now: Date): string {
  if (rows.length === 0) return 'no schedules (the worker creates them at boot unless SCHEDULES_ENABLED=false)';
  return table(
    ['ID', 'WORKFLOW', 'EVERY', 'PAUSED', 'NEXT RUN', 'RECENT ACTIONS'],
    rows.map((s) => [
      s.id,
      s.workflowType ?? '-',
      s.everyMs.map(formatInterval).join(',') || '-',
      s.paused ? `yes${s.note ? ` (${s.note})` : ''}` : 'no',
      s.paused ? '-' : formatAge(s.nextRun, now),
      s.recentActions.length === 0
        ? '-'
        : s.recentActions
            .slice(-3)
            .map((a) => formatAge(a.at, now))
            .join(', '),
    ]),
  );
}
