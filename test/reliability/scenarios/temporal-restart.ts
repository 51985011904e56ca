import { createDatabase, openHarnessStore, SHARED_PG_URL, sql } from '../lib/database';
import { CycleSet } from '../lib/cycles';
import { healthTimeline, pollHealth } from '../lib/health';
import { historyFindings } from '../lib/history-checks';
import { scanHistories } from '../lib/histories';
import { checkCycles } from '../lib/invariants';
import { sleep, until } from '../lib/proc';
import { describeFacts, describeHistory, fmtMs, result, type ScenarioContext, type ScenarioResult } from '../lib/report';
import { TemporalDevServer } from '../lib/temporal-server';
import { WorkerProcess, workflowFailureIn } from '../lib/worker';

/**
 * Scenario 3: the Temporal dev server (SQLite file) is killed and started again on the same
 * port while experiment monitors wait between checks. The worker must ride it out; the monitors
 * must resume from their persisted timers and decide once (one promotion event, one conclusion,
 * one completed run per monitor).
 */
export async function temporalRestartScenario(
  ctx: ScenarioContext,
  opts: { restarts: NodeJS.Signals[]; downMs: number },
): Promise<ScenarioResult> {
  const t0 = Date.now();
  const failures: string[] = [];
  const notes: string[] = [];
  const temporal = await TemporalDevServer.start(ctx.dir);
  const db = await createDatabase(SHARED_PG_URL, 'pow_relia_trestart');
  const store = await openHarnessStore(db.url);
  let conn = await temporal.connect();
  const worker = new WorkerProcess({
    name: 'trestart',
    temporalAddress: temporal.address,
    databaseUrl: db.url,
    logDir: ctx.dir,
    bundlePath: ctx.bundlePath,
  });
  const set = new CycleSet(store);
  const restarts: Array<{
    signal: string;
    downMs: number;
    startMs: number;
    resumeMs: number | null;
    workerSurvived: boolean;
    health: string;
  }> = [];
  const snapshotCount = async (experimentId: string) =>
    Number(
      (
        await sql<{ n: string }>(db.url, 'select count(*) as n from public.ai_experiment_snapshots where experiment_id = $1', [
          experimentId,
        ])
      )[0]!.n,
    );
  try {
    await worker.start();
    for (let i = 0; i < 2; i++) await set.post(await set.add(`trestart-${i}`), worker);
    for (const c of set.cycles) c.cap = 120;
    await until(
      async () => {
        await set.pumpOnce();
        for (const c of set.cycles) if (!c.experimentId || (await snapshotCount(c.experimentId)) < 2 || c.fed < c.cap) return false;
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'both cycles monitoring' },
    );

    for (const signal of opts.restarts) {
      const before = new Map<string, number>();
      for (const c of set.cycles) before.set(c.experimentId!, await snapshotCount(c.experimentId!));
      const health = pollHealth(worker, 500, 4_000);
      const downStart = Date.now();
      await conn.connection.close().catch(() => {});
      const exit = await temporal.stop(signal);
      ctx.log(`temporal dev server stopped with ${signal} (exit ${exit.code ?? exit.signal}); down for ${fmtMs(opts.downMs)}`);
      await sleep(opts.downMs);
      const upStart = Date.now();
      await temporal.startProcess();
      const upAt = Date.now();
      conn = await temporal.connect();
      let resumeMs: number | null = null;
      try {
        await until(
          async () => {
            for (const c of set.cycles) if ((await snapshotCount(c.experimentId!)) <= before.get(c.experimentId!)!) return false;
            return true;
          },
          { timeoutMs: 120_000, intervalMs: 250, what: 'a new monitoring check on every experiment after the restart' },
        );
        resumeMs = Date.now() - upAt;
      } catch (err) {
        failures.push(`after ${signal} restart: ${(err as Error).message}`);
      }
      await health.stop();
      const survived = worker.running;
      if (!survived) {
        failures.push(`worker exited when Temporal went away (${JSON.stringify(worker.exits.at(-1))}); restarted it`);
        await worker.start();
      }
      const timeline = healthTimeline(health.samples, downStart)
        .map((t) => `${t.status || 'none'}x${t.count}`)
        .join(' -> ');
      restarts.push({ signal, downMs: upAt - downStart, startMs: upAt - upStart, resumeMs, workerSurvived: survived, health: timeline });
      ctx.log(
        `temporal back after ${fmtMs(upAt - downStart)}; monitors checked again ${resumeMs !== null ? fmtMs(resumeMs) : 'never'} later`,
      );
    }

    for (const c of set.cycles) c.cap = 1_500;
    set.pump.start(1_000);
    await until(
      async () => {
        await set.refresh();
        return set.allDone;
      },
      { timeoutMs: 5 * 60_000, intervalMs: 1_000, what: 'cycles done after the restarts', abort: () => workflowFailureIn(worker) },
    ).catch((err) => failures.push(`hang: ${(err as Error).message}`));
    await set.pump.stop();
    const term = await worker.terminate();
    if (term.code !== 0) failures.push(`SIGTERM: worker exited ${term.code ?? term.signal}`);

    const monitorRuns: string[] = [];
    for (const c of set.cycles) {
      const id = `experiment-${c.experimentId}`;
      const runs: string[] = [];
      for await (const wf of conn.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(wf.status.name);
      monitorRuns.push(`${c.key}: ${runs.join('/')}`);
      if (runs.filter((s) => s === 'COMPLETED').length !== 1)
        failures.push(`${id}: runs ${runs.join(', ')} (expected exactly one completed)`);
    }
    const findings = await checkCycles(
      db.url,
      set.cycles.map((c) => ({ key: c.key, jobId: c.jobId, fed: c.fed, variantCount: 2, outcome: 'promoted' as const })),
    );
    const history = await scanHistories(conn.client);
    const hf = historyFindings(history);
    failures.push(...hf.failures);
    notes.push(
      ...restarts.map(
        (r, i) =>
          `restart ${i + 1} (${r.signal}): Temporal unreachable ${fmtMs(r.downMs)} (server start ${fmtMs(r.startMs)}); monitors resumed ${r.resumeMs !== null ? fmtMs(r.resumeMs) : 'never'} after it was back; worker ${r.workerSurvived ? 'kept running' : 'EXITED'}; /health meanwhile: ${r.health}`,
      ),
      `monitor runs: ${monitorRuns.join('; ')}`,
      `final SIGTERM: exit ${term.code ?? term.signal} after ${fmtMs(term.ms)}`,
      `database: ${describeFacts(findings.facts)}`,
      ...describeHistory(history),
    );
    return result({
      name: 'temporal-restart',
      action: 'Temporal dev server (file-persisted) killed and restarted while 2 monitors wait',
      howOften: `${restarts.length} restarts (${opts.restarts.join(', ')}), ~${Math.round(opts.downMs / 1000)}s down each`,
      lostDetails: findings.lost,
      duplicatedDetails: [...findings.duplicated, ...hf.duplicated],
      failures,
      durationMs: Date.now() - t0,
      figures: { restarts, monitorRuns, db: findings.facts },
      notes,
      history,
    });
  } finally {
    await set.pump.stop();
    if (worker.running) await worker.kill();
    await conn.connection.close().catch(() => {});
    await temporal.stop('SIGTERM');
    await store.close().catch(() => {});
    if (!process.env.RELIABILITY_KEEP_DB) await db.drop().catch(() => {});
  }
}
