/**
 * Reliability runner: real worker processes, a Temporal dev server and PostgreSQL databases of
 * its own, failures injected for real (SIGKILL, database down, Temporal restarted, two workers,
 * HTTP load). Prints a table (scenario, what was done, how often, lost, duplicated), writes JSON
 * with --json FILE, and exits 1 when anything was lost or duplicated or a scenario failed.
 *
 *   tsx test/reliability/run.ts [--only crash,outage,partition,half-open,temporal-restart,rollout-kill,rollout-outage,rollout-temporal-restart,two-workers,load]
 *                               [--skip NAMES] [--quick] [--seed N] [--json FILE] [--artifacts DIR]
 *
 * Needs: the `temporal` CLI (PATH or TEMPORAL_CLI_PATH); PostgreSQL at DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/test, a fresh database per scenario, never stopped); for
 * the outage scenario the PostgreSQL server binaries (initdb/pg_ctl, RELIABILITY_PG_BIN,
 * default /usr/lib/postgresql/15/bin) to run a throw-away cluster of its own.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { mergeScans } from './lib/histories';
import {
  describeHistory,
  details,
  failedResult,
  fmtMs,
  result,
  scenarioContext,
  table,
  type ScenarioContext,
  type ScenarioResult,
} from './lib/report';
import { REPO_ROOT } from './lib/worker';
import { crashScenario } from './scenarios/crash';
import { loadScenario } from './scenarios/load';
import { outageScenario } from './scenarios/outage';
import { partitionScenario } from './scenarios/partition';
import { rolloutScenario } from './scenarios/rollout';
import { temporalRestartScenario } from './scenarios/temporal-restart';
import { twoWorkersScenario } from './scenarios/two-workers';

export interface RunOptions {
  only?: string[];
  skip?: string[];
  quick: boolean;
  seed: number;
  json?: string;
  artifacts: string;
}

type Scenario = { name: string; action: string; run: (ctx: ScenarioContext) => Promise<ScenarioResult> };

/**
 * The scenarios with their sizes. full: the figures of docs/reliability.md. quick: a reduced
 * form (fewer cycles and kills, shorter outages) that the vitest suite runs too.
 */
export function scenarios(quick: boolean): Scenario[] {
  return [
    {
      name: 'crash',
      action: 'SIGKILL the worker at random moments during full cycles',
      run: (ctx) =>
        crashScenario(
          ctx,
          quick
            ? { cycles: 3, parallel: 3, maxKills: 5, timeoutMs: 8 * 60_000, dbLatencyMs: 5 }
            : { cycles: 24, parallel: 8, maxKills: 40, timeoutMs: 30 * 60_000, dbLatencyMs: 5 },
        ),
    },
    {
      name: 'outage',
      action: 'database down in the middle of cycles',
      run: (ctx) => outageScenario(ctx, { outageMs: quick ? 12_000 : 30_000 + Math.round(ctx.random() * 30_000) }),
    },
    {
      name: 'partition',
      action: 'network to the database silently dropped, then restored',
      run: (ctx) => partitionScenario(ctx, { partitionMs: quick ? 10_000 : 30_000, heal: 'flush', recoverTimeoutMs: 180_000 }),
    },
    {
      name: 'half-open',
      action: 'network dropped, restored with the old connections half-open',
      run: (ctx) =>
        partitionScenario(ctx, { partitionMs: quick ? 10_000 : 20_000, heal: 'zombie', recoverTimeoutMs: quick ? 120_000 : 180_000 }),
    },
    {
      name: 'temporal-restart',
      action: 'Temporal dev server killed and restarted during monitors',
      run: (ctx) =>
        temporalRestartScenario(ctx, { restarts: quick ? ['SIGKILL'] : ['SIGKILL', 'SIGTERM'], downMs: quick ? 4_000 : 10_000 }),
    },
    {
      name: 'rollout-kill',
      action: 'SIGKILL the worker during guarded rollouts (ramps and watches)',
      run: (ctx) =>
        rolloutScenario(ctx, {
          fault: { kind: 'kill', maxKills: quick ? 4 : 12 },
          rollouts: quick ? ['clean', 'regress-ramp', 'regress-watch'] : ['clean', 'clean', 'regress-ramp', 'regress-watch'],
          // A kill costs a check up to its 30 s heartbeat timeout: the watch outlasts a delayed ramp.
          watchSeconds: quick ? 120 : 180,
          timeoutMs: 8 * 60_000,
        }),
    },
    {
      name: 'rollout-outage',
      action: 'database down while guarded rollouts ramp and are watched',
      run: (ctx) =>
        rolloutScenario(ctx, {
          fault: { kind: 'outage', outageMs: quick ? 10_000 : 25_000 },
          rollouts: ['clean', 'regress-ramp', 'regress-watch'],
          watchSeconds: 75,
          timeoutMs: 6 * 60_000,
        }),
    },
    {
      name: 'rollout-temporal-restart',
      action: 'Temporal dev server killed and restarted while rollout watches wait',
      run: (ctx) =>
        rolloutScenario(ctx, {
          fault: { kind: 'temporal-restart', restarts: quick ? ['SIGKILL'] : ['SIGKILL', 'SIGTERM'], downMs: quick ? 4_000 : 8_000 },
          rollouts: ['clean', 'regress-ramp', 'regress-watch'],
          watchSeconds: 75,
          timeoutMs: 6 * 60_000,
        }),
    },
    {
      name: 'two-workers',
      action: 'two workers on one task queue and database',
      run: (ctx) => twoWorkersScenario(ctx, { cycles: quick ? 2 : 8 }),
    },
    {
      name: 'load',
      action: 'HTTP load from a separate process',
      run: (ctx) => loadScenario(ctx, { durationSec: quick ? 3 : 15, connections: quick ? 10 : 20 }),
    },
  ];
}

const quietLogger = {
  log: () => {},
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (m: string) => console.warn(m),
  error: (m: string) => console.error(m),
};

/** Bundles the workflows once per run into dir (the workers load it as the production image does). */
export async function buildBundle(root: string): Promise<string> {
  mkdirSync(root, { recursive: true });
  const bundlePath = path.join(root, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(REPO_ROOT, 'src/workflows/index.ts'), logger: quietLogger });
  writeFileSync(bundlePath, code);
  return bundlePath;
}

export function parseArgs(argv: string[]): RunOptions {
  const opts: RunOptions = { quick: false, seed: 20261129, artifacts: path.join(REPO_ROOT, 'test-artifacts', 'reliability') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--only')
      opts.only = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--skip')
      opts.skip = value()
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--quick') opts.quick = true;
    else if (a === '--seed') opts.seed = Number(value());
    else if (a === '--json') opts.json = path.resolve(value());
    else if (a === '--artifacts') opts.artifacts = path.resolve(value());
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: tsx test/reliability/run.ts [--only crash,outage,partition,half-open,temporal-restart,rollout-kill,rollout-outage,rollout-temporal-restart,two-workers,load] [--skip NAMES] [--quick] [--seed N] [--json FILE] [--artifacts DIR]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isFinite(opts.seed)) throw new Error('--seed must be a number');
  return opts;
}

/** Runs the selected scenarios one after another; returns the rows (history row included). */
export async function runReliability(opts: RunOptions): Promise<{ rows: ScenarioResult[]; ok: boolean; totalMs: number }> {
  const t0 = Date.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const root = path.join(opts.artifacts, stamp);
  mkdirSync(root, { recursive: true });
  const all = scenarios(opts.quick);
  const unknown = [...(opts.only ?? []), ...(opts.skip ?? [])].filter((n) => !all.some((s) => s.name === n));
  if (unknown.length) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  const selected = (opts.only ? all.filter((s) => opts.only!.includes(s.name)) : all).filter((s) => !opts.skip?.includes(s.name));

  console.log(
    `reliability run: ${selected.map((s) => s.name).join(', ')}${opts.quick ? ' (quick)' : ''}, seed ${opts.seed}, artifacts ${root}`,
  );
  // The bundle goes outside the repository: `eslint .` would lint a .js file under test-artifacts/.
  const bundleDir = mkdtempSync(path.join(tmpdir(), 'pow-reliability-bundle-'));
  const bundlePath = await buildBundle(bundleDir);

  const rows: ScenarioResult[] = [];
  for (const [i, s] of selected.entries()) {
    const ctx = scenarioContext(root, s.name, opts.seed + i * 1_000, bundlePath, opts.quick);
    console.log(`\n== ${s.name}: ${s.action}`);
    const st = Date.now();
    let r: ScenarioResult;
    try {
      r = await s.run(ctx);
    } catch (err) {
      r = failedResult(s.name, s.action, err, Date.now() - st);
    }
    rows.push(r);
    console.log(
      `== ${s.name}: ${r.ok ? 'PASS' : 'FAIL'} in ${fmtMs(r.durationMs)} (lost ${r.lost}, duplicated ${r.duplicated}, failures ${r.failures.length})`,
    );
  }

  const scans = rows.flatMap((r) => (r.history ? [r.history] : []));
  if (scans.length > 0) {
    const merged = mergeScans(scans);
    const nd = merged.nondeterministic.length;
    rows.push(
      result({
        name: 'history-scan',
        action: 'scan every workflow history of the scenarios above for nondeterminism and repeated effects',
        howOften: `${merged.workflows} workflows, ${merged.events} events`,
        lostDetails: [],
        duplicatedDetails: [...merged.repeatedPromotions, ...merged.monitorsCompletedTwice],
        failures: merged.nondeterministic.map((n) => `nondeterministic: ${n}`),
        durationMs: 0,
        figures: { ...merged },
        notes: [...describeHistory(merged), `nondeterministic workflow tasks: ${nd}`],
      }),
    );
  }
  rmSync(bundleDir, { recursive: true, force: true });
  const totalMs = Date.now() - t0;
  const ok = rows.every((r) => r.ok);
  const artifactsJson = path.join(root, 'results.json');
  const payload = {
    ok,
    seed: opts.seed,
    quick: opts.quick,
    startedAt: new Date(t0).toISOString(),
    totalMs,
    artifacts: root,
    scenarios: rows,
  };
  writeFileSync(artifactsJson, JSON.stringify(payload, null, 2));
  if (opts.json) writeFileSync(opts.json, JSON.stringify(payload, null, 2));
  return { rows, ok, totalMs };
}

if (require.main === module) {
  // Ctrl-C / a CI timeout: exit through process.exit so the exit handler stops every child.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      console.error(`\nreliability run interrupted (${sig}): stopping workers, Temporal servers and clusters`);
      process.exit(130);
    });
  }
  (async () => {
    const opts = parseArgs(process.argv.slice(2));
    const { rows, ok, totalMs } = await runReliability(opts);
    console.log(`\n${table(rows)}`);
    console.log(details(rows));
    console.log(`\n${ok ? 'PASS' : 'FAIL'}: ${rows.length} rows in ${fmtMs(totalMs)}${opts.json ? `, JSON in ${opts.json}` : ''}`);
    process.exit(ok ? 0 : 1);
  })().catch((err) => {
    console.error(`reliability run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(2);
  });
}
