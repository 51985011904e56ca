/**
 * `npm run bench:sdk`: what the host-app SDK costs and saves, on this machine, in one run.
 *
 *   1. getPrompt (local, synchronous) per call, p50/p99, next to POST /v1/assign on loopback
 *      (keep-alive, sequential: the latency a request of the host app would wait for);
 *   2. ingest rows per second through the SDK's batches (logConversation + flush) next to one
 *      POST /v1/conversations per row (sequential, and 8 in parallel).
 *
 * The real worker service in-process: HTTP on loopback, the store on a fresh PostgreSQL database
 * (DATABASE_URL; else embedded PGlite), an embedded Temporal dev server (TEMPORAL_CLI_PATH).
 * A benchmark, not a test: figures go to stdout and `--json <file>` / `--txt <file>`.
 *
 *   npx tsx bench/sdk.ts [--calls 200000] [--assign 2000] [--rows 20000] [--single 2000] [--json f] [--txt f]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createPromptClient, type PromptClient } from '@prompt-optimization/client';
import { loadConfig } from '../src/config/config';
import { createLogger } from '../src/worker/logger';
import { startService, type RunningService } from '../src/worker/service';
import { createTempDatabase } from '../scripts/lib/temp-database';

const TOKEN = randomBytes(18).toString('base64url');
const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '200000' },
    assign: { type: 'string', default: '2000' },
    rows: { type: 'string', default: '20000' },
    single: { type: 'string', default: '2000' },
    json: { type: 'string' },
    txt: { type: 'string' },
  },
});

interface Percentiles {
  p50: number;
  p99: number;
  mean: number;
  n: number;
}

function percentiles(samplesNs: number[]): Percentiles {
  const s = [...samplesNs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5) / 1000, p99: at(0.99) / 1000, mean: s.reduce((a, b) => a + b, 0) / s.length / 1000, n: s.length };
}

async function database(): Promise<{ env: Record<string, string>; drop: () => Promise<void>; kind: string }> {
  if (!process.env.DATABASE_URL) return { env: { PGLITE_DATA_DIR: ':memory:' }, drop: async () => undefined, kind: 'PGlite (in memory)' };
  const db = await createTempDatabase('pow_bench_sdk');
  return { env: { DATABASE_URL: db.url }, drop: db.drop, kind: 'PostgreSQL (fresh database)' };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function start(dbEnv: Record<string, string>, dataDir: string): Promise<RunningService> {
  // Unset: the service finds the CLI itself (PATH, .tools/, else installs it: src/temporal/cli.ts).
  const cli = process.env.TEMPORAL_CLI_PATH;
  const [devPort, uiPort] = [await freePort(), await freePort()];
  const config = loadConfig({
    PORT: '0',
    ...dbEnv,
    INGEST_API_TOKEN: TOKEN,
    ADMIN_API_TOKEN: TOKEN.split('').reverse().join(''),
    SCHEDULES_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    TEMPORAL_DEV_DB_FILE: path.join(dataDir, 'temporal.db'),
    TEMPORAL_DEV_PORT: String(devPort),
    TEMPORAL_UI_PORT: String(uiPort),
    ...(cli ? { TEMPORAL_CLI_PATH: cli } : {}),
  });
  return startService(config, { logger: createLogger({ level: 'warn', secrets: [TOKEN] }) });
}

/** getPrompt timed call by call (hrtime around each call; its own cost, about 50 ns, is included). */
function timeGetPrompt(client: PromptClient, promptKey: string, calls: number, variables?: Record<string, string>): Percentiles {
  for (let i = 0; i < 20_000; i++) client.getPrompt(promptKey, `warm-${i}`, { variables });
  const samples = new Array<number>(calls);
  for (let i = 0; i < calls; i++) {
    const subject = `user-${i}`;
    const t0 = process.hrtime.bigint();
    client.getPrompt(promptKey, subject, { variables });
    samples[i] = Number(process.hrtime.bigint() - t0);
  }
  return percentiles(samples);
}

async function timeAssign(baseUrl: string, promptKey: string, n: number): Promise<Percentiles> {
  const post = (subjectId: string) =>
    fetch(`${baseUrl}/v1/assign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ promptKey, subjectId }),
    }).then(async (r) => {
      if (r.status !== 200) throw new Error(`/v1/assign answered ${r.status}`);
      await r.arrayBuffer();
    });
  for (let i = 0; i < 200; i++) await post(`warm-${i}`);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await post(`user-${i}`);
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  return percentiles(samples);
}

async function ingestThroughSdk(
  baseUrl: string,
  versionId: string,
  rows: number,
  batchSize: number,
): Promise<{ rowsPerSecond: number; ms: number; delivered: number }> {
  const client = createPromptClient({
    baseUrl,
    ingestToken: TOKEN,
    batchSize,
    maxQueue: rows,
    flushIntervalMs: 50,
    onError: (e) => console.error(e.message),
  });
  await client.ready();
  const tag = randomBytes(4).toString('hex');
  const t0 = performance.now();
  for (let i = 0; i < rows; i++)
    client.logConversation({
      promptKey: 'bench-ingest',
      versionId,
      success: i % 3 !== 0,
      subjectId: `s-${i}`,
      topic: 'billing',
      latencyMs: 300,
      tokens: 250,
      externalId: `sdk-${tag}-${i}`,
    });
  const res = await client.flush();
  const ms = performance.now() - t0;
  const delivered = client.stats().delivered;
  await client.close();
  if (!res.ok || delivered !== rows) throw new Error(`SDK ingest: ${delivered} of ${rows} delivered`);
  return { rowsPerSecond: rows / (ms / 1000), ms, delivered };
}

async function ingestSingle(
  baseUrl: string,
  versionId: string,
  rows: number,
  concurrency: number,
): Promise<{ rowsPerSecond: number; ms: number }> {
  const tag = randomBytes(4).toString('hex');
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < rows; i = next++) {
        const r = await fetch(`${baseUrl}/v1/conversations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            promptKey: 'bench-ingest',
            versionId,
            success: i % 3 !== 0,
            subjectId: `s-${i}`,
            topic: 'billing',
            latencyMs: 300,
            tokens: 250,
            externalId: `single-${tag}-${i}`,
          }),
        });
        if (r.status !== 201) throw new Error(`/v1/conversations answered ${r.status}`);
        await r.arrayBuffer();
      }
    }),
  );
  const ms = performance.now() - t0;
  return { rowsPerSecond: rows / (ms / 1000), ms };
}

const f1 = (x: number) => x.toFixed(1);
const f2 = (x: number) => x.toFixed(2);
const int = (x: number) => Math.round(x).toLocaleString('en-US');

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pow-bench-sdk-'));
  const db = await database();
  const svc = await start(db.env, dataDir);
  const baseUrl = `http://127.0.0.1:${svc.httpPort}`;
  try {
    const control = await svc.store.createPromptVersion({
      promptKey: 'bench-exp',
      content: 'You are the support assistant of {{product}}. Answer briefly and politely.',
      activate: true,
    });
    const variant = await svc.store.createPromptVersion({
      promptKey: 'bench-exp',
      content: `${control.content}\nQuote the invoice id on billing questions.`,
      parentVersionId: control.id,
    });
    await svc.store.createExperiment({ promptKey: 'bench-exp', variantVersionIds: [variant.id], weights: [0.5, 0.5] });
    await svc.store.createPromptVersion({ promptKey: 'bench-plain', content: 'You are the assistant of {{product}}.', activate: true });
    const ingestVersion = (await svc.store.createPromptVersion({ promptKey: 'bench-ingest', content: 'Ingest.', activate: true })).id;

    const client = createPromptClient({ baseUrl, ingestToken: TOKEN, refreshIntervalMs: 60_000 });
    await client.ready();
    const calls = Number(args.calls);
    const getPrompt = {
      experiment: timeGetPrompt(client, 'bench-exp', calls),
      noExperiment: timeGetPrompt(client, 'bench-plain', calls),
      experimentWithVariables: timeGetPrompt(client, 'bench-exp', calls, { product: 'Acme' }),
    };
    await client.close();
    const assign = await timeAssign(baseUrl, 'bench-exp', Number(args.assign));

    const rows = Number(args.rows);
    const single = Number(args.single);
    const sdk100 = await ingestThroughSdk(baseUrl, ingestVersion, rows, 100);
    const sdk250 = await ingestThroughSdk(baseUrl, ingestVersion, rows, 250);
    const sdk500 = await ingestThroughSdk(baseUrl, ingestVersion, rows, 500);
    const single1 = await ingestSingle(baseUrl, ingestVersion, single, 1);
    const single8 = await ingestSingle(baseUrl, ingestVersion, single, 8);

    const result = {
      when: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      loadavg: loadavg().map((x) => Number(x.toFixed(2))),
      store: db.kind,
      getPromptMicroseconds: getPrompt,
      assignMicroseconds: assign,
      ingestRowsPerSecond: {
        sdkBatch100: sdk100,
        sdkBatch250Default: sdk250,
        sdkBatch500: sdk500,
        singleSequential: single1,
        singleConcurrency8: single8,
        speedupDefaultVsSequential: sdk250.rowsPerSecond / single1.rowsPerSecond,
        speedupDefaultVsConcurrency8: sdk250.rowsPerSecond / single8.rowsPerSecond,
      },
    };
    const lines = [
      `host-app SDK benchmark (${result.when}; node ${result.node}, ${result.cpus} cores, load ${result.loadavg.join(' ')}; store ${db.kind}; loopback HTTP)`,
      '',
      'prompt for one request                              p50 us     p99 us    mean us    calls',
      `getPrompt, key with a running experiment (md5)  ${f2(getPrompt.experiment.p50).padStart(9)}  ${f2(getPrompt.experiment.p99).padStart(9)}  ${f2(getPrompt.experiment.mean).padStart(9)}  ${int(getPrompt.experiment.n)}`,
      `getPrompt, key without experiment               ${f2(getPrompt.noExperiment.p50).padStart(9)}  ${f2(getPrompt.noExperiment.p99).padStart(9)}  ${f2(getPrompt.noExperiment.mean).padStart(9)}  ${int(getPrompt.noExperiment.n)}`,
      `getPrompt, experiment + {{variables}} filled    ${f2(getPrompt.experimentWithVariables.p50).padStart(9)}  ${f2(getPrompt.experimentWithVariables.p99).padStart(9)}  ${f2(getPrompt.experimentWithVariables.mean).padStart(9)}  ${int(getPrompt.experimentWithVariables.n)}`,
      `POST /v1/assign (keep-alive, sequential)        ${f1(assign.p50).padStart(9)}  ${f1(assign.p99).padStart(9)}  ${f1(assign.mean).padStart(9)}  ${int(assign.n)}`,
      '',
      'logging outcomes                                  rows/s      rows      ms',
      `SDK batches of 100 (logConversation + flush)   ${int(sdk100.rowsPerSecond).padStart(9)}  ${int(rows).padStart(8)}  ${int(sdk100.ms).padStart(6)}`,
      `SDK batches of 250 (the default)               ${int(sdk250.rowsPerSecond).padStart(9)}  ${int(rows).padStart(8)}  ${int(sdk250.ms).padStart(6)}`,
      `SDK batches of 500                             ${int(sdk500.rowsPerSecond).padStart(9)}  ${int(rows).padStart(8)}  ${int(sdk500.ms).padStart(6)}`,
      `POST /v1/conversations, one at a time          ${int(single1.rowsPerSecond).padStart(9)}  ${int(single).padStart(8)}  ${int(single1.ms).padStart(6)}`,
      `POST /v1/conversations, 8 in parallel          ${int(single8.rowsPerSecond).padStart(9)}  ${int(single).padStart(8)}  ${int(single8.ms).padStart(6)}`,
      '',
      `SDK (default batches of 250) vs single requests: ${f1(result.ingestRowsPerSecond.speedupDefaultVsSequential)}x one at a time, ${f1(result.ingestRowsPerSecond.speedupDefaultVsConcurrency8)}x with 8 in parallel`,
    ];
    const text = `${lines.join('\n')}\n`;
    process.stdout.write(text);
    if (args.json) writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
    if (args.txt) writeFileSync(args.txt, text);
  } finally {
    await svc.stop();
    await db.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
