import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import path from 'node:path';
import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SCHEDULE_IDS } from '../../src/domain/ids';
import { createTempDatabase, postgresUrl } from '../helpers/backends';
import { startFakeOpenAIServer, type FakeOpenAIServer } from '../helpers/fake-openai-server';
import { connectTestTemporal } from '../helpers/temporal';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/traffic';

/**
 * The real worker process (`node --import tsx src/worker/main.ts`, what `npm start` runs) as a
 * child process, on the shared Temporal dev server (a namespace of its own) and a fresh
 * PostgreSQL database (a temporary PGlite folder without DATABASE_URL). Signals are real
 * signals; health is asked over HTTP; schedules and workflows are checked in Temporal.
 */

const ROOT = path.resolve(__dirname, '../..');
const ADMIN = 'process-admin-token-0123456789';
const INGEST = 'process-ingest-token-0123456789';
const LLM_DELAY_MS = 4_000;
const GRACE_MS = 15_000;

async function portIsClosed(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

interface Worker {
  proc: ChildProcess;
  output: string[];
  /** Parsed pino lines (stdout JSON). */
  logs(): Array<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

function startWorker(env: Record<string, string>): Worker {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
    cwd: ROOT,
    // Only what the process needs: nothing of the test runner's own environment (DATABASE_URL...).
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (prefix: string) => {
    let partial = '';
    return (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) output.push(`${prefix}${l}`);
    };
  };
  proc.stdout!.on('data', collect(''));
  proc.stderr!.on('data', collect('[stderr] '));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  return {
    proc,
    output,
    exited,
    logs: () =>
      output.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
  };
}

async function stopWorker(w: Worker | undefined): Promise<void> {
  if (!w || w.proc.exitCode !== null || w.proc.signalCode !== null) return;
  w.proc.kill('SIGKILL');
  await w.exited;
}

describe('the worker process', () => {
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let db: { url: string; drop(): Promise<void> } | undefined;
  let pgliteDir: string | undefined;
  let fake: FakeOpenAIServer;
  const workers: Worker[] = [];
  let baseEnv: Record<string, string>;
  let httpPort: number;

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    if (postgresUrl) db = await createTempDatabase('pow_proc');
    else pgliteDir = mkdtempSync(path.join(tmpdir(), 'pow-proc-'));
    fake = await startFakeOpenAIServer({
      delayMs: LLM_DELAY_MS,
      reply: {
        type: 'variants',
        variants: [
          {
            content: 'You are the support assistant of {{product}}. Be brief, and quote the invoice id on billing questions.',
            rationale: 'billing',
          },
          {
            content: 'You are the support assistant of {{product}}. Be brief; confirm the fix worked before ending.',
            rationale: 'closure',
          },
        ],
      },
    });
    httpPort = await freePort();
    baseEnv = {
      PORT: String(httpPort),
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: temporal.namespace,
      TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
      ...(db ? { DATABASE_URL: db.url } : { PGLITE_DATA_DIR: pgliteDir! }),
      ADMIN_API_TOKEN: ADMIN,
      INGEST_API_TOKEN: INGEST,
      VARIANT_STRATEGY: 'llm',
      LLM_BASE_URL: fake.baseURL,
      LLM_API_KEY: 'sk-process-test',
      SHUTDOWN_GRACE: `${GRACE_MS}ms`,
      LOG_LEVEL: 'info',
    };
  });

  afterAll(async () => {
    for (const w of workers) await stopWorker(w);
    for (const id of Object.values(SCHEDULE_IDS))
      await temporal?.client.schedule
        .getHandle(id)
        .delete()
        .catch(() => undefined);
    await temporal?.close();
    await fake?.close();
    await db?.drop();
    if (pgliteDir) rmSync(pgliteDir, { recursive: true, force: true });
  });

  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${httpPort}${p}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const healthy = () =>
    waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${httpPort}/health`);
        return res.status === 200 ? ((await res.json()) as { status: string }) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'worker /health 200' },
    );
  async function scheduleIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const s of temporal.client.schedule.list()) ids.push(s.scheduleId);
    return ids.sort();
  }
  async function publicTables(): Promise<number> {
    if (!db) return 0;
    const c = new PgClient({ connectionString: db.url });
    await c.connect();
    try {
      const r = await c.query<{ n: number }>(
        "select count(*)::int as n from information_schema.tables where table_schema in ('public', 'supabase_migrations')",
      );
      return r.rows[0]!.n;
    } finally {
      await c.end();
    }
  }

  it('a bad configuration stops it at once, exit code 2, naming the variable; nothing started', async () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PORT: 'abc' }, /PORT: must be a port number/],
      [{ SUPABASE_URL: 'https://abc.supabase.co', DATABASE_URL: '' }, /SUPABASE_SERVICE_ROLE_KEY: required with SUPABASE_URL/],
      [{ ADMIN_API_TOKEN: 'SENTINEL-short' }, /ADMIN_API_TOKEN: must be at least 16 characters/],
      [{ SHUTDOWN_GRACE: 'whenever' }, /SHUTDOWN_GRACE: /],
    ];
    for (const [env, message] of cases) {
      const started = Date.now();
      const w = startWorker({ ...baseEnv, ...env });
      workers.push(w);
      const { code } = await w.exited;
      const took = Date.now() - started;
      const all = w.output.join('\n');
      expect(code, all).toBe(2);
      expect(all).toMatch(message);
      expect(all).toMatch(/invalid configuration/);
      expect(all).not.toContain('SENTINEL');
      expect(all).not.toMatch(/store ready|temporal connected|http listening|schedules ensured/);
      // The configuration is read before the Temporal bridge, store and bundler are loaded.
      expect(took, `exit took ${took} ms`).toBeLessThan(5_000);
      console.info(`bad config ${JSON.stringify(env)}: exit ${code} after ${took} ms`);
    }
    // Nothing ran: no migration touched the database, no schedule exists, the port is free.
    expect(await publicTables()).toBe(0);
    expect(await scheduleIds()).toEqual([]);
    expect(await portIsClosed(httpPort)).toBe(true);
  }, 120_000);

  let jobId: number;

  it('starts (health 200, schedules, metrics); SIGTERM during a running activity lets it finish, exit 0', async () => {
    const w = startWorker(baseEnv);
    workers.push(w);
    expect(await healthy()).toMatchObject({ status: 'healthy' });
    expect(await scheduleIds()).toEqual(Object.values(SCHEDULE_IDS).sort());
    expect(w.logs().find((l) => l.msg === 'schedules ensured')?.schedules).toEqual(
      Object.values(SCHEDULE_IDS).map((id) => ({ id, action: 'created' })),
    );
    if (db) expect(await publicTables()).toBeGreaterThan(0);

    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(/^pow_process_cpu_user_seconds_total /m);
    // The Temporal core's own metrics, scraped from TEMPORAL_METRICS_ADDRESS and merged in.
    expect(metrics).toMatch(/^temporal_\w+/m);

    const seeded = await api('POST', '/v1/prompts', {
      promptKey: 'proc-llm',
      content: 'You are the support assistant of {{product}}. Be brief.',
      activate: true,
    });
    expect(seeded.status).toBe(201);
    const job = await api('POST', '/v1/jobs', {
      type: 'variant_generation',
      params: { promptKey: 'proc-llm', strategy: 'llm', variantCount: 2 },
    });
    expect(job.status).toBe(201);
    jobId = job.body.job.id;

    // The activity is now inside the LLM call, which answers after LLM_DELAY_MS.
    await waitFor(async () => fake.calls >= 1, { timeoutMs: 60_000, what: 'LLM call in flight' });
    const signalledAt = Date.now();
    w.proc.kill('SIGTERM');
    const { code, at } = await w.exited;
    const took = at - signalledAt;
    console.info(`SIGTERM during an activity: exit ${code} after ${took} ms`);
    const all = w.output.join('\n');
    expect(code, all).toBe(0);
    // It waited for the activity (the answer came LLM_DELAY_MS after the call started), within the grace time.
    expect(took, all).toBeGreaterThan(LLM_DELAY_MS - 1_500);
    expect(took).toBeLessThan(GRACE_MS + 5_000);
    const msgs = w.logs().map((l) => l.msg);
    expect(msgs).toEqual(expect.arrayContaining(['signal received', 'shutting down', 'temporal worker stopped', 'shutdown complete']));
    expect(msgs.indexOf('shutdown complete')).toBeGreaterThan(msgs.indexOf('shutting down'));
    expect(w.logs().find((l) => l.msg === 'signal received')?.signal).toBe('SIGTERM');
    expect(fake.calls).toBe(1);
  }, 180_000);

  it('restarts: no duplicate schedules, the running workflow continues; SIGTERM while idle exits 0 quickly', async () => {
    const w = startWorker(baseEnv);
    workers.push(w);
    await healthy();
    expect(await scheduleIds()).toEqual(Object.values(SCHEDULE_IDS).sort());
    expect(w.logs().find((l) => l.msg === 'schedules ensured')?.schedules).toEqual(
      Object.values(SCHEDULE_IDS).map((id) => ({ id, action: 'updated' })),
    );

    // The job whose activity finished during the first shutdown completes on this worker, without a second LLM call.
    const done = await waitFor(
      async () => {
        const r = await api('GET', `/v1/jobs/${jobId}`);
        return r.body.job.status === 'completed' || r.body.job.status === 'failed' ? r.body.job : undefined;
      },
      { timeoutMs: 60_000, what: 'job to finish after restart' },
    );
    expect(done.status, JSON.stringify(done)).toBe('completed');
    expect((done.result as { versionIds: string[] }).versionIds).toHaveLength(2);
    expect(fake.calls).toBe(1);
    await temporal.client.workflow.getHandle(`job-${jobId}`).result();
    const desc = await temporal.client.workflow.getHandle(`job-${jobId}`).describe();
    expect(desc.status.name).toBe('COMPLETED');
    expect((await api('GET', '/v1/prompts/proc-llm')).body.versions).toHaveLength(3);

    const signalledAt = Date.now();
    w.proc.kill('SIGTERM');
    const { code, at } = await w.exited;
    const all = w.output.join('\n');
    expect(code, all).toBe(0);
    expect(at - signalledAt, all).toBeLessThan(GRACE_MS);
    console.info(`SIGTERM while idle: exit ${code} after ${at - signalledAt} ms`);
    expect(w.logs().map((l) => l.msg)).toContain('shutdown complete');
    expect(await portIsClosed(httpPort)).toBe(true);
    // Two boots, still exactly three schedules.
    expect(await scheduleIds()).toEqual(Object.values(SCHEDULE_IDS).sort());
  }, 180_000);
});
