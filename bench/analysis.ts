/**
 * Benchmark: pattern analysis (public.analyze_prompt through Store.analyzePrompt) as the data
 * grows, on PostgreSQL and on embedded PGlite.
 *
 *   npx tsx bench/analysis.ts [--sizes 10000,100000,1000000] [--pglite-sizes 10000,100000]
 *                             [--backends postgres,pglite] [--runs 3] [--json FILE]
 *                             [--previous-fraction 0.25] [--explain] [--keep] [--migrations-until VERSION]
 *
 * For each backend and size, in a fresh database and a fresh child process (so memory figures
 * start clean):
 *   1. a prompt key with two versions: v1 served the day before, then an experiment promoted v2
 *      (so the regression lookup runs against real v1 traffic: previous-fraction x N rows);
 *   2. N conversations of v2 spread over the last 24 h, loaded with `insert ... select
 *      generate_series` (the benchmark measures analysis, not loading): 10 topics + 5% without
 *      a topic, "billing" weaker (70% vs 86% success), 40% rated, tokens higher on failures,
 *      log-normal latencies, 2% errors;
 *   3. VACUUM ANALYZE (both backends);
 *   4. one warm-up call, then --runs timed calls of store.analyzePrompt(key, { windowHours: 24 });
 *      the median is reported;
 *   5. worker memory: process.memoryUsage() sampled every 2 ms during each timed call, reported
 *      as the peak delta over the value just before the call. On PostgreSQL that is the worker
 *      alone (the database is another process): it should stay flat as N grows, because the
 *      worker receives one small JSON document, never the rows. On PGlite the database is WASM
 *      inside this same process, so its memory (the loaded table, its buffers, sort memory) is
 *      the worker's memory: the RSS after loading is reported separately, and sampling cannot
 *      run while PGlite's WASM executes synchronously, so the delta shown is the RSS left after
 *      the call.
 *
 * --pglite-sizes defaults to the --sizes that are <= 100,000 (PGlite loads 1M rows slowly);
 * pass it explicitly to run 1M there. --explain (PostgreSQL only) prints the plan of every
 * statement inside analyze_prompt (auto_explain with log_nested_statements, sent to the client
 * as notices; needs a superuser, as on a local server). --migrations-until VERSION applies
 * migrations up to that version only, to measure the function as it was before a migration.
 * --keep leaves the PostgreSQL databases in place (their URLs are printed) for EXPLAIN by hand.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { Client } from 'pg';
import { openMigratedStore, type AnalysisResult, type Store } from '../src/store';
import { loadMigrations, migrate, type MigrationTarget } from '../src/store/migrate';

type BackendName = 'postgres' | 'pglite';

interface Config {
  sizes: number[];
  pgliteSizes: number[];
  backends: BackendName[];
  runs: number;
  previousFraction: number;
  explain: boolean;
  keep: boolean;
  migrationsUntil?: string;
  json?: string;
  databaseUrl?: string;
}

interface Task {
  config: Config;
  backend: BackendName;
  size: number;
}

interface CaseResult {
  backend: BackendName;
  size: number;
  previousRows: number;
  loadSeconds: number;
  vacuumSeconds: number;
  warmupMs: number;
  runsMs: number[];
  medianMs: number;
  /** Peak worker memory during the timed calls over the value just before each call (max over runs), MiB. */
  rssDeltaMiB: number;
  heapDeltaMiB: number;
  /** Process RSS before opening the database and after loading it (PGlite: includes the database), MiB. */
  rssBeforeOpenMiB: number;
  rssAfterLoadMiB: number;
  samplesPerRun: number[];
  resultBytes: number;
  overall: AnalysisResult['overall'];
  insights: string[];
  migrations: string[];
  /** On-disk size of ai_conversations and each of its indexes after VACUUM ANALYZE, MiB. */
  relationsMiB: Record<string, number>;
  /** 1-minute load average when the timed calls started: other work on the machine skews timings. */
  loadAvg1: number;
  explain?: string[];
}

const MiB = 1024 * 1024;
const TOPICS = ['billing', 'shipping', 'returns', 'account', 'technical', 'pricing', 'orders', 'privacy', 'onboarding', 'other'];
const WEAK_TOPIC = 'billing';
const HOUR_MS = 3_600_000;

// ---------------------------------------------------------------------------------------------
// Configuration.

function parseList(name: string, value: string): number[] {
  const out = value
    .split(',')
    .filter(Boolean)
    .map((s) => {
      const n = Number(s.replace(/_/g, ''));
      if (!Number.isInteger(n) || n < 100) throw new Error(`--${name}: sizes must be integers >= 100, got ${s}`);
      return n;
    });
  return [...new Set(out)].sort((a, b) => a - b);
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '10000,100000,1000000' },
      'pglite-sizes': { type: 'string' },
      backends: { type: 'string', default: 'postgres,pglite' },
      runs: { type: 'string', default: '3' },
      json: { type: 'string' },
      'previous-fraction': { type: 'string', default: '0.25' },
      explain: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'migrations-until': { type: 'string' },
      child: { type: 'boolean', default: false },
    },
  });
  const sizes = parseList('sizes', values.sizes);
  const pgliteSizes = values['pglite-sizes'] ? parseList('pglite-sizes', values['pglite-sizes']) : sizes.filter((n) => n <= 100_000);
  const backends = values.backends
    .split(',')
    .filter(Boolean)
    .map((b) => {
      if (b !== 'postgres' && b !== 'pglite') throw new Error(`--backends: unknown backend ${b} (postgres, pglite)`);
      return b;
    });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be an integer >= 1, got ${values.runs}`);
  const previousFraction = Number(values['previous-fraction']);
  if (!(previousFraction >= 0 && previousFraction <= 10)) throw new Error('--previous-fraction must be between 0 and 10');
  if (backends.includes('postgres') && !process.env.DATABASE_URL) {
    throw new Error('the postgres backend needs DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test), or pass --backends pglite');
  }
  return {
    sizes,
    pgliteSizes,
    backends,
    runs,
    previousFraction,
    explain: values.explain,
    keep: values.keep,
    migrationsUntil: values['migrations-until'],
    json: values.json,
    databaseUrl: process.env.DATABASE_URL,
  };
}

// ---------------------------------------------------------------------------------------------
// Data.

/** A pseudo-uniform in [0, 1) from the row number and a stream id: deterministic on both backends. */
const u = (stream: number) => `((hashint8extended(g, ${stream}) & 2147483647)::float8 / 2147483648.0)`;

/**
 * Inserts conversations [from, to] of one version, created in [now - endAgo, now - startAgo).
 * weakRate/baseRate: success rates of the weak topic and of the others (before errors).
 */
function loadSql(opts: { seed: number; weakRate: number; baseRate: number }): string {
  const s = opts.seed * 100;
  return `
with src as (
  select g, ${u(s + 1)} as u_topic, ${u(s + 2)} as u_ok, ${u(s + 3)} as u_rated, ${u(s + 4)} as u_rating,
         ${u(s + 5)} as u_lat1, ${u(s + 6)} as u_lat2, ${u(s + 7)} as u_tok, ${u(s + 8)} as u_err, ${u(s + 9)} as u_time
  from generate_series($1::bigint, $2::bigint) g
), t as (
  select *, case when u_topic < 0.05 then null
                 else (array['${TOPICS.join("','")}'])[1 + least(9, floor((u_topic - 0.05) / 0.95 * 10)::int)] end as topic,
         u_err < 0.02 as is_err,
         sqrt(-2 * ln(u_lat1 + 1e-12)) * cos(2 * pi() * u_lat2) as z
  from src
), o as (
  select *, (not is_err) and u_ok < case when topic = '${WEAK_TOPIC}' then ${opts.weakRate} else ${opts.baseRate} end as ok from t
)
insert into public.ai_conversations (prompt_key, version_id, subject_id, topic, success, rating, latency_ms, tokens, error, created_at)
select $3, $4::uuid, 'user-' || (g % 250000), topic, ok,
       case when u_rated < 0.4 then case when ok then 4 + (u_rating < 0.55)::int else 1 + least(2, floor(u_rating * 3)::int) end end,
       case when is_err then 10000 + floor(u_lat1 * 20000)::int
            else round(900 * exp(0.6 * z) * case when ok then 1 else 1.3 end)::int end,
       case when ok then 350 + floor(u_tok * 250)::int else 500 + floor(u_tok * 400)::int end,
       case when is_err then 'upstream timeout after 30s' end,
       $5::timestamptz - ($6::float8 + u_time * ($7::float8 - $6::float8)) * interval '1 millisecond'
from o`;
}

async function load(
  target: MigrationTarget,
  key: string,
  versionId: string,
  rows: number,
  window: { now: Date; startAgoMs: number; endAgoMs: number },
  opts: { seed: number; weakRate: number; baseRate: number; chunk: number },
): Promise<void> {
  const sql = loadSql(opts);
  for (let from = 1; from <= rows; from += opts.chunk) {
    const to = Math.min(rows, from + opts.chunk - 1);
    await target.query(sql, [from, to, key, versionId, window.now.toISOString(), window.startAgoMs, window.endAgoMs]);
  }
}

// ---------------------------------------------------------------------------------------------
// One case, in a child process.

async function openBackend(
  config: Config,
  backend: BackendName,
): Promise<{
  store: Store;
  target: MigrationTarget;
  url?: string;
  migrations: string[];
  cleanup(): Promise<void>;
}> {
  let dropDb: (() => Promise<void>) | undefined;
  let opened;
  let url: string | undefined;
  if (backend === 'postgres') {
    const base = config.databaseUrl!;
    const name = `pow_bench_${randomBytes(5).toString('hex')}`;
    const admin = new Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const dbUrl = new URL(base);
    dbUrl.pathname = `/${name}`;
    url = dbUrl.toString();
    dropDb = async () => {
      const c = new Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    };
    opened = await openMigratedStore({ kind: 'postgres', connectionString: url, poolMax: 4 }, { migrate: false });
  } else {
    opened = await openMigratedStore({ kind: 'pglite', dataDir: ':memory:' }, { migrate: false });
  }
  const target = opened.migrationTarget!;
  const all = await loadMigrations();
  const selected = config.migrationsUntil ? all.filter((m) => m.version <= config.migrationsUntil!) : all;
  const report = await migrate(target, selected);
  return {
    store: opened.store,
    target,
    url,
    migrations: report.applied,
    cleanup: async () => {
      await opened.store.close();
      if (config.keep && url) console.error(`kept database ${url}`);
      else await dropDb?.();
    },
  };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Runs fn while sampling process memory every 2 ms; peak deltas over the value just before. */
async function withMemorySampling<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; ms: number; rssDelta: number; heapDelta: number; samples: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const base = process.memoryUsage();
  let rssPeak = base.rss;
  let heapPeak = base.heapUsed;
  let samples = 0;
  const sample = () => {
    const m = process.memoryUsage();
    rssPeak = Math.max(rssPeak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed);
    samples++;
  };
  const timer = setInterval(sample, 2);
  const t0 = performance.now();
  try {
    const value = await fn();
    const ms = performance.now() - t0;
    sample();
    return { value, ms, rssDelta: rssPeak - base.rss, heapDelta: heapPeak - base.heapUsed, samples };
  } finally {
    clearInterval(timer);
  }
}

async function explainOnce(url: string, key: string, now: Date): Promise<string[]> {
  const client = new Client({ connectionString: url });
  const plans: string[] = [];
  client.on('notice', (n) => plans.push(n.message ?? ''));
  await client.connect();
  try {
    await client.query(`load 'auto_explain'`);
    for (const s of [
      'log_min_duration = 0',
      'log_analyze = on',
      'log_buffers = on',
      'log_timing = on',
      'log_nested_statements = on',
      'log_level = notice',
    ]) {
      await client.query(`set auto_explain.${s}`);
    }
    await client.query('select public.analyze_prompt(p_prompt_key => $1, p_window_hours => 24, p_now => $2::timestamptz)', [
      key,
      now.toISOString(),
    ]);
  } finally {
    await client.end();
  }
  return plans;
}

async function runCase(task: Task): Promise<CaseResult> {
  const { config, backend, size } = task;
  const rssBeforeOpen = process.memoryUsage().rss;
  const db = await openBackend(config, backend);
  try {
    const { store, target } = db;
    const key = 'bench-support';
    const content = 'You are the support assistant for {{product}}. Answer briefly and precisely.';
    const v1 = await store.createPromptVersion({ promptKey: key, content, activate: true });
    const v2 = await store.createPromptVersion({
      promptKey: key,
      content: `${content}\nAsk for the order number first.`,
      parentVersionId: v1.id,
      strategy: 'rules',
    });
    const now = new Date();
    const chunk = backend === 'postgres' ? 200_000 : 50_000;
    const previousRows = Math.round(size * config.previousFraction);

    const t0 = performance.now();
    // v1: the day before, slightly better than v2 overall; then v2 is promoted.
    if (previousRows > 0) {
      await load(
        target,
        key,
        v1.id,
        previousRows,
        { now, startAgoMs: 25 * HOUR_MS, endAgoMs: 48 * HOUR_MS },
        { seed: 1, weakRate: 0.8, baseRate: 0.86, chunk },
      );
    }
    const exp = await store.createExperiment({ promptKey: key, variantVersionIds: [v2.id] });
    await store.promoteVariant({ experimentId: exp.id, versionId: v2.id, kind: 'manual', actor: 'bench', reason: 'benchmark setup' });
    await load(
      target,
      key,
      v2.id,
      size,
      { now, startAgoMs: 1_000, endAgoMs: 24 * HOUR_MS - 60_000 },
      { seed: 2, weakRate: 0.7, baseRate: 0.86, chunk },
    );
    const loadSeconds = (performance.now() - t0) / 1000;

    const t1 = performance.now();
    await target.exec('vacuum analyze');
    const vacuumSeconds = (performance.now() - t1) / 1000;
    const rssAfterLoad = process.memoryUsage().rss;
    const { rows: rels } = await target.query<{ name: string; bytes: string }>(
      `select c.relname as name, pg_relation_size(c.oid)::text as bytes from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and (c.relname = 'ai_conversations' or c.oid in (
         select indexrelid from pg_catalog.pg_index where indrelid = 'public.ai_conversations'::regclass))
       order by c.relname`,
    );
    const relationsMiB = Object.fromEntries(rels.map((r) => [r.name, Math.round((Number(r.bytes) / MiB) * 10) / 10]));

    const call = () => store.analyzePrompt(key, { windowHours: 24, now });
    const w0 = performance.now();
    const warm = await call();
    const warmupMs = performance.now() - w0;
    if (warm.overall.n !== size) throw new Error(`analysis saw ${warm.overall.n} conversations, loaded ${size}`);

    const loadAvg1 = loadavg()[0]!;
    const runsMs: number[] = [];
    const samplesPerRun: number[] = [];
    let rssDelta = 0;
    let heapDelta = 0;
    let last: AnalysisResult = warm;
    for (let r = 0; r < config.runs; r++) {
      const m = await withMemorySampling(call);
      runsMs.push(m.ms);
      samplesPerRun.push(m.samples);
      rssDelta = Math.max(rssDelta, m.rssDelta);
      heapDelta = Math.max(heapDelta, m.heapDelta);
      last = m.value;
    }
    const explain = config.explain && backend === 'postgres' ? await explainOnce(db.url!, key, now) : undefined;
    return {
      backend,
      size,
      previousRows,
      loadSeconds,
      vacuumSeconds,
      warmupMs,
      runsMs,
      medianMs: median(runsMs),
      rssDeltaMiB: rssDelta / MiB,
      heapDeltaMiB: heapDelta / MiB,
      rssBeforeOpenMiB: rssBeforeOpen / MiB,
      rssAfterLoadMiB: rssAfterLoad / MiB,
      samplesPerRun,
      resultBytes: Buffer.byteLength(JSON.stringify(last)),
      overall: last.overall,
      insights: last.insights.map((i) => `${i.kind}${i.segment ? `:${i.segment}` : ''}/${i.severity}`),
      migrations: db.migrations,
      relationsMiB,
      loadAvg1,
      explain,
    };
  } finally {
    await db.cleanup();
  }
}

function runInChild(task: Task): Promise<CaseResult> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ['--child'], {
      execArgv: [...process.execArgv, '--expose-gc'],
      serialization: 'advanced',
    });
    let result: CaseResult | undefined;
    child.once('message', (message) => {
      const m = message as { ok: true; result: CaseResult } | { ok: false; error: string };
      if (m.ok) result = m.result;
      else reject(new Error(`${task.backend} ${task.size}: ${m.error}`));
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`${task.backend} ${task.size}: child exited with code ${code}`));
    });
    child.send(task);
  });
}

// ---------------------------------------------------------------------------------------------
// Report.

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function table(results: CaseResult[]): string {
  const header = [
    'backend',
    'conversations',
    'load s',
    'median ms',
    'runs ms',
    'x time',
    'x rows',
    'rss Δ MiB',
    'heap Δ MiB',
    'process rss MiB',
    'insights',
    'loadavg',
  ];
  const rows: string[][] = [];
  for (const backend of ['postgres', 'pglite'] as const) {
    const mine = results.filter((r) => r.backend === backend).sort((a, b) => a.size - b.size);
    mine.forEach((r, i) => {
      const prev = mine[i - 1];
      rows.push([
        backend,
        fmt(r.size),
        fmt(r.loadSeconds, 1),
        fmt(r.medianMs, 1),
        r.runsMs.map((x) => fmt(x)).join('/'),
        prev ? fmt(r.medianMs / prev.medianMs, 2) : '-',
        prev ? fmt(r.size / prev.size, 0) : '-',
        fmt(r.rssDeltaMiB, 1),
        fmt(r.heapDeltaMiB, 2),
        `${fmt(r.rssBeforeOpenMiB)} -> ${fmt(r.rssAfterLoadMiB)}`,
        String(r.insights.length),
        fmt(r.loadAvg1, 1),
      ]);
    });
  }
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c <= 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function serverVersion(url: string | undefined): Promise<string | undefined> {
  if (!url) return undefined;
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ v: string; s: string }>(
      `select version() as v, string_agg(name || '=' || current_setting(name), ' ' order by name) as s from pg_settings
       where name in ('work_mem', 'shared_buffers', 'max_parallel_workers_per_gather', 'jit')`,
    );
    return `${rows[0]!.v} (${rows[0]!.s})`;
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2));
  const tasks: Task[] = [];
  const skipped: string[] = [];
  for (const backend of config.backends) {
    const sizes = backend === 'pglite' ? config.pgliteSizes : config.sizes;
    for (const size of sizes) tasks.push({ config, backend, size });
    if (backend === 'pglite') {
      for (const s of config.sizes.filter((n) => !sizes.includes(n))) skipped.push(`pglite ${fmt(s)} (pass --pglite-sizes to run it)`);
    }
  }
  const server = config.backends.includes('postgres') ? await serverVersion(config.databaseUrl) : undefined;
  console.log(`analysis benchmark: ${cpus().length} cpus, ${fmt(totalmem() / 1024 ** 3, 0)} GiB, node ${process.version}`);
  if (server) console.log(`postgres: ${server}`);
  console.log(
    `runs: warm-up + ${config.runs} timed (median); previous version traffic: ${config.previousFraction} x N` +
      `${config.migrationsUntil ? `; migrations up to ${config.migrationsUntil}` : ''}`,
  );

  const results: CaseResult[] = [];
  for (const task of tasks) {
    process.stdout.write(`  ${task.backend} ${fmt(task.size)} ... `);
    const r = await runInChild(task);
    results.push(r);
    console.log(
      `loaded in ${fmt(r.loadSeconds, 1)} s, vacuum analyze ${fmt(r.vacuumSeconds, 1)} s, ` +
        `analysis median ${fmt(r.medianMs, 1)} ms (warm-up ${fmt(r.warmupMs)} ms); insights: ${r.insights.join(', ') || 'none'}`,
    );
    console.log(
      `    sizes (MiB, ${fmt(r.size + r.previousRows)} rows): ${Object.entries(r.relationsMiB)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
    if (r.explain) console.log(`\n--- plans inside analyze_prompt (${task.backend}, ${fmt(task.size)}) ---\n${r.explain.join('\n\n')}\n`);
  }
  console.log(`\n${table(results)}\n`);
  console.log('x time / x rows: median time and size relative to the previous size of the same backend.');
  console.log(
    `loadavg: 1-minute load average when the timed calls started (${cpus().length} cpus); anything else running skews the times.`,
  );
  console.log('rss/heap Δ: peak worker memory during the call over the value just before it (sampled every 2 ms).');
  if (results.some((r) => r.backend === 'pglite')) {
    console.log('pglite: the database runs inside this process (WASM), so "process rss" includes the loaded table and');
    console.log('its memory grows with the data; the worker itself still receives only the JSON result. Sampling');
    console.log('cannot run while the WASM executes, so its rss Δ is what remains after the call.');
  }
  for (const s of skipped) console.log(`not run: ${s}`);

  if (config.json) {
    const payload = {
      generatedAt: new Date().toISOString(),
      machine: { cpus: cpus().length, totalMemGiB: totalmem() / 1024 ** 3, node: process.version },
      postgres: server,
      config: { ...config, databaseUrl: undefined },
      skipped,
      results: results.map(({ explain: _explain, ...r }) => r),
    };
    writeFileSync(config.json, `${JSON.stringify(payload, null, 2)}\n`);
    console.log(`wrote ${config.json}`);
  }
}

if (process.argv.includes('--child')) {
  process.once('message', (task: Task) => {
    runCase(task).then(
      (result) => process.send?.({ ok: true, result }, undefined, undefined, () => process.exit(0)),
      (error: unknown) =>
        process.send?.(
          { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) },
          undefined,
          undefined,
          () => process.exit(1),
        ),
    );
  });
} else {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
