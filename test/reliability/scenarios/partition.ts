import { createDatabase, openHarnessStore, SHARED_PG_URL, sql } from '../lib/database';
import { CycleSet, inspectLandings, untilMonitoring, type Cycle } from '../lib/cycles';
import { DbProxy } from '../lib/db-proxy';
import { healthTimeline, pollHealth } from '../lib/health';
import { historyFindings } from '../lib/history-checks';
import { scanHistories } from '../lib/histories';
import { checkCycles } from '../lib/invariants';
import { sleep, until } from '../lib/proc';
import { describeFacts, describeHistory, fmtMs, histogram, result, type ScenarioContext, type ScenarioResult } from '../lib/report';
import { TemporalDevServer } from '../lib/temporal-server';
import { WorkerProcess, workflowFailureIn } from '../lib/worker';

/**
 * Scenario 2b (beyond the brief's list): the network between the worker and PostgreSQL drops
 * packets silently (a TCP proxy of the harness holds every byte; nothing is refused), while one
 * cycle monitors and one starts. heal=flush: the network comes back and the held bytes arrive
 * (TCP retransmission). heal=zombie: the connections open before the partition stay silent for
 * ever (half-open: the peer is gone after a fail-over or a NAT timeout) and only new connections
 * work. Expected: /health 503 during, 200 after, cycles complete, nothing duplicated.
 */
export async function partitionScenario(
  ctx: ScenarioContext,
  opts: { partitionMs: number; heal: 'flush' | 'zombie'; recoverTimeoutMs: number },
): Promise<ScenarioResult> {
  const t0 = Date.now();
  const failures: string[] = [];
  const notes: string[] = [];
  const name = opts.heal === 'flush' ? 'partition' : 'half-open';
  const temporal = await TemporalDevServer.start(ctx.dir);
  const db = await createDatabase(SHARED_PG_URL, `pow_relia_${opts.heal}`);
  const proxy = await DbProxy.start(Number(new URL(SHARED_PG_URL).port || 5432), { latencyMs: 1 });
  const store = await openHarnessStore(db.url);
  const { client, connection } = await temporal.connect();
  // The product's default pool size (10), not the harness's smaller one.
  const worker = new WorkerProcess({
    name,
    temporalAddress: temporal.address,
    databaseUrl: proxy.url(db.name),
    logDir: ctx.dir,
    bundlePath: ctx.bundlePath,
    env: { DATABASE_POOL_MAX: '10' },
  });
  const set = new CycleSet(store);
  let health: ReturnType<typeof pollHealth> | undefined;
  try {
    await worker.start();
    const monitoring: Cycle = await set.add(`${name}-monitoring`);
    await set.post(monitoring, worker);
    await untilMonitoring(set, monitoring, db.url);
    health = pollHealth(worker, 1_000, 5_000);
    const early: Cycle = await set.add(`${name}-early`);
    await sleep(1_000);
    await set.post(early, worker);

    // Ingest traffic right before the cut fills the worker's pool (10 connections), as a busy worker's is.
    const warm = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        worker.ingest('/v1/assign', { promptKey: monitoring.key, subjectId: `warm-${i}` }).then(
          (r) => r.status,
          () => 0,
        ),
      ),
    );
    const opened = proxy.open;
    const downAt = Date.now();
    proxy.partition();
    const atStop = await inspectLandings(client, set.cycles, worker.pid);
    // Ingest traffic keeps coming during the cut, as it does to a busy worker.
    const burst = Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        worker.ingest('/v1/assign', { promptKey: monitoring.key, subjectId: `cut-${i}` }, 40_000).then(
          (r) => String(r.status),
          (err: Error) => err.name,
        ),
      ),
    );
    ctx.log(
      `network to PostgreSQL partitioned (bytes held, nothing refused) for ${fmtMs(opts.partitionMs)}; cycles: ${atStop.map((l) => `${l.key}@${l.step}`).join(', ')}`,
    );
    await sleep(opts.partitionMs);
    const healAt = Date.now();
    const healed = proxy.heal(opts.heal);
    ctx.log(
      `healed (${opts.heal}): ${healed.held} held chunks, ${healed.zombies} connections left half-open; ${proxy.open} proxied connections open`,
    );
    const burstStatuses = histogram(await burst);

    const healthyAgain = await until(async () => health!.samples.find((s) => s.at >= healAt && s.status === 200), {
      timeoutMs: opts.recoverTimeoutMs,
      intervalMs: 500,
      what: `/health 200 after the ${name} healed`,
    }).catch(() => undefined);
    let restart: string | undefined;
    if (!healthyAgain) {
      // Evidence for the report, then what an operator would do: restart the worker.
      const sessions = await sql<{ state: string | null; n: string }>(
        SHARED_PG_URL,
        `select state, count(*) as n from pg_stat_activity where datname = $1 and application_name = 'prompt-optimization-worker' group by state`,
        [db.name],
      );
      const lastBad = health.samples.at(-1);
      failures.push(
        `worker did not recover within ${fmtMs(opts.recoverTimeoutMs)} of the heal although the database was reachable again: /health ${lastBad?.status || 'no answer'} (${lastBad?.reason ?? ''}); it needed a restart`,
      );
      notes.push(
        `worker sessions on the server after the heal: ${sessions.map((x) => `${x.state ?? 'null'} ${x.n}`).join(', ') || 'none'}; proxied connections open ${proxy.open}, made ${proxy.connections}`,
      );
      const t = await worker.terminate(30_000);
      if (t.forced) failures.push(`SIGTERM of the wedged worker: no exit within 30 s (SIGKILLed)`);
      restart = `restarted the wedged worker (SIGTERM: ${t.forced ? 'hung, SIGKILLed after 30 s' : `exit ${t.code} in ${fmtMs(t.ms)}`})`;
      await worker.start();
    }
    for (const c of set.cycles) c.cap = 1_500;
    set.pump.start(1_000);
    // Heavy activities stuck on a dead connection keep heartbeating: only their 5-minute start-to-close timeout frees them.
    const cyclesDone = await until(
      async () => {
        await set.refresh();
        return set.allDone;
      },
      { timeoutMs: 8 * 60_000, intervalMs: 1_000, what: 'cycles done after the heal', abort: () => workflowFailureIn(worker) },
    ).then(
      () => true,
      (err) => {
        failures.push(`hang: ${(err as Error).message}`);
        return false;
      },
    );
    await set.pump.stop();
    await health.stop();
    const during = health.samples.filter((s) => s.at >= downAt + 3_000 && s.at + s.ms <= healAt);
    const wrong = during.filter((s) => s.status !== 503);
    if (wrong.length > 0)
      failures.push(
        `/health during the partition: ${wrong.length}/${during.length} samples not 503 (${[...new Set(wrong.map((s) => s.status || 'no answer'))].join(', ')})`,
      );
    const slowest = Math.max(0, ...health.samples.map((s) => s.ms));
    const recoverMs = healthyAgain ? healthyAgain.at + healthyAgain.ms - healAt : undefined;

    const term = await worker.terminate(30_000);
    if (term.code !== 0) failures.push(`SIGTERM: worker exited ${term.code ?? term.signal}${term.forced ? ' (killed after 30 s)' : ''}`);

    const findings = await checkCycles(
      db.url,
      set.cycles.map((c) => ({ key: c.key, jobId: c.jobId, fed: c.fed, variantCount: 2, outcome: 'promoted' as const })),
    );
    const history = await scanHistories(client);
    const hf = historyFindings(history);
    failures.push(...hf.failures.filter((f) => cyclesDone || !/RUNNING/.test(f)));
    const retried = Object.entries(history.activities).filter(([, a]) => a.retries > 0);
    notes.unshift(
      `partition ${fmtMs(healAt - downAt)} (proxy holds bytes, refuses nothing), heal=${opts.heal}: ${healed.held} held chunks, ${healed.zombies} half-open connections; cycles at the cut: ${atStop.map((l) => `${l.key} in ${l.step}`).join(', ')}`,
      `before the cut: 40 concurrent POST /v1/assign (${warm.filter((x) => x === 200).length} x 200) left ${opened} worker connections open through the proxy; ` +
        `20 POST /v1/assign sent during the cut answered: ${burstStatuses.map(([k, v]) => `${k} x${v}`).join(', ')}`,
      ...(restart ? [restart] : []),
      `cycles after the heal: ${set.cycles.map((c) => `${c.key} ${c.doneAt ? `done ${fmtMs(c.doneAt - healAt)} after the heal` : 'NOT done'}`).join(', ')}`,
      `/health: ${recoverMs !== undefined ? `200 again ${fmtMs(recoverMs)} after the heal` : 'NOT healthy again'}; slowest answer ${slowest} ms; timeline (s since cut): ${healthTimeline(
        health.samples,
        downAt,
      )
        .map((t) => `${t.status || 'none'}x${t.count} [${t.fromS}..${t.toS}]${t.reason && t.status !== 200 ? ` ${t.reason}` : ''}`)
        .join(' -> ')}`,
      `activity retries (history attempts): ${retried.map(([k, a]) => `${k} ${a.retries} (max attempt ${a.maxAttempt})`).join(', ') || 'none'}`,
      `final SIGTERM: exit ${term.code ?? term.signal} after ${fmtMs(term.ms)}${term.forced ? ' (had to SIGKILL)' : ''}`,
    );
    notes.push(`database: ${describeFacts(findings.facts)}`, ...describeHistory(history));
    return result({
      name,
      action:
        opts.heal === 'flush'
          ? 'network to PostgreSQL silently dropped (TCP proxy holds bytes), then restored'
          : 'network dropped, then restored with the old connections half-open (only new ones work)',
      howOften: `1 partition of ${Math.round((healAt - downAt) / 1000)}s, 2 cycles; recovered ${recoverMs !== undefined ? `in ${Math.round(recoverMs / 1000)}s` : 'only by a restart'}`,
      lostDetails: findings.lost,
      duplicatedDetails: [...findings.duplicated, ...hf.duplicated],
      failures,
      durationMs: Date.now() - t0,
      figures: {
        partitionMs: healAt - downAt,
        heal: opts.heal,
        held: healed,
        recoverMs,
        restart,
        duringCut: burstStatuses,
        cyclesDone,
        slowestHealthMs: slowest,
        healthTimeline: healthTimeline(health.samples, downAt),
        activityRetries: history.activities,
        db: findings.facts,
      },
      notes,
      history,
    });
  } finally {
    await set.pump.stop();
    await health?.stop();
    if (worker.running) await worker.kill();
    await connection.close().catch(() => {});
    await temporal.stop('SIGTERM');
    await store.close().catch(() => {});
    await proxy.close();
    if (!process.env.RELIABILITY_KEEP_DB) await db.drop().catch(() => {});
  }
}
