import type { Client } from '@temporalio/client';
import { rolloutWorkflowId } from '../../../src/domain/ids';
import { createDatabase, openHarnessStore, SHARED_PG_URL, ThrowawayCluster } from '../lib/database';
import { DbProxy } from '../lib/db-proxy';
import { healthTimeline, pollHealth } from '../lib/health';
import { historyFindings } from '../lib/history-checks';
import { scanHistories } from '../lib/histories';
import { sleep, until } from '../lib/proc';
import {
  describeFacts,
  describeHistory,
  fmtMs,
  histogram,
  result,
  type ScenarioContext,
  type ScenarioResult,
  uniform,
} from '../lib/report';
import {
  checkRollouts,
  checkWatchRuns,
  inspectWatches,
  MID_CHECK,
  reliabilityRollout,
  RolloutSet,
  type RolloutKind,
} from '../lib/rollouts';
import { TemporalDevServer } from '../lib/temporal-server';
import { WorkerProcess, workflowFailureIn } from '../lib/worker';

/**
 * Guarded rollouts under faults (issue 15): several rollouts ramp and are watched at once (some
 * stay good and must complete, some turn bad during the ramp or after it and must be rolled
 * back), while the worker is SIGKILLed, the database is stopped, or the Temporal server is
 * restarted. Checks: every rollout ends as its traffic says, once (one rollback event, one
 * completion, one completed watch run); the key keeps exactly one active version; while live,
 * the holdback keeps its weight of the traffic and no subject moves back to the old version.
 */
export type RolloutFault =
  | { kind: 'kill'; maxKills: number }
  | { kind: 'outage'; outageMs: number }
  | { kind: 'temporal-restart'; restarts: NodeJS.Signals[]; downMs: number };

export interface RolloutScenarioOptions {
  fault: RolloutFault;
  rollouts: RolloutKind[];
  /** How long each rollout is watched, from its promotion. */
  watchSeconds: number;
  timeoutMs: number;
}

const EFFECT_LINE = /"msg":"rollout moved"/;
const KILL_ON_EFFECT = 'on "rollout moved"';
const KILL_IN_CHECK = 'aimed at a running check';
const NAMES = { kill: 'rollout-kill', outage: 'rollout-outage', 'temporal-restart': 'rollout-temporal-restart' } as const;

interface FaultEnv {
  ctx: ScenarioContext;
  set: RolloutSet;
  worker: WorkerProcess;
  temporal: TemporalDevServer;
  cluster?: ThrowawayCluster;
  failures: string[];
  /** The harness's Temporal client. */
  client(): Client;
  /** Connects the harness again (after a Temporal restart). */
  reconnect(): Promise<void>;
  probe(label: string): Promise<void>;
}

export async function rolloutScenario(ctx: ScenarioContext, opts: RolloutScenarioOptions): Promise<ScenarioResult> {
  const t0 = Date.now();
  const name = NAMES[opts.fault.kind];
  const failures: string[] = [];
  const notes: string[] = [];
  const temporal = await TemporalDevServer.start(ctx.dir);
  const cluster = opts.fault.kind === 'outage' ? await ThrowawayCluster.create() : undefined;
  const db = await createDatabase(cluster?.adminUrl ?? SHARED_PG_URL, `pow_relia_${opts.fault.kind.replace('-', '_')}`);
  const store = await openHarnessStore(db.url);
  let conn = await temporal.connect();
  // Under kills the worker reaches the database through a 5 ms one-way latency proxy (a hosted
  // database), which also widens the window in which a kill lands inside a check.
  const proxy = opts.fault.kind === 'kill' ? await DbProxy.start(Number(new URL(SHARED_PG_URL).port || 5432), { latencyMs: 5 }) : undefined;
  const worker = new WorkerProcess({
    name,
    temporalAddress: temporal.address,
    databaseUrl: proxy?.url(db.name) ?? db.url,
    logDir: ctx.dir,
    bundlePath: ctx.bundlePath,
  });
  const plan = reliabilityRollout(opts.watchSeconds);
  const set = new RolloutSet(store, db.url, plan);
  // Probes run only while the database is up: any error is a finding, not "the database away".
  const probeErrors: string[] = [];
  const env: FaultEnv = {
    ctx,
    set,
    worker,
    temporal,
    cluster,
    failures,
    client: () => conn.client,
    reconnect: async () => {
      await conn.connection.close().catch(() => {});
      conn = await temporal.connect();
    },
    probe: async (label) => {
      await set.probe(label).catch((err: Error) => probeErrors.push(`${label}: ${err.message.slice(0, 200)}`));
    },
  };
  try {
    await worker.start();
    for (const [i, kind] of opts.rollouts.entries()) await set.add(`${name}-${i}-${kind}`, kind);
    await set.startWatches(conn.client);
    set.pump.start(1_000);
    const watchedFrom = Date.now();
    await env.probe('at the start');

    const fault = await runFault(env, opts.fault);

    let lastProbe = Date.now();
    await until(
      async () => {
        await set.refresh();
        // Probes while the rollouts run on, so every step is seen serving its split.
        if (Date.now() - lastProbe >= 3_000) {
          lastProbe = Date.now();
          await env.probe('while the rollouts run');
        }
        return set.allEnded;
      },
      { timeoutMs: opts.timeoutMs, intervalMs: 1_000, what: 'every rollout ended', abort: () => workflowFailureIn(worker) },
    ).catch((err) => failures.push(`hang: ${(err as Error).message}`));
    await set.pump.stop();
    // An ended rollout ends its watch at the watch's next check (a second at these settings).
    await until(
      async () => {
        for (const c of set.cases) {
          const d = await conn.client.workflow.getHandle(rolloutWorkflowId(c.rolloutId)).describe();
          if (d.status.name === 'RUNNING') return false;
        }
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'every watch workflow closed' },
    ).catch((err) => failures.push(`hang: ${(err as Error).message}`));
    const term = await worker.terminate();
    if (term.code !== 0) failures.push(`SIGTERM: worker exited ${term.code ?? term.signal}`);

    const findings = await checkRollouts(db.url, set.cases, plan);
    const watches = await checkWatchRuns(conn.client, set.cases);
    const history = await scanHistories(conn.client);
    const hf = historyFindings(history);
    failures.push(...set.probeFindings.failures, ...probeErrors, ...findings.wrong, ...watches.failures, ...hf.failures);
    const unprobed = plan.steps.map((_, i) => i).filter((i) => !set.probeFindings.stepsProbed.has(i));
    if (unprobed.length > 0) failures.push(`no probe saw a live rollout at step(s) ${unprobed.map((i) => i + 1).join(', ')}`);

    const ends = set.cases.map((c) => {
      const after = c.regressedAt && c.endedAt ? `, ${fmtMs(c.endedAt - c.regressedAt)} after the regression began` : '';
      return `${c.key} ${c.status} ${c.endedAt ? fmtMs(c.endedAt - watchedFrom) : 'never'} after the promotion${after}`;
    });
    notes.push(
      ...fault.notes,
      `rollouts (plan: ${plan.steps.map((s) => `${Math.round(s.share * 100)}%`).join(' -> ')}, holdback ${Math.round(plan.holdbackShare * 100)}%, watch ${Math.round(plan.watchHours * 3600)}s): ${ends.join('; ')}`,
      `split probes (${set.probeFindings.probes} x 2,000 subjects through assign_prompt): largest gap between the holdback share served and the plan's weight ${(100 * set.probeFindings.maxSplitGap).toFixed(1)} points; steps probed ${[...set.probeFindings.stepsProbed].map((i) => i + 1).join(', ')}`,
      `traffic: ${set.cases.reduce((s, c) => s + c.fed, 0)} conversations logged, ${set.pump.errors} pump rounds refused`,
      `watch runs: ${watches.runs.join('; ')}`,
      `final SIGTERM: exit ${term.code ?? term.signal} after ${fmtMs(term.ms)}`,
      `database: ${describeFacts(findings.facts)}`,
      ...describeHistory(history),
    );
    return result({
      name,
      action: ACTIONS[opts.fault.kind],
      howOften: fault.howOften,
      lostDetails: findings.lost,
      duplicatedDetails: [...findings.duplicated, ...watches.duplicated, ...hf.duplicated],
      failures,
      durationMs: Date.now() - t0,
      figures: {
        ...fault.figures,
        rollouts: set.cases.map(({ onPromoted: _, ...c }) => c),
        probes: { ...set.probeFindings, stepsProbed: [...set.probeFindings.stepsProbed] },
        db: findings.facts,
      },
      notes,
      history,
    });
  } finally {
    await set.pump.stop();
    // Each step on its own: one that fails must not leave the next resource running.
    const quietly = (p: Promise<unknown> | undefined) => Promise.resolve(p).catch(() => {});
    if (worker.running) await quietly(worker.kill());
    await quietly(conn.connection.close());
    await quietly(temporal.stop('SIGTERM'));
    await quietly(store.close());
    await quietly(proxy?.close());
    if (cluster) await quietly(cluster.destroy());
    else if (!process.env.RELIABILITY_KEEP_DB) await quietly(db.drop());
  }
}

const ACTIONS = {
  kill: 'SIGKILL the worker at random moments and right after a rollout moved, during ramps and watches',
  outage: 'PostgreSQL stopped (pg_ctl -m fast) while rollouts ramp and are watched; started again',
  'temporal-restart': 'Temporal dev server killed and restarted while rollout watches wait',
} as const;

/**
 * SIGKILL rounds until every rollout ended or the budget is spent, each round one of three at
 * random: on the log line written right after a check moved a rollout (the effect committed, its
 * completion not yet reported to Temporal), the moment Temporal reports a check running on the
 * worker, or after a random 1.5-8 s.
 */
async function killFault(env: FaultEnv, fault: { maxKills: number }) {
  const { ctx, set, worker } = env;
  const kills: Array<{ trigger: string; landings: string[] }> = [];
  const startMs: number[] = [];
  while (kills.length < fault.maxKills) {
    await set.refresh();
    if (set.allEnded) break;
    const mode = ctx.random();
    let trigger: string;
    if (mode < 1 / 3) {
      let seen = false;
      const off = worker.onLine((line) => {
        if (EFFECT_LINE.test(line)) seen = true;
      });
      await until(async () => seen, { timeoutMs: 15_000, intervalMs: 20, what: 'a rollout moved' }).catch(() => {});
      off();
      trigger = seen ? KILL_ON_EFFECT : `${KILL_ON_EFFECT} (none in 15 s)`;
    } else if (mode < 2 / 3) {
      const client = env.client();
      const hit = await until(async () => (await inspectWatches(client, set.cases, worker.pid)).includes(MID_CHECK), {
        timeoutMs: 10_000,
        intervalMs: 10,
        what: 'a check running',
      }).catch(() => false);
      trigger = hit ? KILL_IN_CHECK : `${KILL_IN_CHECK} (none in 10 s)`;
    } else {
      const delay = uniform(ctx.random, 1_500, 8_000);
      await sleep(delay);
      trigger = `random ${Math.round(delay)}ms`;
    }
    const pid = worker.pid;
    await worker.kill();
    const landings = await inspectWatches(env.client(), set.cases, pid);
    kills.push({ trigger, landings });
    ctx.log(`kill #${kills.length} (${trigger}): ${landings.join(', ') || 'nothing live'}`);
    startMs.push(await worker.start());
    await env.probe(`after kill #${kills.length}`);
  }
  const onLine = kills.filter((k) => k.trigger === KILL_ON_EFFECT).length;
  const inCheck = kills.filter((k) => k.trigger === KILL_IN_CHECK).length;
  const landings = histogram(kills.flatMap((k) => k.landings));
  const sorted = [...startMs].sort((a, b) => a - b);
  return {
    howOften: `${kills.length} kills (${inCheck} in a check, ${onLine} right after a rollout moved), ${set.cases.length} rollouts`,
    notes: [
      `${kills.length} SIGKILLs: ${inCheck} aimed at a running check, ${onLine} on the "rollout moved" log line (effect committed, completion not reported), ${kills.length - onLine - inCheck} at random moments; ${startMs.length} restarts, start-to-healthy median ${fmtMs(sorted[Math.floor(sorted.length / 2)] ?? 0)}`,
      `kill landings per live rollout: ${landings.map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
    ],
    figures: { kills },
  };
}

/** Waits until every rollout has been checked twice: the point at which the fault strikes. */
async function untilWatched(env: FaultEnv, checks = 2): Promise<void> {
  const { set } = env;
  await until(
    async () => {
      for (const c of set.live) if (((await set.store.latestRolloutCheck(c.rolloutId))?.check_no ?? 0) < checks) return false;
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 250, what: `${checks} watch checks on every rollout` },
  );
}

async function outageFault(env: FaultEnv, fault: { outageMs: number }) {
  const { ctx, set, worker, cluster, failures } = env;
  if (!cluster) throw new Error('the outage needs the throw-away cluster');
  await untilWatched(env);
  const health = pollHealth(worker, 500, 4_000);
  const live = set.live.map((c) => c.key);
  if (live.length === 0) failures.push('the outage began with no rollout live');
  const downAt = Date.now();
  let upStart = downAt;
  let upAt = downAt;
  try {
    await cluster.stop('fast');
    ctx.log(`database stopped with ${live.length} rollouts live; down for ${fmtMs(fault.outageMs)}`);
    await sleep(fault.outageMs);
    upStart = Date.now();
    await cluster.start();
    upAt = Date.now();
    if (!worker.running) failures.push(`worker exited during the outage: ${JSON.stringify(worker.exits.at(-1))}`);
    await until(async () => health.samples.some((s) => s.at >= upAt && s.status === 200), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: '/health 200 after the outage',
    }).catch((err) => failures.push((err as Error).message));
  } finally {
    await health.stop();
  }
  await env.probe('after the outage');
  const during = health.samples.filter((s) => s.at >= downAt + 3_000 && s.at + s.ms <= upStart);
  if (during.some((s) => s.status !== 503)) failures.push('/health answered other than 503 during the outage');
  return {
    howOften: `1 outage of ${Math.round((upStart - downAt) / 1000)}s, ${live.length} rollouts live`,
    notes: [
      `outage: database stopped ${fmtMs(upStart - downAt)} (pg_ctl stop -m fast; start took ${fmtMs(upAt - upStart)}) with ${live.join(', ')} live`,
      `/health timeline (s since stop): ${healthTimeline(health.samples, downAt)
        .map((t) => `${t.status || 'none'}x${t.count} [${t.fromS}..${t.toS}]`)
        .join(' -> ')}`,
    ],
    figures: { outageMs: upStart - downAt, live },
  };
}

async function temporalRestartFault(env: FaultEnv, fault: { restarts: NodeJS.Signals[]; downMs: number }) {
  const { ctx, set, temporal, worker, failures } = env;
  const restarts: Array<{ signal: string; downMs: number; resumeMs: number | null; live: number }> = [];
  for (const signal of fault.restarts) {
    await untilWatched(env, restarts.length * 4 + 2).catch(() => {});
    const live = set.live;
    if (live.length === 0) {
      failures.push(`restart ${restarts.length + 1} (${signal}) skipped: no rollout live any more`);
      break;
    }
    const downAt = Date.now();
    await temporal.stop(signal);
    await sleep(fault.downMs);
    // Read while Temporal is down: a check that was running at the stop has finished by now, so
    // only a check after the restart counts as the watch resuming.
    const before = new Map<string, number>();
    for (const c of live) before.set(c.rolloutId, (await set.store.latestRolloutCheck(c.rolloutId))?.check_no ?? 0);
    await temporal.startProcess();
    const upAt = Date.now();
    await env.reconnect();
    let resumeMs: number | null = null;
    await until(
      async () => {
        for (const c of live) {
          const r = await set.store.getRollout(c.rolloutId);
          const n = (await set.store.latestRolloutCheck(c.rolloutId))?.check_no ?? 0;
          if (r.status === 'live' && n <= before.get(c.rolloutId)!) return false;
        }
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'a new watch check on every live rollout after the restart' },
    )
      .then(() => (resumeMs = Date.now() - upAt))
      .catch((err) => failures.push(`after the ${signal} restart: ${(err as Error).message}`));
    if (!worker.running) {
      failures.push(`worker exited when Temporal went away (${JSON.stringify(worker.exits.at(-1))}); restarted it`);
      await worker.start();
    }
    restarts.push({ signal, downMs: upAt - downAt, resumeMs, live: live.length });
    ctx.log(`temporal back after ${fmtMs(upAt - downAt)}; watches checked again ${resumeMs !== null ? fmtMs(resumeMs) : 'never'} later`);
    await env.probe(`after the ${signal} restart`);
  }
  return {
    howOften: `${restarts.length} restarts (${restarts.map((r) => r.signal).join(', ')}), ~${Math.round(fault.downMs / 1000)}s down each`,
    notes: restarts.map(
      (r, i) =>
        `restart ${i + 1} (${r.signal}): Temporal unreachable ${fmtMs(r.downMs)} with ${r.live} rollouts live; watches checked again ${r.resumeMs !== null ? fmtMs(r.resumeMs) : 'never'} after it was back`,
    ),
    figures: { restarts },
  };
}

/** Runs the fault against the live rollouts; returns what it did, for the report. */
function runFault(env: FaultEnv, fault: RolloutFault): Promise<{ howOften: string; notes: string[]; figures: Record<string, unknown> }> {
  switch (fault.kind) {
    case 'kill':
      return killFault(env, fault);
    case 'outage':
      return outageFault(env, fault);
    case 'temporal-restart':
      return temporalRestartFault(env, fault);
  }
}
