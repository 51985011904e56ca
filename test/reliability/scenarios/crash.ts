import type { Client } from '@temporalio/client';
import { createDatabase, openHarnessStore, SHARED_PG_URL } from '../lib/database';
import { CycleSet, FAST_POLICY, inspectLandings, type Cycle, type Landing } from '../lib/cycles';
import { DbProxy } from '../lib/db-proxy';
import { historyFindings } from '../lib/history-checks';
import { scanHistories } from '../lib/histories';
import { checkCycles } from '../lib/invariants';
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
import { TemporalDevServer } from '../lib/temporal-server';
import { WorkerProcess, workflowFailureIn } from '../lib/worker';

/**
 * Scenario 1: SIGKILL the worker at random moments while full cycles run (several in parallel
 * on distinct prompt keys), restart it each time, and check every cycle completed exactly once.
 *
 * Kill moments: a seeded mixture of short delays after the worker came up (when new cycles are
 * in analysis/generation/creation), medium ones (monitoring, promotion) and long ones (so that
 * monitors, whose next workflow task waits out the dead worker's sticky queue, make progress);
 * about a third of the rounds are also "armed" to kill on the log line a worker writes right
 * after a promotion or an analysis was committed (effect done, completion not yet reported).
 */
export interface CrashOptions {
  cycles: number;
  parallel: number;
  maxKills: number;
  timeoutMs: number;
  /** One-way latency of the proxy between the worker and PostgreSQL. */
  dbLatencyMs: number;
}

interface KillRecord {
  n: number;
  atMs: number;
  aliveMs: number;
  trigger: string;
  landings: Landing[];
}

const EFFECT_LINES = [/"msg":"variant promoted"/, /"msg":"patterns analyzed"/];

/** Activities a round may aim at (early steps weigh more: they are short and rarely hit by chance). */
const TARGETS = [
  'generateVariants',
  'createExperiment',
  'analyzePatterns',
  'promoteVariant',
  'startJob',
  'generateVariants',
  'createExperiment',
  'evaluateExperiment',
  'completeJob',
];
const EARLY = new Set(['startJob', 'analyzePatterns', 'generateVariants', 'createExperiment']);

/**
 * True when `type` is running on worker `pid` in one of the cycles where it can occur (describes
 * only those few workflows: fresh cycles for early steps, monitors close to a decision otherwise).
 */
async function activityStarted(client: Client, cycles: Cycle[], type: string, pid: number): Promise<boolean> {
  const ids: string[] = [];
  for (const c of cycles) {
    if (c.jobId === undefined || c.doneAt !== undefined) continue;
    if (EARLY.has(type)) {
      if (!c.experimentId) ids.push(`job-${c.jobId}`);
    } else if (type === 'completeJob') {
      if (c.fed >= 280) ids.push(`job-${c.jobId}`);
    } else if (c.experimentId && c.fed >= 280) ids.push(`experiment-${c.experimentId}`);
  }
  for (const id of ids) {
    const d = await client.workflow.getHandle(id).describe();
    const raw = d.raw as unknown as {
      pendingActivities?: Array<{
        activityType?: { name?: string | null } | null;
        state?: number | null;
        lastWorkerIdentity?: string | null;
      }> | null;
    };
    if (
      raw.pendingActivities?.some(
        (a) => a.activityType?.name === type && a.state === 2 && (a.lastWorkerIdentity ?? '').startsWith(`${pid}@`),
      )
    )
      return true;
  }
  return false;
}

export async function crashScenario(ctx: ScenarioContext, opts: CrashOptions): Promise<ScenarioResult> {
  const t0 = Date.now();
  const failures: string[] = [];
  const notes: string[] = [];
  const temporal = await TemporalDevServer.start(ctx.dir);
  const db = await createDatabase(SHARED_PG_URL, 'pow_relia_crash');
  // The worker reaches the database across a few milliseconds of latency, as a hosted one is;
  // it also widens the windows in which a kill lands inside an activity.
  const proxy = await DbProxy.start(Number(new URL(SHARED_PG_URL).port || 5432), { latencyMs: opts.dbLatencyMs });
  const store = await openHarnessStore(db.url);
  const { client, connection } = await temporal.connect();
  const worker = new WorkerProcess({
    name: 'crash',
    temporalAddress: temporal.address,
    databaseUrl: proxy.url(db.name),
    logDir: ctx.dir,
    bundlePath: ctx.bundlePath,
  });
  const set = new CycleSet(store);
  const kills: KillRecord[] = [];
  const startTimes: number[] = [];
  let nextKey = 0;
  let aimedRounds = 0;
  let finalStop = 'final SIGTERM: worker was not running';
  try {
    set.pump.start(1_000);
    const deadline = t0 + opts.timeoutMs;
    // Keeps `parallel` cycles in flight: new ones are POSTed at random moments, and POSTs cut
    // by a kill are repeated (same idempotency key) on the next worker.
    const posting = new Set<string>();
    const posts: Array<Promise<void>> = [];
    const postLater = (c: Cycle, delayMs: number) => {
      posting.add(c.key);
      posts.push(
        sleep(delayMs)
          .then(() => set.post(c, worker))
          .catch(() => {})
          .finally(() => posting.delete(c.key)),
      );
    };
    let topping = false;
    const topUp = async () => {
      if (topping || !worker.running) return;
      topping = true;
      try {
        await set.refresh();
        for (const c of set.cycles) if (c.jobId === undefined && !posting.has(c.key)) postLater(c, 0);
        const unposted = set.cycles.filter((c) => c.jobId === undefined).length;
        const toStart = Math.min(opts.parallel - set.inFlight.length - unposted, opts.cycles - set.cycles.length);
        for (let i = 0; i < toStart; i++)
          postLater(await set.add(`crash-${String(nextKey++).padStart(2, '0')}`), uniform(ctx.random, 0, 1_500));
      } catch {
        // the database is fine; a failed refresh is retried on the next tick
      } finally {
        topping = false;
      }
    };

    while (!set.allDone || set.cycles.length < opts.cycles) {
      if (Date.now() > deadline) {
        failures.push(`hang: not every cycle finished within ${fmtMs(opts.timeoutMs)} (${set.inFlight.length} in flight)`);
        break;
      }
      const broken = workflowFailureIn(worker);
      if (broken) {
        failures.push(`gave up: ${broken}`);
        break;
      }
      if (!worker.running) startTimes.push(await worker.start());
      const aliveFrom = Date.now();
      await topUp();
      const ticker = setInterval(() => void topUp(), 500);
      try {
        if (kills.length >= opts.maxKills) {
          ctx.log(`kill budget spent (${kills.length}); letting the worker finish the remaining cycles`);
          await until(
            async () => {
              await set.refresh();
              if (!worker.running) throw new Error(`worker exited on its own: ${JSON.stringify(worker.exits.at(-1))}`);
              return set.allDone && set.cycles.length >= opts.cycles;
            },
            {
              timeoutMs: Math.max(10_000, deadline - Date.now()),
              intervalMs: 1_000,
              what: 'every cycle done',
              abort: () => workflowFailureIn(worker),
            },
          ).catch((err) => failures.push(`hang: ${(err as Error).message}`));
          break;
        }

        // When to kill: short (early steps), medium (monitoring/promotion) or long (progress);
        // some rounds aim at one activity (kill the moment Temporal says a worker picked it up),
        // some fire on the log line written right after an effect was committed.
        const r = ctx.random();
        const delay =
          r < 0.35 ? uniform(ctx.random, 0, 700) : r < 0.8 ? uniform(ctx.random, 700, 6_000) : uniform(ctx.random, 6_000, 20_000);
        const mode = ctx.random();
        // Aimed rounds take the steps in turn, so every step gets its share whatever the timing.
        const target = mode < 0.45 ? TARGETS[aimedRounds++ % TARGETS.length]! : undefined;
        const armed = !target && mode < 0.65;
        if (
          target &&
          EARLY.has(target) &&
          !set.cycles.some((c) => c.jobId !== undefined && c.doneAt === undefined && !c.experimentId) &&
          posting.size === 0 &&
          set.cycles.length < opts.cycles
        ) {
          // An early step needs a fresh cycle: start one now (one over `parallel` at most).
          postLater(await set.add(`crash-${String(nextKey++).padStart(2, '0')}`), uniform(ctx.random, 100, 600));
        }
        let trigger = `random ${Math.round(delay)}ms`;
        await new Promise<void>((resolve) => {
          let finished = false;
          const timer = setTimeout(done, target ? Math.max(delay, 8_000) : delay);
          const off = armed
            ? worker.onLine((line) => {
                const hit = EFFECT_LINES.find((re) => re.test(line));
                if (hit) {
                  trigger = `on log "${/"msg":"([^"]+)"/.exec(line)?.[1]}"`;
                  done();
                }
              })
            : () => {};
          if (target) {
            trigger = `aimed at ${target}, not seen: ${Math.round(Math.max(delay, 8_000))}ms`;
            void (async () => {
              while (!finished) {
                if (await activityStarted(client, set.cycles, target, worker.pid).catch(() => false)) {
                  trigger = `aimed at ${target}`;
                  done();
                  return;
                }
                await sleep(20);
              }
            })();
          }
          function done() {
            if (finished) return;
            finished = true;
            clearTimeout(timer);
            off();
            resolve();
          }
        });
        if (!worker.running) {
          failures.push(`worker exited on its own: ${JSON.stringify(worker.exits.at(-1))}`);
          if (worker.exits.length > 3 * (kills.length + 1)) break;
          continue;
        }
        if (set.inFlight.length === 0 && posting.size === 0) continue;
        const killedPid = worker.pid;
        await worker.kill();
        const landings = await inspectLandings(client, set.cycles, killedPid);
        kills.push({ n: kills.length + 1, atMs: Date.now() - t0, aliveMs: Date.now() - aliveFrom, trigger, landings });
        ctx.log(
          `kill #${kills.length} (${trigger}, alive ${fmtMs(Date.now() - aliveFrom)}): ${landings.map((l) => `${l.key}@${l.step}${l.midActivity ? '*' : l.stale ? '~' : ''}`).join(' ') || 'nothing in flight'}`,
        );
      } finally {
        clearInterval(ticker);
      }
      await Promise.allSettled(posts);
      await set.refresh();
      await sleep(uniform(ctx.random, 0, 800));
    }

    if (worker.running) {
      const term = await worker.terminate();
      if (term.code !== 0) failures.push(`SIGTERM at the end: worker exited ${term.code ?? term.signal}${term.forced ? ' (forced)' : ''}`);
      finalStop = `final SIGTERM: exit ${term.code ?? term.signal} after ${fmtMs(term.ms)}`;
    }
    await set.pump.stop();
    await set.refresh();

    // Temporal's view: every job workflow completed.
    for (const c of set.cycles) {
      if (c.jobId === undefined) {
        failures.push(`${c.key}: never posted`);
        continue;
      }
      const d = await client.workflow
        .getHandle(`job-${c.jobId}`)
        .describe()
        .catch(() => undefined);
      if (d?.status.name !== 'COMPLETED') failures.push(`${c.key}: workflow job-${c.jobId} is ${d?.status.name ?? 'missing'}`);
    }
    const findings = await checkCycles(
      db.url,
      set.cycles.map((c) => ({ key: c.key, jobId: c.jobId, fed: c.fed, variantCount: 2, outcome: 'promoted' as const })),
    );
    const history = await scanHistories(client);
    const hf = historyFindings(history);
    failures.push(...hf.failures);
    const unexpectedExits = worker.exits.filter((e) => e.requested === 'none');
    for (const e of unexpectedExits) failures.push(`worker exited without being asked: ${e.code ?? e.signal}`);

    const allLandings = kills.flatMap((k) => k.landings);
    const steps = histogram(allLandings.map((l) => l.step));
    const mid = histogram(allLandings.filter((l) => l.midActivity).map((l) => l.step));
    const stale = allLandings.filter((l) => l.stale).length;
    const hitCycles = new Set(allLandings.map((l) => l.key));
    const cycleTimes = set.cycles
      .filter((c) => c.postedAt && c.doneAt)
      .map((c) => c.doneAt! - c.postedAt!)
      .sort((a, b) => a - b);
    const logKills = kills.filter((k) => k.trigger.startsWith('on log')).length;
    const aimed = kills.filter((k) => k.trigger.startsWith('aimed at'));
    const aimedHit = aimed.filter((k) => !k.trigger.includes('not seen')).map((k) => k.trigger.replace('aimed at ', ''));
    notes.push(
      `${set.cycles.length} cycles (${opts.parallel} in parallel, policy ${JSON.stringify(FAST_POLICY)}, database behind a ${opts.dbLatencyMs} ms one-way latency proxy), ` +
        `${kills.length} SIGKILLs: ${kills.length - logKills - aimed.length} at random delays, ${logKills} on an "effect committed" log line, ${aimed.length} aimed at one activity (${aimedHit.length} hit: ${
          histogram(aimedHit)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || 'none'
        }); ` +
        `${hitCycles.size}/${set.cycles.length} cycles hit by at least one kill`,
      `kill landings per in-flight cycle (${allLandings.length}): ${steps.map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `  of which mid-activity (picked up by the killed worker, running or done but not reported): ${mid.map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}; ` +
        `${stale} landings found an activity still held by a worker killed earlier (waiting for its timeout)`,
      `worker restarts: ${startTimes.length} starts, start-to-healthy median ${fmtMs(startTimes.sort((a, b) => a - b)[Math.floor(startTimes.length / 2)] ?? 0)}`,
      `cycle wall time (POST to job completed): median ${fmtMs(cycleTimes[Math.floor(cycleTimes.length / 2)] ?? 0)}, max ${fmtMs(cycleTimes.at(-1) ?? 0)}`,
      `database: ${describeFacts(findings.facts)}; POST /v1/jobs attempts ${set.cycles.reduce((n, c) => n + c.postAttempts, 0)} for ${set.cycles.length} jobs`,
      finalStop,
      ...describeHistory(history),
    );
    return result({
      name: 'crash',
      action: 'SIGKILL the worker at random moments during full cycles; restart it each time',
      howOften: `${kills.length} kills over ${set.cycles.length} cycles (${hitCycles.size} hit)`,
      lostDetails: findings.lost,
      duplicatedDetails: [...findings.duplicated, ...hf.duplicated],
      failures,
      durationMs: Date.now() - t0,
      figures: {
        cycles: set.cycles.length,
        parallel: opts.parallel,
        kills: kills.length,
        killsOnLogLine: logKills,
        cyclesHit: hitCycles.size,
        landings: Object.fromEntries(steps),
        midActivity: Object.fromEntries(mid),
        killLog: kills,
        workerStartMs: startTimes,
        cycleWallMs: cycleTimes,
        db: findings.facts,
        pumpErrors: set.pump.errors,
      },
      notes,
      history,
    });
  } finally {
    await set.pump.stop();
    if (worker.running) await worker.kill();
    await connection.close().catch(() => {});
    await temporal.stop('SIGTERM');
    await store.close().catch(() => {});
    await proxy.close();
    if (!process.env.RELIABILITY_KEEP_DB) await db.drop().catch(() => {});
  }
}
