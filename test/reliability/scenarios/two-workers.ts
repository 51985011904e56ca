import { createDatabase, openHarnessStore, SHARED_PG_URL } from '../lib/database';
import { CycleSet } from '../lib/cycles';
import { historyFindings } from '../lib/history-checks';
import { scanHistories } from '../lib/histories';
import { checkCycles } from '../lib/invariants';
import { until } from '../lib/proc';
import { describeFacts, describeHistory, fmtMs, result, type ScenarioContext, type ScenarioResult } from '../lib/report';
import { TemporalDevServer } from '../lib/temporal-server';
import { activityCounts, WorkerProcess, workflowFailureIn } from '../lib/worker';

/**
 * Scenario 4: two worker processes on the same task queue and database. Every cycle is
 * submitted to both at once with the same idempotency key (a client retrying against another
 * replica); halfway one worker is restarted gracefully (SIGTERM, exit 0 expected). Effects must
 * still be exactly once, and both workers must have done work.
 */
export async function twoWorkersScenario(ctx: ScenarioContext, opts: { cycles: number }): Promise<ScenarioResult> {
  const t0 = Date.now();
  const failures: string[] = [];
  const notes: string[] = [];
  const temporal = await TemporalDevServer.start(ctx.dir);
  const db = await createDatabase(SHARED_PG_URL, 'pow_relia_two');
  const store = await openHarnessStore(db.url);
  const { client, connection } = await temporal.connect();
  const mk = (name: string) =>
    new WorkerProcess({ name, temporalAddress: temporal.address, databaseUrl: db.url, logDir: ctx.dir, bundlePath: ctx.bundlePath });
  const a = mk('a');
  const b = mk('b');
  const set = new CycleSet(store);
  const work: Record<string, number> = { a: 0, b: 0 };
  const scrape = async (w: WorkerProcess) => {
    const counts = activityCounts(await w.metrics());
    work[w.opts.name] = (work[w.opts.name] ?? 0) + Object.values(counts).reduce((n, c) => n + c.ok + c.error, 0);
  };
  try {
    await Promise.all([a.start(), b.start()]);
    let doubleSubmits = 0;
    for (let i = 0; i < opts.cycles; i++) {
      const c = await set.add(`two-${i}`);
      // Same idempotency key to both replicas at once: one job row, one workflow.
      const [ra, rb] = await Promise.all([
        a.postJob('full_cycle', { promptKey: c.key, variantCount: 2, policy: set.opts.policy }, c.idempotencyKey),
        b.postJob('full_cycle', { promptKey: c.key, variantCount: 2, policy: set.opts.policy }, c.idempotencyKey),
      ]);
      doubleSubmits++;
      if (ra.jobId !== rb.jobId)
        failures.push(`${c.key}: the two replicas created different jobs (${ra.jobId}, ${rb.jobId}) for one idempotency key`);
      c.jobId = ra.jobId;
      c.postAttempts = 2;
      c.postedAt = Date.now();
    }
    set.pump.start(1_000);

    // Halfway: graceful restart of worker a.
    await until(async () => set.cycles.filter((c) => c.experimentId).length >= Math.ceil(opts.cycles / 2), {
      timeoutMs: 120_000,
      intervalMs: 250,
      what: 'half of the experiments running',
    });
    await scrape(a);
    const term = await a.terminate();
    if (term.code !== 0) failures.push(`graceful restart: worker a exited ${term.code ?? term.signal}${term.forced ? ' (forced)' : ''}`);
    ctx.log(`worker a drained and exited ${term.code ?? term.signal} in ${fmtMs(term.ms)}; restarting`);
    const restartMs = await a.start();

    await until(
      async () => {
        await set.refresh();
        if (!a.running || !b.running) throw new Error('a worker exited');
        return set.allDone;
      },
      { timeoutMs: 6 * 60_000, intervalMs: 1_000, what: 'every cycle done', abort: () => workflowFailureIn(a, b) },
    ).catch((err) => failures.push(`hang: ${(err as Error).message}`));
    await set.pump.stop();
    await Promise.all([scrape(a), scrape(b)]);
    const [ta, tb] = await Promise.all([a.terminate(), b.terminate()]);
    for (const [n, t] of [
      ['a', ta],
      ['b', tb],
    ] as const)
      if (t.code !== 0) failures.push(`final SIGTERM: worker ${n} exited ${t.code ?? t.signal}`);
    if (work.a === 0 || work.b === 0) failures.push(`one worker did no work (activities a ${work.a}, b ${work.b})`);

    const findings = await checkCycles(
      db.url,
      set.cycles.map((c) => ({ key: c.key, jobId: c.jobId, fed: c.fed, variantCount: 2, outcome: 'promoted' as const })),
    );
    const history = await scanHistories(client);
    const hf = historyFindings(history);
    failures.push(...hf.failures);
    const cycleTimes = set.cycles
      .filter((c) => c.doneAt && c.postedAt)
      .map((c) => c.doneAt! - c.postedAt!)
      .sort((x, y) => x - y);
    notes.push(
      `${opts.cycles} cycles, each POSTed to both workers at once with one idempotency key (${doubleSubmits} double submits -> ${new Set(set.cycles.map((c) => c.jobId)).size} jobs)`,
      `worker a restarted gracefully halfway: SIGTERM -> exit ${term.code ?? term.signal} in ${fmtMs(term.ms)}, back healthy in ${fmtMs(restartMs)}`,
      `activity executions per worker (/metrics): a ${work.a}, b ${work.b}`,
      `cycle wall time: median ${fmtMs(cycleTimes[Math.floor(cycleTimes.length / 2)] ?? 0)}, max ${fmtMs(cycleTimes.at(-1) ?? 0)}`,
      `final SIGTERM: a exit ${ta.code ?? ta.signal} (${fmtMs(ta.ms)}), b exit ${tb.code ?? tb.signal} (${fmtMs(tb.ms)})`,
      `database: ${describeFacts(findings.facts)}`,
      ...describeHistory(history),
    );
    return result({
      name: 'two-workers',
      action: 'two worker processes, one task queue and database; every job submitted to both; one graceful restart',
      howOften: `${opts.cycles} cycles, ${doubleSubmits} double submits, 1 restart`,
      lostDetails: findings.lost,
      duplicatedDetails: [...findings.duplicated, ...hf.duplicated],
      failures,
      durationMs: Date.now() - t0,
      figures: {
        cycles: opts.cycles,
        doubleSubmits,
        activitiesPerWorker: work,
        gracefulStopMs: term.ms,
        cycleWallMs: cycleTimes,
        db: findings.facts,
      },
      notes,
      history,
    });
  } finally {
    await set.pump.stop();
    for (const w of [a, b]) if (w.running) await w.kill();
    await connection.close().catch(() => {});
    await temporal.stop('SIGTERM');
    await store.close().catch(() => {});
    if (!process.env.RELIABILITY_KEEP_DB) await db.drop().catch(() => {});
  }
}
