import { createDatabase, openHarnessStore, sql, ThrowawayCluster } from '../lib/database';
import { CycleSet, inspectLandings, untilMonitoring, type Cycle } from '../lib/cycles';
import { healthTimeline, pollHealth } from '../lib/health';
import { historyFindings } from '../lib/history-checks';
import { scanHistories } from '../lib/histories';
import { checkCycles } from '../lib/invariants';
import { sleep, until } from '../lib/proc';
import { describeFacts, describeHistory, fmtMs, result, type ScenarioContext, type ScenarioResult } from '../lib/report';
import { TemporalDevServer } from '../lib/temporal-server';
import { activityCounts, WorkerProcess, workflowFailureIn } from '../lib/worker';

/**
 * Scenario 2: the database goes away for 30-60 s in the middle of cycles. A throw-away
 * PostgreSQL cluster of the harness's own is stopped for real (`pg_ctl stop -m fast`: sessions
 * terminated, new connections refused, as in a restart or fail-over) and started again; the
 * shared server is never touched. One cycle is monitoring when the database goes, another was
 * just submitted (job start / analysis). Checks: activities retry with backoff, /health says 503
 * during the outage and 200 after, the API answers 503 (not 500) meanwhile, both cycles complete,
 * nothing is duplicated.
 */
export async function outageScenario(ctx: ScenarioContext, opts: { outageMs: number }): Promise<ScenarioResult> {
  const t0 = Date.now();
  const failures: string[] = [];
  const notes: string[] = [];
  const temporal = await TemporalDevServer.start(ctx.dir);
  const cluster = await ThrowawayCluster.create();
  ctx.log(`throw-away PostgreSQL cluster on port ${cluster.port} (${cluster.dir})`);
  const db = await createDatabase(cluster.adminUrl, 'pow_relia_outage');
  const store = await openHarnessStore(db.url);
  const { client, connection } = await temporal.connect();
  const worker = new WorkerProcess({
    name: 'outage',
    temporalAddress: temporal.address,
    databaseUrl: db.url,
    logDir: ctx.dir,
    bundlePath: ctx.bundlePath,
  });
  const set = new CycleSet(store);
  const health = { samples: [] as Array<{ at: number; status: number; ms: number; reason?: string }>, stop: async () => {} };
  try {
    await worker.start();
    const monitoring: Cycle = await set.add('outage-monitoring');
    await set.post(monitoring, worker);
    // Into monitoring with some traffic, well below the decision gate (100 per arm, 3 arms).
    await untilMonitoring(set, monitoring, db.url);
    const polled = pollHealth(worker, 500, 4_000);
    health.samples = polled.samples;
    health.stop = polled.stop;
    const early: Cycle = await set.add('outage-early');
    await sleep(1_500);
    // The second cycle is submitted and the database stopped right away: it meets the outage in its first steps.
    await set.post(early, worker);

    const downStart = Date.now();
    await cluster.stop('fast');
    const downAt = Date.now();
    const atStop = await inspectLandings(client, set.cycles, worker.pid);
    ctx.log(
      `database stopped (${fmtMs(downAt - downStart)}); staying down ${fmtMs(opts.outageMs)}; cycles at the stop: ${atStop.map((l) => `${l.key}@${l.step}`).join(', ')}`,
    );

    // The API while the database is away: 503 with a message, never a 500 or a hang.
    await sleep(3_000);
    const probes: Array<{ route: string; status: number }> = [];
    const probe = async (route: string, fn: () => Promise<{ status: number }>) => {
      try {
        probes.push({ route, status: (await fn()).status });
      } catch (err) {
        probes.push({ route, status: 0 });
        notes.push(`probe ${route} during outage: ${(err as Error).message}`);
      }
    };
    await probe('POST /v1/conversations', () =>
      worker.ingest('/v1/conversations', {
        promptKey: 'outage-monitoring',
        versionId: monitoring.controlId,
        success: true,
        externalId: 'outage-probe-1',
      }),
    );
    await probe('POST /v1/assign', () => worker.ingest('/v1/assign', { promptKey: 'outage-monitoring', subjectId: 'probe' }));
    await probe('POST /v1/jobs', () =>
      worker.admin('POST', '/v1/jobs', {
        type: 'pattern_analysis',
        params: { promptKey: 'outage-monitoring' },
        idempotencyKey: 'outage-probe-job',
      }),
    );
    for (const p of probes)
      if (p.status !== 503) failures.push(`${p.route} during the outage answered ${p.status || 'nothing'}, expected 503`);

    await sleep(Math.max(0, opts.outageMs - (Date.now() - downAt)));
    let metricsDuring: Record<string, { ok: number; error: number }> = {};
    try {
      metricsDuring = activityCounts(await worker.metrics());
    } catch (err) {
      failures.push(`/metrics during the outage: ${(err as Error).message}`);
    }
    const upStart = Date.now();
    await cluster.start();
    const upAt = Date.now();
    ctx.log(`database back after ${fmtMs(upStart - downAt)} down (start took ${fmtMs(upAt - upStart)})`);
    if (!worker.running) failures.push(`worker exited during the outage: ${JSON.stringify(worker.exits.at(-1))}`);

    const healthyAgain = await until(async () => health.samples.find((s) => s.at >= upAt && s.status === 200), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: '/health 200 after the outage',
    }).catch((err) => {
      failures.push((err as Error).message);
      return undefined;
    });

    // The probe conversation may or may not have been written by a retrying client: it was refused (503), so it must not exist.
    set.pump.start(1_000);
    for (const c of set.cycles) c.cap = 1_500;
    await until(
      async () => {
        await set.refresh();
        if (!worker.running) throw new Error('worker exited');
        return set.allDone;
      },
      { timeoutMs: 8 * 60_000, intervalMs: 1_000, what: 'both cycles done after the outage', abort: () => workflowFailureIn(worker) },
    ).catch((err) => failures.push(`hang: ${(err as Error).message}`));
    await set.pump.stop();
    await health.stop();

    let metricsAfter: Record<string, { ok: number; error: number }> = {};
    try {
      metricsAfter = activityCounts(await worker.metrics());
    } catch {
      // reported below as missing
    }
    const term = await worker.terminate();
    if (term.code !== 0) failures.push(`SIGTERM: worker exited ${term.code ?? term.signal}`);

    // /health: 503 throughout the outage (after a 3 s detection allowance), answered every time, 200 after.
    const during = health.samples.filter((s) => s.at >= downAt + 3_000 && s.at + s.ms <= upStart);
    const wrong = during.filter((s) => s.status !== 503);
    if (during.length === 0) failures.push('no /health sample during the outage');
    if (wrong.length > 0)
      failures.push(
        `/health during the outage: ${wrong.length}/${during.length} samples not 503 (${[...new Set(wrong.map((s) => s.status || 'no answer'))].join(', ')})`,
      );
    const firstBad = health.samples.find((s) => s.at >= downStart && s.status !== 200);
    const unhealthyMs = firstBad && healthyAgain ? healthyAgain.at - firstBad.at : undefined;
    const detectMs = firstBad ? Math.max(0, firstBad.at + firstBad.ms - downStart) : undefined;
    const recoverMs = healthyAgain ? healthyAgain.at + healthyAgain.ms - upAt : undefined;
    const slowest = Math.max(0, ...health.samples.map((s) => s.ms));
    const probeRow = await sql<{ n: string }>(
      db.url,
      `select count(*) as n from public.ai_conversations where external_id = 'outage-probe-1'`,
    );
    const probeJob = await sql<{ n: string }>(
      db.url,
      `select count(*) as n from public.optimization_jobs where idempotency_key = 'outage-probe-job'`,
    );

    const findings = await checkCycles(
      db.url,
      set.cycles.map((c) => ({ key: c.key, jobId: c.jobId, fed: c.fed, variantCount: 2, outcome: 'promoted' as const })),
    );
    if (Number(probeRow[0]!.n) > 0) findings.duplicated.push('a conversation refused with 503 during the outage was stored anyway');
    if (Number(probeJob[0]!.n) > 0) findings.duplicated.push('a job refused with 503 during the outage was stored anyway');
    const history = await scanHistories(client);
    const hf = historyFindings(history);
    failures.push(...hf.failures);
    const errorsDuring = Object.entries(metricsDuring)
      .filter(([, v]) => v.error > 0)
      .map(([k, v]) => `${k} ${v.error}`);
    const errorsTotal = Object.entries(metricsAfter)
      .filter(([, v]) => v.error > 0)
      .map(([k, v]) => `${k} ${v.error}`);
    const retried = Object.entries(history.activities).filter(([, a]) => a.retries > 0);
    if (retried.length === 0) failures.push('no activity retried: the outage did not hit a running cycle');

    notes.push(
      `outage: database stopped ${fmtMs(upStart - downAt)} (pg_ctl stop -m fast; start took ${fmtMs(upAt - upStart)}); cycles at the stop: ${atStop.map((l) => `${l.key} in ${l.step}`).join(', ')}`,
      `/health: unhealthy for ${unhealthyMs !== undefined ? fmtMs(unhealthyMs) : '?'} (503 within ${detectMs !== undefined ? fmtMs(detectMs) : '?'} of the stop, 200 again ${recoverMs !== undefined ? fmtMs(recoverMs) : 'never'} after the database was back); slowest answer ${slowest} ms; ${health.samples.length} samples`,
      `/health timeline (s since stop): ${healthTimeline(health.samples, downStart)
        .map((t) => `${t.status || 'none'}x${t.count} [${t.fromS}..${t.toS}]${t.reason && t.status !== 200 ? ` ${t.reason}` : ''}`)
        .join(' -> ')}`,
      `API during the outage: ${probes.map((p) => `${p.route} ${p.status}`).join(', ')}`,
      `activity errors (/metrics pow_activity_executions_total{result="error"}): at end of outage ${errorsDuring.join(', ') || 'none'}; total ${errorsTotal.join(', ') || 'none'}`,
      `activity retries (history attempts): ${retried.map(([k, a]) => `${k} ${a.retries} (max attempt ${a.maxAttempt})`).join(', ') || 'none'}`,
      `cycle wall time after the database came back: ${set.cycles.map((c) => `${c.key} ${c.doneAt ? fmtMs(c.doneAt - upAt) : 'not done'}`).join(', ')}`,
      `final SIGTERM: exit ${term.code ?? term.signal} after ${fmtMs(term.ms)}`,
      `database: ${describeFacts(findings.facts)}`,
      ...describeHistory(history),
    );
    return result({
      name: 'outage',
      action: 'PostgreSQL stopped (pg_ctl -m fast) while one cycle monitors and one starts; started again',
      howOften: `1 outage of ${Math.round((upStart - downAt) / 1000)}s, 2 cycles; /health 503 for ${unhealthyMs !== undefined ? Math.round(unhealthyMs / 1000) : '?'}s`,
      lostDetails: findings.lost,
      duplicatedDetails: [...findings.duplicated, ...hf.duplicated],
      failures,
      durationMs: Date.now() - t0,
      figures: {
        outageMs: upStart - downAt,
        cyclesAtStop: atStop,
        unhealthyMs,
        detectMs,
        recoverMs,
        slowestHealthMs: slowest,
        probes,
        healthTimeline: healthTimeline(health.samples, downStart),
        activityErrorsDuringOutage: metricsDuring,
        activityCountsTotal: metricsAfter,
        activityRetries: history.activities,
        db: findings.facts,
      },
      notes,
      history,
    });
  } finally {
    await set.pump.stop();
    await health.stop();
    if (worker.running) await worker.kill();
    await connection.close().catch(() => {});
    await temporal.stop('SIGTERM');
    await store.close().catch(() => {});
    await cluster.destroy();
  }
}
