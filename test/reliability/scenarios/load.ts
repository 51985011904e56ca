import { writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createDatabase, openHarnessStore, SHARED_PG_URL, sql } from '../lib/database';
import { GroupProcess } from '../lib/proc';
import { fmtMs, result, type ScenarioContext, type ScenarioResult } from '../lib/report';
import { TemporalDevServer } from '../lib/temporal-server';
import { INGEST_TOKEN, REPO_ROOT, WorkerProcess } from '../lib/worker';
import type { LoadConfig, LoadRun } from '../load-client';

/**
 * Scenario 5: HTTP load on loopback from a separate process (autocannon), bounded in time and
 * connections: GET /health, POST /v1/assign (an experiment is live, so assignment buckets) and
 * POST /v1/conversations with a unique externalId per request. Afterwards every 201 must be
 * exactly one row (and nothing beyond the requests still in flight when the run stopped).
 */
export async function loadScenario(ctx: ScenarioContext, opts: { durationSec: number; connections: number }): Promise<ScenarioResult> {
  const t0 = Date.now();
  const failures: string[] = [];
  const notes: string[] = [];
  const lost: string[] = [];
  const duplicated: string[] = [];
  const temporal = await TemporalDevServer.start(ctx.dir);
  const db = await createDatabase(SHARED_PG_URL, 'pow_relia_load');
  const store = await openHarnessStore(db.url);
  const worker = new WorkerProcess({
    name: 'load',
    temporalAddress: temporal.address,
    databaseUrl: db.url,
    logDir: ctx.dir,
    bundlePath: ctx.bundlePath,
  });
  try {
    const promptKey = 'load-key';
    const control = await store.createPromptVersion({
      promptKey,
      content: 'You are the support assistant of {{product}}. Be helpful.',
      activate: true,
    });
    const variant = await store.createPromptVersion({
      promptKey,
      content: 'You are the support assistant of {{product}}. Be concise and check billing facts first.',
    });
    const exp = await store.createExperiment({ promptKey, variantVersionIds: [variant.id], policy: { checkIntervalSeconds: 3600 } });
    await worker.start();

    const runId = `load-${ctx.seed}-${Date.now().toString(36)}`;
    const cfg: LoadConfig = {
      baseUrl: worker.baseUrl,
      ingestToken: INGEST_TOKEN,
      durationSec: opts.durationSec,
      connections: opts.connections,
      promptKey,
      versionId: control.id,
      runId,
      out: path.join(ctx.dir, 'load-result.json'),
    };
    const cfgFile = path.join(ctx.dir, 'load-config.json');
    writeFileSync(cfgFile, JSON.stringify(cfg));
    ctx.log(`autocannon: 3 runs x ${opts.durationSec}s, ${opts.connections} connections, from a separate process`);
    const client = new GroupProcess(process.execPath, ['--import', 'tsx', path.join(__dirname, '../load-client.ts'), cfgFile], {
      cwd: REPO_ROOT,
      env: process.env,
      logFile: path.join(ctx.dir, 'load-client.log'),
    });
    const exit = await Promise.race([
      client.exited,
      new Promise<null>((r) => setTimeout(() => r(null), (opts.durationSec * 3 + 120) * 1000)),
    ]);
    if (!exit || exit.code !== 0) {
      await client.stop('SIGKILL');
      throw new Error(`load client ${exit ? `exited ${exit.code ?? exit.signal}` : 'timed out'} (see ${ctx.dir}/load-client.log)`);
    }
    const { runs } = JSON.parse(readFileSync(cfg.out, 'utf8')) as { runs: LoadRun[] };
    const healthAfter = await worker.health();
    if (healthAfter.status !== 200) failures.push(`/health after the load: ${healthAfter.status}`);
    const term = await worker.terminate();
    if (term.code !== 0) failures.push(`SIGTERM after the load: worker exited ${term.code ?? term.signal}`);

    // Every 201 is one row; rows beyond the 201s can only be requests cut off at the end of the run.
    const conv = runs.find((r) => r.target === 'POST /v1/conversations')!;
    const rows = await sql<{ id: string; external_id: string; experiment_id: string | null; arm: number | null }>(
      db.url,
      `select id, external_id, experiment_id, arm from public.ai_conversations where external_id like $1`,
      [`${runId}-c-%`],
    );
    const rowIds = new Set(rows.map((r) => Number(r.id)));
    const created = conv.createdIds ?? [];
    const missing = created.filter((id) => !rowIds.has(id));
    if (missing.length > 0) lost.push(`${missing.length} conversations answered 201 are not in the database (e.g. id ${missing[0]})`);
    const createdSet = new Set(created);
    if (createdSet.size !== created.length) duplicated.push(`${created.length - createdSet.size} row ids answered 201 twice`);
    const unacknowledged = rows.filter((r) => !createdSet.has(Number(r.id))).length;
    if (unacknowledged > opts.connections)
      duplicated.push(
        `${unacknowledged} rows without a 201 (more than the ${opts.connections} requests that can be in flight at the stop)`,
      );
    if ((conv.existing ?? 0) > 0)
      duplicated.push(`${conv.existing} conversations answered 200 "already recorded" though every externalId was new`);
    const dupExternal = await sql<{ n: string }>(
      db.url,
      `select count(*) - count(distinct external_id) as n from public.ai_conversations where external_id like $1`,
      [`${runId}-c-%`],
    );
    if (Number(dupExternal[0]!.n) > 0) duplicated.push(`${dupExternal[0]!.n} duplicate external ids`);
    const inExperiment = rows.filter((r) => r.experiment_id === exp.id).length;

    for (const r of runs) {
      const bad = r.non2xx + r.errors + r.timeouts;
      const rate = r.requests > 0 ? bad / r.requests : 1;
      if (r.requests === 0) failures.push(`${r.target}: no request completed`);
      else if (rate > 0.01)
        failures.push(
          `${r.target}: error rate ${(rate * 100).toFixed(2)}% (non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts})`,
        );
    }
    notes.push(
      `autocannon (separate process, loopback): ${opts.connections} connections, ${opts.durationSec}s per endpoint`,
      ...runs.map(
        (r) =>
          `${r.target.padEnd(24)} ${String(r.requests).padStart(7)} req  ${r.rps.toFixed(0).padStart(5)} req/s  p50 ${r.latencyMs.p50} ms  p99 ${r.latencyMs.p99} ms  max ${r.latencyMs.max} ms  ` +
          `errors ${(((r.non2xx + r.errors + r.timeouts) / Math.max(1, r.requests)) * 100).toFixed(2)}% (status ${Object.entries(
            r.statusCounts,
          )
            .map(([k, v]) => `${k}:${v}`)
            .join(' ')}${r.errors ? `, socket errors ${r.errors}` : ''}${r.timeouts ? `, timeouts ${r.timeouts}` : ''})`,
      ),
      `conversations: ${created.length} answered 201 -> ${rows.length} rows (${created.length - missing.length} of the 201s found, ${unacknowledged} rows from requests still in flight when the run stopped), ${inExperiment} assigned to the live experiment's arms`,
      `worker after the load: /health ${healthAfter.status} in ${healthAfter.ms} ms; SIGTERM exit ${term.code ?? term.signal} in ${fmtMs(term.ms)}`,
    );
    const total = runs.reduce((n, r) => n + r.requests, 0);
    return result({
      name: 'load',
      action: `autocannon from a separate process: GET /health, POST /v1/assign, POST /v1/conversations (${opts.durationSec}s each)`,
      howOften: `${total} requests, ${opts.connections} connections; ${created.length} conversations`,
      lostDetails: lost,
      duplicatedDetails: duplicated,
      failures,
      durationMs: Date.now() - t0,
      figures: {
        runs: runs.map((r) => ({ ...r, createdIds: undefined, created: r.createdIds?.length })),
        conversations: { created: created.length, rows: rows.length, missing: missing.length, unacknowledged },
      },
      notes,
    });
  } finally {
    if (worker.running) await worker.kill();
    await temporal.stop('SIGTERM');
    await store.close().catch(() => {});
    if (!process.env.RELIABILITY_KEEP_DB) await db.drop().catch(() => {});
  }
}
