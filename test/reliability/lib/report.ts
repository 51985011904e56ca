import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { rng } from '../../helpers/traffic';
import type { HistoryScan } from './histories';

/** One scenario's outcome: the table row plus the figures behind it. */
export interface ScenarioResult {
  name: string;
  /** What was done, in a few words (the table's second column). */
  action: string;
  /** How often (kills, outage seconds, restarts, requests...). */
  howOften: string;
  lost: number;
  duplicated: number;
  lostDetails: string[];
  duplicatedDetails: string[];
  /** Checks that failed besides lost/duplicated effects (hangs, wrong /health, crashes). */
  failures: string[];
  ok: boolean;
  durationMs: number;
  figures: Record<string, unknown>;
  /** Lines for the details section under the table. */
  notes: string[];
  history?: HistoryScan;
}

export interface ScenarioContext {
  name: string;
  seed: number;
  random: () => number;
  /** Artifacts (logs, Temporal db, worker logs) of this scenario. */
  dir: string;
  bundlePath: string;
  quick: boolean;
  log(msg: string): void;
}

export function scenarioContext(root: string, name: string, seed: number, bundlePath: string, quick: boolean): ScenarioContext {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  const t0 = Date.now();
  return {
    name,
    seed,
    random: rng(seed),
    dir,
    bundlePath,
    quick,
    log: (msg) => console.log(`  [${name} +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`),
  };
}

/** Builds a result; ok = no failures and nothing lost or duplicated. */
export function result(partial: Omit<ScenarioResult, 'lost' | 'duplicated' | 'ok'>): ScenarioResult {
  const lost = partial.lostDetails.length;
  const duplicated = partial.duplicatedDetails.length;
  return { ...partial, lost, duplicated, ok: partial.failures.length === 0 && lost === 0 && duplicated === 0 };
}

export function failedResult(name: string, action: string, err: unknown, durationMs: number): ScenarioResult {
  return result({
    name,
    action,
    howOften: '-',
    lostDetails: [],
    duplicatedDetails: [],
    failures: [`scenario error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`],
    durationMs,
    figures: {},
    notes: [],
  });
}

export const fmtMs = (ms: number) =>
  ms >= 60_000 ? `${Math.floor(ms / 60_000)}m${String(Math.round((ms % 60_000) / 1000)).padStart(2, '0')}s` : `${(ms / 1000).toFixed(1)}s`;

function wrap(text: string, width: number): string[] {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && (line + ' ' + w).length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

/** A plain-text table (wrapping long cells) that reads the same in a terminal and in markdown code blocks. */
export function table(rows: ScenarioResult[]): string {
  const head = ['scenario', 'what was done', 'how often', 'lost', 'dup', 'result', 'time'];
  const widths = [24, 44, 34, 4, 4, 6, 7];
  const cells = rows.map((r) => [
    r.name,
    r.action,
    r.howOften,
    String(r.lost),
    String(r.duplicated),
    r.ok ? 'PASS' : 'FAIL',
    fmtMs(r.durationMs),
  ]);
  const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const out = [sep, `| ${head.map((h, i) => h.padEnd(widths[i]!)).join(' | ')} |`, sep];
  for (const c of cells) {
    const wrapped = c.map((v, i) => wrap(v, widths[i]!));
    const height = Math.max(...wrapped.map((w) => w.length));
    for (let l = 0; l < height; l++) out.push(`| ${wrapped.map((w, i) => (w[l] ?? '').padEnd(widths[i]!)).join(' | ')} |`);
    out.push(sep);
  }
  return out.join('\n');
}

export function details(rows: ScenarioResult[]): string {
  const out: string[] = [];
  for (const r of rows) {
    out.push(`\n## ${r.name} (${r.ok ? 'PASS' : 'FAIL'}, ${fmtMs(r.durationMs)})`);
    for (const n of r.notes) out.push(`  ${n}`);
    for (const f of r.failures) out.push(`  FAILURE: ${f}`);
    for (const l of r.lostDetails) out.push(`  LOST: ${l}`);
    for (const d of r.duplicatedDetails) out.push(`  DUPLICATED: ${d}`);
  }
  return out.join('\n');
}

/** Deterministic choice helpers on a seeded generator. */
export const uniform = (random: () => number, lo: number, hi: number) => lo + (hi - lo) * random();

/** Histogram of values as "a 3, b 2" (descending). */
export function histogram(values: string[]): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
}

/** Database counts after a scenario as "jobs 2, experiments 2, ..." (the report's `database:` line). */
export function describeFacts(facts: Record<string, number>): string {
  return Object.entries(facts)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

export function describeHistory(h: HistoryScan): string[] {
  const retried = Object.entries(h.activities)
    .filter(([, a]) => a.retries > 0)
    .map(([k, a]) => `${k} ${a.retries} (max attempt ${a.maxAttempt})`);
  return [
    `histories: ${h.workflows} workflows (${Object.entries(h.byStatus)
      .map(([k, v]) => `${v} ${k.toLowerCase()}`)
      .join(', ')}), ${h.events} events; ` +
      `workflow task failures ${h.workflowTaskFailed} (nondeterministic ${h.nondeterministic.length}), workflow task timeouts ${h.workflowTaskTimedOut}`,
    `activity retries (history attempts): ${retried.length ? retried.join(', ') : 'none'}`,
  ];
}
