import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPromptClient, type PromptClient, type ServedPrompt } from '@prompt-optimization/client';
import { openStore, type Store } from '../../src/store';
import { createTempDatabase, postgresUrl } from '../helpers/backends';
import { claimNamespace } from '../helpers/temporal';
import { waitFor } from '../helpers/traffic';
import { fetchWithTimeout, freePort, GroupProcess } from '../reliability/lib/proc';

/**
 * The SDK in front of the real worker PROCESS (`node --import tsx src/worker/main.ts`, what
 * `npm start` runs) on a fixed port, on the shared Temporal dev server and a fresh PostgreSQL
 * database. The worker is killed with SIGKILL: prompts keep being served from the cache with
 * the same assignments and conversations queue; it is started again on the same address: every
 * queued row is delivered, and the database holds each one exactly once.
 */

const ROOT = path.resolve(__dirname, '../..');
const ADMIN = 'sdk-process-admin-token-0123456789';
const INGEST = 'sdk-process-ingest-token-0123456789';
const SUBJECTS = 500;

describe.runIf(postgresUrl)('the SDK through a SIGKILL of the worker process', () => {
  let db: { url: string; drop(): Promise<void> };
  let store: Store;
  let port: number;
  let logDir: string;
  let env: NodeJS.ProcessEnv;
  let worker: GroupProcess | undefined;
  let client: PromptClient;
  let starts = 0;
  const logged: string[] = [];

  async function startWorker(): Promise<void> {
    starts++;
    worker = new GroupProcess(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
      cwd: ROOT,
      env: { ...env, TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${await freePort()}` },
      logFile: path.join(logDir, 'worker.log'),
      banner: `start ${starts}`,
    });
    await waitFor(
      async () => {
        if (!worker!.running) throw new Error(`worker exited: ${readFileSync(path.join(logDir, 'worker.log'), 'utf8').slice(-2000)}`);
        return (await fetchWithTimeout(`http://127.0.0.1:${port}/health`, {}, 2_000)).status === 200;
      },
      { timeoutMs: 90_000, intervalMs: 200, what: 'worker /health 200' },
    );
  }

  function log(served: ServedPrompt, subject: string, i: number): void {
    logged.push(
      client.logConversation({
        promptKey: 'sdk-proc',
        versionId: served.versionId!,
        subjectId: subject,
        success: i % 4 !== 0,
        latencyMs: 100 + (i % 50),
      }),
    );
  }

  beforeAll(async () => {
    db = await createTempDatabase('pow_sdk_proc');
    logDir = mkdtempSync(path.join(tmpdir(), 'pow-sdk-proc-'));
    port = await freePort();
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: claimNamespace(),
      TEMPORAL_TASK_QUEUE: 'sdk-process-test',
      DATABASE_URL: db.url,
      DATABASE_POOL_MAX: '4',
      ADMIN_API_TOKEN: ADMIN,
      INGEST_API_TOKEN: INGEST,
      SCHEDULES_ENABLED: 'false',
      SHUTDOWN_GRACE: '2s',
    };
    await startWorker();
    store = (await openStore({ kind: 'postgres', connectionString: db.url, poolMax: 2 })).store;
    const control = await store.createPromptVersion({
      promptKey: 'sdk-proc',
      content: 'You are the assistant of {{product}}.',
      activate: true,
    });
    const variant = await store.createPromptVersion({
      promptKey: 'sdk-proc',
      content: 'You are the assistant of {{product}}. Be brief.',
      parentVersionId: control.id,
    });
    await store.createExperiment({ promptKey: 'sdk-proc', variantVersionIds: [variant.id], weights: [0.5, 0.5] });
    client = createPromptClient({
      baseUrl: `http://127.0.0.1:${port}`,
      ingestToken: INGEST,
      refreshIntervalMs: 1_000,
      flushIntervalMs: 200,
      batchSize: 50,
      requestTimeoutMs: 1_000,
      initialBackoffMs: 100,
      maxBackoffMs: 1_000,
      onError: () => undefined,
    });
    await client.ready({ timeoutMs: 10_000 });
  }, 150_000);

  afterAll(async () => {
    await client?.close({ timeoutMs: 2_000 });
    await worker?.stop('SIGKILL', 5_000);
    await store?.close();
    await db?.drop();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  const assignments = () => Array.from({ length: SUBJECTS }, (_, i) => client.getPrompt('sdk-proc', `subject-${i}`));
  const counted = async () => {
    const { rows } = await (store.transport as unknown as { db: { query<R>(s: string, p: unknown[]): Promise<{ rows: R[] }> } }).db.query<{
      n: number;
      distinct_ids: number;
    }>(
      'select count(*)::int as n, count(distinct external_id)::int as distinct_ids from public.ai_conversations where external_id = any($1::text[])',
      [logged],
    );
    return rows[0]!;
  };

  it('serves from the cache with unchanged assignments while the worker is dead, queues the logs, and delivers each exactly once after the restart', async () => {
    const before = assignments();
    expect(new Set(before.map((a) => a.arm))).toEqual(new Set([0, 1]));
    expect(before.every((a) => a.source === 'live')).toBe(true);
    before.slice(0, 200).forEach((a, i) => log(a, `subject-${i}`, i));
    await waitFor(async () => client.stats().delivered === 200, { timeoutMs: 15_000, what: '200 rows delivered while up' });

    // Rows on their way while the worker dies: some batches are cut mid-request.
    before.slice(200, 260).forEach((a, i) => log(a, `subject-${200 + i}`, 200 + i));
    const killed = await worker!.stop('SIGKILL', 5_000);
    expect(killed.signal).toBe('SIGKILL');
    const killedAt = Date.now();

    await waitFor(async () => !client.stats().lastRefreshOk, { timeoutMs: 10_000, what: 'a refresh to fail' });
    let servedDuringOutage = 0;
    for (let round = 0; round < 5; round++) {
      const during = assignments();
      during.forEach((a, i) => {
        expect({ versionId: a.versionId, arm: a.arm, experimentId: a.experimentId, content: a.content }).toEqual({
          versionId: before[i]!.versionId,
          arm: before[i]!.arm,
          experimentId: before[i]!.experimentId,
          content: before[i]!.content,
        });
        expect(a.source).toBe('cache');
      });
      servedDuringOutage += during.length;
      during
        .slice(260 + round * 48, 260 + (round + 1) * 48)
        .forEach((a, i) => log(a, `subject-${260 + round * 48 + i}`, 260 + round * 48 + i));
      await new Promise((r) => setTimeout(r, 400));
    }
    const outage = client.stats();
    expect(logged).toHaveLength(500);
    expect(outage.queued + outage.inFlight).toBeGreaterThan(240);
    expect(outage.dropped).toBe(0);
    console.info(
      `outage: ${servedDuringOutage} prompts served from the cache in ${Date.now() - killedAt} ms; ${outage.queued} rows queued; delivered so far ${outage.delivered}`,
    );

    await startWorker();
    await waitFor(async () => client.stats().queued === 0 && client.stats().inFlight === 0 && client.stats().delivered >= 500, {
      timeoutMs: 30_000,
      what: 'the queue to drain',
    });
    const after = client.stats();
    expect(after).toMatchObject({ delivered: 500, rejected: 0, dropped: 0, queued: 0 });
    expect(await counted()).toEqual({ n: 500, distinct_ids: 500 });
    console.info(
      `after restart: ${after.delivered} delivered (${after.duplicates} answered as duplicates of a batch cut by the kill), 500 rows in the database, each once`,
    );
    await waitFor(async () => client.getPrompt('sdk-proc', 'subject-0').source === 'live', { timeoutMs: 10_000, what: 'live again' });
    expect(assignments().map((a) => [a.versionId, a.arm])).toEqual(before.map((a) => [a.versionId, a.arm]));
  }, 180_000);
});
