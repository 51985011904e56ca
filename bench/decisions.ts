/**
 * Benchmark: the old peeking rule versus the decision engine on the same simulated traffic.
 *
 *   npx tsx bench/decisions.ts [--runs N] [--seed S] [--json FILE] [--svg FILE] [--per-day 1000]
 *                              [--base 0.70] [--days 14] [--check-minutes 15] [--workers W]
 *                              [--scenarios id,id,...]
 *
 * Traffic is simulated per conversation the way production logs it (src/stats/simulate.ts):
 * Poisson arrivals per check split over (arm, topic) cells, success and error per conversation,
 * lognormal latency, tokens, ratings on a share of conversations. At every check both policies
 * see the cumulative aggregates in the shape `experiment_arm_stats` reports (n, successes,
 * errors, ratings, sample p95 latency and the count above the latency threshold, tokens, topics,
 * the recent 24 h), until both have decided or the horizon ends. A run's traffic depends only on
 * (seed, scenario, run index), so results do not depend on how runs are split over worker
 * processes or which scenarios are selected; scenarios marked `sameTrafficAs` replay another's
 * traffic exactly, so their difference is the policy's alone.
 *
 * OLD rule: promote at the first check where every arm has more than 100 conversations and some
 * variant has one-sided z-test confidence Phi(z) > 90% on the success rate (the best such
 * variant). It only reads n and successes; it is left out for the rating scenario.
 * ENGINE: decide() with DEFAULT_POLICY plus the scenario's overrides, memory carried between checks.
 *
 * The bounds of issue 12 item 7 are printed next to the figures (PASS/FAIL). This is a
 * measurement, not a test: the exit code is 0 either way.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULT_POLICY, type ArmStats, type DecisionMemory, type ExperimentPolicy } from '../src/domain/types';
import { decide, ENGINE, fixedHorizonSampleSize, normalCdf } from '../src/stats';
import { DEFAULT_WATCH_POLICY, watch, type WatchMemory } from '../src/stats/watch';
import {
  addConversationCheck,
  emptyTraffic,
  mulberry32,
  normalSampler,
  seedFor,
  trafficArmStats,
  type ConversationScenario,
} from '../src/stats/simulate';
import { evaluateBounds, type BoundResult } from './bounds';
import {
  ERROR_RATE,
  LATENCY_MEDIAN_MS,
  LATENCY_SD_LOG,
  RATING_MEAN,
  RATING_SHARE,
  scenarios,
  TOKENS_MEAN,
  type Figure,
  type Scenario,
} from './scenarios';

// ---------------------------------------------------------------------------------------------
// Configuration.

const OLD_MIN_CONVERSATIONS = 100;
const OLD_CONFIDENCE = 0.9;

interface Config {
  runs: number;
  seed: number;
  perDay: number;
  base: number;
  days: number;
  checkMinutes: number;
  workers: number;
  /** Ids of the scenarios to run (all when the option is absent). */
  scenarios: string[];
  json?: string;
  svg?: string;
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
      json: { type: 'string' },
      svg: { type: 'string' },
      'per-day': { type: 'string', default: '1000' },
      base: { type: 'string', default: '0.70' },
      days: { type: 'string', default: '14' },
      'check-minutes': { type: 'string', default: '15' },
      workers: { type: 'string', default: String(Math.min(8, availableParallelism())) },
      scenarios: { type: 'string' },
      worker: { type: 'boolean', default: false },
    },
  });
  const num = (name: string, value: string | undefined, min: number): number => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < min) throw new Error(`--${name} must be a number >= ${min}, got ${value}`);
    return parsed;
  };
  const known = scenarios(0.7).map((s) => s.id);
  const chosen =
    values.scenarios === undefined
      ? known
      : values.scenarios
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean);
  const unknown = chosen.filter((id) => !known.includes(id));
  if (unknown.length > 0 || chosen.length === 0) {
    throw new Error(`--scenarios takes a comma-separated list of: ${known.join(', ')} (unknown: ${unknown.join(', ') || 'none given'})`);
  }
  const config: Config = {
    runs: Math.floor(num('runs', values.runs, 1)),
    seed: Math.floor(num('seed', values.seed, 0)),
    perDay: num('per-day', values['per-day'], 1),
    base: num('base', values.base, 0.02),
    days: num('days', values.days, 0.01),
    checkMinutes: num('check-minutes', values['check-minutes'], 0.1),
    workers: Math.max(1, Math.floor(num('workers', values.workers, 1))),
    scenarios: known.filter((id) => chosen.includes(id)),
    json: values.json,
    svg: values.svg,
  };
  if (config.base > 0.93) throw new Error('--base must leave room for a +5 point lift (<= 0.93)');
  return config;
}

/** The selected scenarios, each with its index in the full list (its seed stream). */
function selected(config: Config): { scenario: Scenario; stream: number }[] {
  const all = scenarios(config.base);
  const indexOf = (id: string) => all.findIndex((s) => s.id === id);
  return all
    .filter((s) => config.scenarios.includes(s.id))
    .map((scenario) => ({ scenario, stream: indexOf(scenario.sameTrafficAs ?? scenario.id) }));
}

// ---------------------------------------------------------------------------------------------
// Traffic and policy of a scenario.

function policyFor(config: Config, scenario: Scenario): ExperimentPolicy {
  const policy: Record<string, unknown> = {
    ...DEFAULT_POLICY,
    maxDurationHours: config.days * 24,
    checkIntervalSeconds: config.checkMinutes * 60,
    ...scenario.policy,
  };
  for (const key of Object.keys(policy)) if (policy[key] === undefined) delete policy[key];
  return policy as unknown as ExperimentPolicy;
}

function trafficFor(config: Config, scenario: Scenario, policy: ExperimentPolicy): ConversationScenario {
  const t = scenario.traffic;
  const arms = scenario.rates.length;
  const each = (value: number) => Array.from({ length: arms }, () => value);
  return {
    topics: t.topics,
    weights: t.weights,
    assignment: t.assignment,
    topicMix: t.topicMix,
    perCheck: (config.perDay * config.checkMinutes) / 1440,
    checkHours: config.checkMinutes / 60,
    errorRates: t.errorRates ?? each(ERROR_RATE),
    latency: { medianMs: t.latencyMedianMs ?? each(LATENCY_MEDIAN_MS), sdLog: t.latencySdLog ?? LATENCY_SD_LOG },
    tokens: { mean: t.tokensMean ?? each(TOKENS_MEAN) },
    ratings: { share: t.ratingShare ?? RATING_SHARE, mean: t.ratingMean ?? each(RATING_MEAN) },
    latencyThresholdFactor: 1 + (policy.guardrails?.latencyP95Margin ?? DEFAULT_POLICY.guardrails.latencyP95Margin),
    // The window SQL reports as `recent`: the policy's recentWindowHours (issue 12 item 3).
    recentHours: policy.recentWindowHours,
  };
}

// ---------------------------------------------------------------------------------------------
// The two policies.

/** Arm promoted by the old rule at this check, or null. */
function oldRule(counts: readonly Pick<ArmStats, 'n' | 'successes'>[]): number | null {
  const control = counts[0];
  if (!control || counts.some((c) => c.n <= OLD_MIN_CONVERSATIONS)) return null;
  const pc = control.successes / control.n;
  let best: { arm: number; confidence: number } | null = null;
  counts.forEach((c, arm) => {
    if (arm === 0) return;
    const pv = c.successes / c.n;
    const se = Math.sqrt((pc * (1 - pc)) / control.n + (pv * (1 - pv)) / c.n);
    if (!(se > 0)) return;
    const confidence = normalCdf((pv - pc) / se);
    if (confidence > OLD_CONFIDENCE && (!best || confidence > best.confidence)) best = { arm, confidence };
  });
  return (best as { arm: number } | null)?.arm ?? null;
}

/** One policy's outcome for one run. */
interface Outcome {
  /** Promoted arm, or null (kept control / stopped / horizon). */
  promoted: number | null;
  /** Hours at which the policy decided anything (promotion or stop), null if it never did. */
  hours: number | null;
}

interface RunOutcome {
  /** Null when the old rule does not apply to the scenario. */
  old: Outcome | null;
  engine: Outcome;
}

function withoutTopics(arms: ArmStats[]): ArmStats[] {
  return arms.map(({ topics: _topics, ...rest }) => rest);
}

/**
 * A watch after a promotion (issue 15): arm 0 is the holdback, arm 1 the promoted version; the
 * outcome's `promoted` is 1 when the watch rolled back, at that hour.
 */
function simulateWatch(config: Config, scenario: Scenario, spec: NonNullable<Scenario['watch']>, stream: number, run: number): RunOutcome {
  const rng = mulberry32(seedFor(config.seed, stream, run));
  const normal = normalSampler(rng);
  const checkHours = config.checkMinutes / 60;
  const traffic = emptyTraffic(trafficFor({ ...config, perDay: spec.perDay }, scenario, policyFor(config, scenario)));
  let memory: WatchMemory | undefined;
  for (let check = 1; check <= Math.round(spec.hours / checkHours); check++) {
    addConversationCheck(traffic, rng, normal);
    const hours = check * checkHours;
    const [holdback, promoted] = trafficArmStats(traffic);
    const out = watch({
      promoted: promoted!,
      holdback: holdback!,
      policy: { ...DEFAULT_WATCH_POLICY, watchHours: spec.hours },
      memory,
      elapsedHours: hours,
    });
    memory = out.memory;
    if (out.decision.action === 'rollback') return { old: null, engine: { promoted: 1, hours } };
    if (out.decision.action === 'complete') return { old: null, engine: { promoted: null, hours: null } };
  }
  return { old: null, engine: { promoted: null, hours: null } };
}

function simulateRun(config: Config, scenario: Scenario, stream: number, run: number): RunOutcome {
  if (scenario.watch) return simulateWatch(config, scenario, scenario.watch, stream, run);
  const rng = mulberry32(seedFor(config.seed, stream, run));
  const normal = normalSampler(rng);
  const checkHours = config.checkMinutes / 60;
  const checks = Math.round((config.days * 24) / checkHours);
  const policy = policyFor(config, scenario);
  const traffic = emptyTraffic(trafficFor(config, scenario, policy));
  const never: Outcome = { promoted: null, hours: null };
  let old: Outcome | null = scenario.oldRule ? null : never;
  let engine: Outcome | null = null;
  let memory: DecisionMemory | undefined;
  for (let check = 1; check <= checks && (old === null || engine === null); check++) {
    addConversationCheck(traffic, rng, normal);
    const hours = check * checkHours;
    const arms = trafficArmStats(traffic);
    if (old === null) {
      const arm = oldRule(arms);
      if (arm !== null) old = { promoted: arm, hours };
    }
    if (engine === null) {
      const out = decide({ arms: scenario.stripTopics ? withoutTopics(arms) : arms, policy, memory, elapsedHours: hours });
      memory = out.memory;
      if (out.decision.action !== 'continue') engine = { promoted: out.decision.winner?.arm ?? null, hours };
    }
  }
  return { old: scenario.oldRule ? (old ?? never) : null, engine: engine ?? never };
}

// ---------------------------------------------------------------------------------------------
// Work split over processes (runs r with r % workers === index).

interface Task {
  config: Config;
  index: number;
  stride: number;
}

type Shard = { run: number; outcomes: RunOutcome[] }[];

function runShard(task: Task): Shard {
  const shard: Shard = [];
  const chosen = selected(task.config);
  for (let run = task.index; run < task.config.runs; run += task.stride) {
    shard.push({ run, outcomes: chosen.map(({ scenario, stream }) => simulateRun(task.config, scenario, stream, run)) });
  }
  return shard;
}

function runInChild(task: Task): Promise<Shard> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--worker'], { execArgv: process.execArgv, serialization: 'advanced' });
    child.once('message', (message) => resolve(message as Shard));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker ${task.index} exited with code ${code}`));
    });
    child.send(task);
  });
}

async function simulateAll(config: Config): Promise<RunOutcome[][]> {
  const stride = Math.min(config.workers, config.runs);
  const tasks = Array.from({ length: stride }, (_, index) => ({ config, index, stride }));
  const shards = stride === 1 ? [runShard(tasks[0]!)] : await Promise.all(tasks.map(runInChild));
  const byRun = shards.flat().sort((a, b) => a.run - b.run);
  // Transpose to [scenario][run].
  return config.scenarios.map((_, s) => byRun.map((r) => r.outcomes[s]!));
}

// ---------------------------------------------------------------------------------------------
// Figures.

interface PolicyFigures {
  /** Share of runs where the scenario's target arm (or, without a target, any arm) was promoted. */
  promotedShare: number;
  promotedStdErr: number;
  /** Median / quartiles of hours to promotion among promoted runs (null if none). */
  medianHours: number | null;
  p25Hours: number | null;
  p75Hours: number | null;
  /** Share of runs that promoted the wrong arm (a non-target arm, for scenarios with a target). */
  wrongPromotionShare: number;
  wrongPromotionStdErr: number;
  /** Share of runs that ended early without promotion (keep_control / stop_guardrail). */
  stoppedEarlyShare: number;
  stoppedEarlyStdErr: number;
  /** Watch scenarios: the share rolled back within the watch (the same count as promotedShare). */
  rolledBackShare: number | null;
  /** Cumulative share promoted by hour 0, 1, 2, ... (for the chart). */
  curve: number[];
}

function quantile(sorted: number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const position = (sorted.length - 1) * q;
  const lo = Math.floor(position);
  const hi = Math.ceil(position);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (position - lo);
}

/** Binomial standard error of a share over `runs` runs. */
function stdErr(share: number, runs: number): number {
  return Math.sqrt((share * (1 - share)) / runs);
}

function figures(outcomes: Outcome[], scenario: Scenario, horizonHours: number): PolicyFigures {
  const runs = outcomes.length;
  const isHit = (o: Outcome) => o.promoted !== null && (scenario.target === null || o.promoted === scenario.target);
  const hits = outcomes.filter(isHit);
  const hours = hits.map((o) => o.hours ?? horizonHours).sort((a, b) => a - b);
  const share = hits.length / runs;
  const wrong = outcomes.filter((o) => o.promoted !== null && !isHit(o)).length / runs;
  const stopped = outcomes.filter((o) => o.promoted === null && o.hours !== null && o.hours < horizonHours).length / runs;
  const curve = Array.from({ length: Math.ceil(horizonHours) + 1 }, (_, h) => hours.filter((x) => x <= h).length / runs);
  return {
    promotedShare: share,
    promotedStdErr: stdErr(share, runs),
    medianHours: quantile(hours, 0.5),
    p25Hours: quantile(hours, 0.25),
    p75Hours: quantile(hours, 0.75),
    wrongPromotionShare: wrong,
    wrongPromotionStdErr: stdErr(wrong, runs),
    stoppedEarlyShare: stopped,
    stoppedEarlyStdErr: stdErr(stopped, runs),
    rolledBackShare: scenario.watch ? share : null,
    curve,
  };
}

interface FixedHorizon {
  perArm: number;
  total: number;
  hours: number;
}

function fixedHorizon(config: Config): FixedHorizon {
  const perArm = fixedHorizonSampleSize(config.base, config.base + 0.05, DEFAULT_POLICY.alpha, 0.8);
  const total = 2 * perArm;
  return { perArm, total, hours: (total / config.perDay) * 24 };
}

interface ScenarioResult {
  scenario: Scenario;
  old: PolicyFigures | null;
  engine: PolicyFigures;
}

// ---------------------------------------------------------------------------------------------
// Output.

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const pctSe = (x: number, se: number) => `${pct(x)} ± ${(se * 100).toFixed(1)}`;
const hrs = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(1)} h`);
const thousands = (x: number) => String(Math.round(x)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

function figureLabel(figure: Figure, scenario: Scenario): string {
  if (scenario.watch) return figure === 'medianHours' ? 'median hours to the rollback (IQR)' : 'rolled back within the 7-day watch';
  if (figure === 'medianHours') return 'median hours to promote (IQR)';
  if (figure === 'stoppedEarlyShare') return 'stopped early, control kept';
  return scenario.target === null ? 'promoted (any promotion is wrong)' : 'promoted within horizon';
}

function figureCell(f: PolicyFigures | null, figure: Figure): string {
  if (f === null) return 'n/a';
  if (figure === 'medianHours') return `${hrs(f.medianHours)} (${f.p25Hours?.toFixed(0) ?? '-'}-${f.p75Hours?.toFixed(0) ?? '-'})`;
  if (figure === 'stoppedEarlyShare') return pctSe(f.stoppedEarlyShare, f.stoppedEarlyStdErr);
  // rolledBackShare is promotedShare under its watch name.
  return pctSe(f.promotedShare, f.promotedStdErr);
}

function boundValue(b: BoundResult, x: number | null): string {
  if (x === null) return 'n/a';
  return b.figure === 'medianHours' ? hrs(x) : pct(x);
}

function boundCell(b: BoundResult): string {
  if (b.limit === null) return 'n/a';
  return `${b.atLeast ? '>=' : '<='} ${boundValue(b, b.limit)}: ${b.pass === null ? 'n/a' : b.pass ? 'PASS' : 'FAIL'}`;
}

const CELL_WIDTH = 22;
const BOUND_WIDTH = 20;

function table(config: Config, results: ScenarioResult[], bounds: BoundResult[], fh: FixedHorizon, seconds: number): string {
  const lines: string[] = [];
  const rows: string[][] = [];
  for (const r of results) {
    const overrides = r.scenario.policy ? ` {${Object.keys(r.scenario.policy).join(', ')}}` : '';
    for (const figure of [r.scenario.point, ...(r.scenario.extra ?? [])]) {
      const bound = bounds.find((b) => b.scenario === r.scenario.id && b.figure === figure);
      const label = `${r.scenario.id}: ${r.scenario.label}${figure === r.scenario.point ? overrides : ''}: ${figureLabel(figure, r.scenario)}`;
      rows.push([label, figureCell(r.old, figure), figureCell(r.engine, figure), bound ? boundCell(bound) : '']);
    }
  }
  const labelWidth = Math.max(...rows.map((cells) => cells[0]!.length));
  const row = (cells: string[]) =>
    `| ${cells[0]!.padEnd(labelWidth)} | ${cells[1]!.padEnd(CELL_WIDTH)} | ${cells[2]!.padEnd(CELL_WIDTH)} | ${cells[3]!.padEnd(BOUND_WIDTH)} |`;
  lines.push(
    `Decision policies on simulated traffic: ${thousands(config.runs)} runs per scenario, ${thousands(config.perDay)} conversations/day, ` +
      `base success ${pct(config.base)}, check every ${config.checkMinutes} min for ${config.days} days, seed ${config.seed}`,
  );
  lines.push(
    `Telemetry in every scenario: errors ${pct(ERROR_RATE)}, latency lognormal (median ${LATENCY_MEDIAN_MS} ms, sd of log ${LATENCY_SD_LOG}), ` +
      `tokens lognormal (mean ${TOKENS_MEAN}), ratings 1-5 on ${pct(RATING_SHARE)} (maximum-entropy shape, mean ${RATING_MEAN}); unless the scenario says otherwise`,
  );
  lines.push(
    `OLD = promote when every arm has > ${OLD_MIN_CONVERSATIONS} conversations and one-sided confidence > ${OLD_CONFIDENCE * 100}% (success rate only)`,
  );
  lines.push(
    `ENGINE = decide() ${ENGINE} with DEFAULT_POLICY (alpha ${DEFAULT_POLICY.alpha}, tau ${DEFAULT_POLICY.expectedEffect}) + scenario overrides`,
  );
  lines.push('');
  lines.push(row(['Figure', 'OLD', 'ENGINE', 'Bound (engine)']));
  lines.push(`|${'-'.repeat(labelWidth + 2)}|${'-'.repeat(CELL_WIDTH + 2)}|${'-'.repeat(CELL_WIDTH + 2)}|${'-'.repeat(BOUND_WIDTH + 2)}|`);
  for (const cells of rows) lines.push(row(cells));
  lines.push('');
  lines.push(
    `Fixed horizon for +5 points (two-sided alpha ${DEFAULT_POLICY.alpha}, power 0.8): ${thousands(fh.perArm)} per arm, ` +
      `${thousands(fh.total)} conversations = ${fh.hours.toFixed(1)} h at ${thousands(config.perDay)}/day`,
  );
  const lift5 = results.find((r) => r.scenario.id === 'lift5')?.engine;
  if (lift5 && lift5.medianHours !== null) {
    const byFixed = lift5.curve[Math.min(lift5.curve.length - 1, Math.floor(fh.hours))] ?? 0;
    const reach80 = lift5.curve.findIndex((share) => share >= 0.8);
    lines.push(
      `Engine median time to promote +5 points ${hrs(lift5.medianHours)} vs fixed horizon ${hrs(fh.hours)} ` +
        `(ratio ${(lift5.medianHours / fh.hours).toFixed(2)}). By ${fh.hours.toFixed(0)} h the engine has promoted ${pct(byFixed)} ` +
        `of +5 runs (the fixed design: 80% at its single look); it reaches 80% at ${reach80 < 0 ? 'never' : `${reach80} h`}.`,
    );
  }
  lines.push('');
  const note = config.runs === 2000 ? '' : ` (stated for 2,000 runs; this is ${thousands(config.runs)})`;
  lines.push(`Bounds of issue 12 item 7${note}:`);
  for (const b of bounds) {
    const verdict = b.pass === null ? 'n/a' : b.pass ? 'PASS' : 'FAIL';
    const missing = b.pass === null ? ' (a scenario it needs was not run or promoted nothing)' : '';
    lines.push(`  ${verdict.padEnd(4)} ${b.text}: ${boundValue(b, b.value)} vs ${boundValue(b, b.limit)}${missing}`);
  }
  const failed = bounds.filter((b) => b.pass === false).length;
  const passed = bounds.filter((b) => b.pass === true).length;
  lines.push(`  ${passed} pass, ${failed} fail, ${bounds.length - passed - failed} not evaluated`);
  lines.push(`(${seconds.toFixed(1)} s with ${config.workers} worker process${config.workers === 1 ? '' : 'es'})`);
  return lines.join('\n');
}

/** The chart shows the original five scenarios (more curves would not be readable). */
const COLORS: Record<string, string> = {
  aa1: '#7f7f7f',
  aa3: '#000000',
  lift2: '#1f77b4',
  lift5: '#2ca02c',
  worse2: '#d62728',
};

function svgChart(config: Config, all: ScenarioResult[], fh: FixedHorizon): string {
  const results = all.filter((r) => COLORS[r.scenario.id] !== undefined);
  const width = 960;
  const height = 540;
  const margin = { left: 60, right: 250, top: 40, bottom: 50 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const horizon = config.days * 24;
  const x = (h: number) => Number((margin.left + (h / horizon) * plotW).toFixed(1));
  const y = (share: number) => Number((margin.top + (1 - share) * plotH).toFixed(1));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(
    `<text x="${margin.left}" y="22" font-size="14">Cumulative share of experiments promoted (${thousands(config.runs)} runs each; solid = engine, dashed = old rule)</text>`,
  );
  for (let tick = 0; tick <= 1.0001; tick += 0.1) {
    parts.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eee"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${y(tick) + 4}" text-anchor="end">${Math.round(tick * 100)}%</text>`);
  }
  const step = horizon > 200 ? 48 : horizon > 50 ? 24 : 6;
  for (let h = 0; h <= horizon; h += step) {
    parts.push(`<line x1="${x(h)}" x2="${x(h)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${x(h)}" y="${margin.top + plotH + 18}" text-anchor="middle">${h}</text>`);
  }
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 10}" text-anchor="middle">hours since start</text>`);
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  if (fh.hours <= horizon) {
    parts.push(
      `<line x1="${x(fh.hours)}" x2="${x(fh.hours)}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#2ca02c" stroke-dasharray="2,3"/>`,
    );
    parts.push(`<text x="${x(fh.hours) + 4}" y="${margin.top + 14}" fill="#2ca02c">fixed horizon +5 (${fh.hours.toFixed(0)} h)</text>`);
  }
  const alphaY = y(DEFAULT_POLICY.alpha);
  parts.push(
    `<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${alphaY}" y2="${alphaY}" stroke="#999" stroke-dasharray="6,2,1,2"/>`,
  );
  results.forEach((r, i) => {
    const color = COLORS[r.scenario.id] ?? '#333';
    for (const [policy, dash] of [
      ['engine', ''],
      ['old', ' stroke-dasharray="6,4"'],
    ] as const) {
      const curve = r[policy]?.curve;
      if (!curve) continue;
      const points = curve.map((share, h) => `${x(Math.min(h, horizon))},${y(share)}`).join(' ');
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="1.8"${dash} points="${points}"/>`);
    }
    const ly = margin.top + 10 + i * 40;
    const lx = margin.left + plotW + 16;
    parts.push(`<line x1="${lx}" x2="${lx + 30}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"/>`);
    parts.push(
      `<line x1="${lx}" x2="${lx + 30}" y1="${ly + 16}" y2="${ly + 16}" stroke="${color}" stroke-width="2" stroke-dasharray="6,4"/>`,
    );
    parts.push(`<text x="${lx + 36}" y="${ly + 4}">${r.scenario.label}: engine ${pct(r.engine.promotedShare)}</text>`);
    parts.push(`<text x="${lx + 36}" y="${ly + 20}">old rule ${r.old ? pct(r.old.promotedShare) : 'n/a'}</text>`);
  });
  parts.push(
    `<text x="${margin.left + plotW + 16}" y="${margin.top + 10 + results.length * 40 + 4}" fill="#666">dash-dot: alpha = ${DEFAULT_POLICY.alpha}</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Entry points.

/**
 * What --json writes about a scenario: its description without the traffic functions, the
 * policy overrides (null: field removed, the engine's default applies) and the policy passed.
 */
function describe(config: Config, scenario: Scenario) {
  const { traffic, policy, ...rest } = scenario;
  const overrides = Object.fromEntries(Object.entries(policy ?? {}).map(([key, value]) => [key, value ?? null]));
  return {
    ...rest,
    topics: traffic.topics.map((t) => ({ topic: t.topic, share: t.share })),
    policyOverrides: overrides,
    policy: policyFor(config, scenario),
  };
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  const started = Date.now();
  const outcomes = await simulateAll(config);
  const horizon = config.days * 24;
  const results: ScenarioResult[] = selected(config).map(({ scenario }, s) => ({
    scenario,
    old: scenario.oldRule
      ? figures(
          outcomes[s]!.map((o) => o.old!),
          scenario,
          horizon,
        )
      : null,
    engine: figures(
      outcomes[s]!.map((o) => o.engine),
      scenario,
      horizon,
    ),
  }));
  const fh = fixedHorizon(config);
  const bounds = evaluateBounds((id) => results.find((r) => r.scenario.id === id)?.engine, fh.hours);
  const seconds = (Date.now() - started) / 1000;
  console.log(table(config, results, bounds, fh, seconds));
  if (config.json) {
    const { json: _json, svg: _svg, ...settings } = config;
    const get = (id: string) => results.find((r) => r.scenario.id === id);
    const payload = {
      engine: ENGINE,
      config: settings,
      policy: DEFAULT_POLICY,
      fixedHorizon: fh,
      scenarios: results.map((r) => ({ ...describe(config, r.scenario), old: r.old, engine: r.engine })),
      goals: {
        engineAA3FalsePromotionAtMost5pct: get('aa3') ? get('aa3')!.engine.promotedShare <= 0.05 : null,
        engineMedianHoursLift5: get('lift5')?.engine.medianHours ?? null,
        fixedHorizonHoursLift5: fh.hours,
      },
      bounds,
      seconds,
    };
    writeFileSync(config.json, `${JSON.stringify(payload, null, 2)}\n`);
    console.log(`wrote ${config.json}`);
  }
  if (config.svg) {
    writeFileSync(config.svg, svgChart(config, results, fh));
    console.log(`wrote ${config.svg}`);
  }
}

if (process.argv.includes('--worker')) {
  process.once('message', (task: Task) => {
    process.send?.(runShard(task), undefined, undefined, () => process.exit(0));
  });
} else {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
