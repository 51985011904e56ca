import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { format, inspect } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, secretValues, type Config } from '../../src/config/config';
import { createLogger } from '../../src/worker/logger';
import { startService, type RunningService } from '../../src/worker/service';
import { postgresUrl } from '../helpers/backends';
import { closedPort } from '../helpers/fake-openai-server';
import { connectTestTemporal } from '../helpers/temporal';
import { waitFor } from '../helpers/traffic';

/**
 * No secret ever leaves the process: a real service started with sentinel values for every
 * secret (API tokens, LLM key, Temporal API key, the database password of a real login role),
 * driven through health, metrics, auth failures, bad bodies and a failing LLM job (connection
 * refused, then an upstream that echoes the key back in its error). Everything that could carry
 * a secret is captured: every line of the service logger (built WITHOUT the redaction list, so a
 * secret logged by mistake is not hidden by the scrubber), the Temporal SDK/core logs, console and
 * stdout/stderr, every response body and header. No sentinel may appear anywhere.
 */

const rand = randomBytes(4).toString('hex');
const S = {
  admin: `SENTINEL-admin-${rand}-0123456789`,
  ingest: `SENTINEL-ingest-${rand}-0123456789`,
  llm: `sk-SENTINEL-llm-${rand}`,
  temporal: `SENTINEL-temporal-${rand}`,
  dbPassword: `SentinelDbPw${rand}`,
};
const SENTINELS = Object.values(S);

const captured: Array<{ where: string; text: string }> = [];
const capture = (where: string, text: string) => captured.push({ where, text });

// The Temporal runtime is per process and installed once: install a capturing logger before
// anything connects (helpers/temporal.ts then finds it installed and leaves it).
Runtime.install({ logger: new DefaultLogger('DEBUG', (entry) => capture('temporal-runtime', inspect(entry, { depth: 12 }))) });

describe('secrets never leak', () => {
  let svc: RunningService;
  let temporal: Awaited<ReturnType<typeof connectTestTemporal>>;
  let baseUrl: string;
  let config: Config;
  let llmPort: number;
  let db: { url: string; drop(): Promise<void> } | undefined;
  const restores: Array<() => void> = [];

  async function createRoleDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
    // A real login role with a password, owning a fresh database (the migrations need no superuser).
    const name = `pow_secret_${rand}`;
    const su = new PgClient({ connectionString: postgresUrl });
    await su.connect();
    await su.query(`create role ${name} login password '${S.dbPassword}'`);
    await su.query(`create database ${name} owner ${name}`);
    await su.end();
    const url = new URL(postgresUrl!);
    url.username = name;
    url.password = S.dbPassword;
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      drop: async () => {
        const c = new PgClient({ connectionString: postgresUrl });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.query(`drop role if exists ${name}`);
        await c.end();
      },
    };
  }

  beforeAll(async () => {
    for (const m of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
      const spy = vi.spyOn(console, m).mockImplementation((...args: unknown[]) => capture(`console.${m}`, format(...args)));
      restores.push(() => spy.mockRestore());
    }
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        capture(stream === process.stdout ? 'stdout' : 'stderr', String(chunk));
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restores.push(() => {
        stream.write = original as typeof stream.write;
      });
    }

    temporal = await connectTestTemporal();
    db = postgresUrl ? await createRoleDatabase() : undefined;
    llmPort = await closedPort();
    config = loadConfig({
      PORT: '0',
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: temporal.namespace,
      TEMPORAL_TASK_QUEUE: 'secrets-test',
      // Never used to connect (the test hands in its connections), but part of the config that must not leak.
      TEMPORAL_API_KEY: S.temporal,
      ...(db ? { DATABASE_URL: db.url } : { PGLITE_DATA_DIR: ':memory:' }),
      ADMIN_API_TOKEN: S.admin,
      INGEST_API_TOKEN: S.ingest,
      VARIANT_STRATEGY: 'llm',
      LLM_BASE_URL: `http://127.0.0.1:${llmPort}/v1`,
      LLM_API_KEY: S.llm,
      LLM_TIMEOUT: '2s',
      SCHEDULES_ENABLED: 'false',
      SHUTDOWN_GRACE: '2s',
      LOG_LEVEL: 'trace',
    });
    expect(secretValues(config)).toEqual(expect.arrayContaining(db ? SENTINELS : SENTINELS.filter((s) => s !== S.dbPassword)));
    // The service logger at its most verbose, writing every line here, with no redaction list.
    const logger = createLogger({ level: 'trace', secrets: [], destination: { write: (line: string) => capture('service-log', line) } });
    svc = await startService(config, { logger, temporal });
    baseUrl = `http://127.0.0.1:${svc.httpPort}`;
  });

  afterAll(async () => {
    await svc?.stop().catch(() => undefined);
    await temporal?.close();
    await db?.drop();
    for (const r of restores.reverse()) r();
  });

  async function call(method: string, path: string, opts: { token?: string; headers?: Record<string, string>; body?: unknown } = {}) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    });
    const text = await res.text();
    capture(`response ${method} ${path} body`, text);
    res.headers.forEach((value, name) => capture(`response ${method} ${path} header ${name}`, `${name}: ${value}`));
    return { status: res.status, text, json: () => JSON.parse(text) as any }; // eslint-disable-line @typescript-eslint/no-explicit-any
  }

  it('health, metrics and refused requests', async () => {
    expect((await call('GET', '/health')).status).toBe(200);
    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/pow_process_cpu_user_seconds_total/);
    expect((await call('GET', '/v1/jobs')).status).toBe(401);
    expect((await call('GET', '/v1/jobs', { token: `${S.admin}x` })).status).toBe(401);
    expect((await call('GET', '/v1/jobs', { token: S.ingest })).status).toBe(401);
    expect((await call('POST', '/v1/assign', { token: S.admin, body: { promptKey: 'k', subjectId: 's' } })).status).toBe(401);
    expect(
      (await call('GET', '/v1/jobs', { headers: { authorization: `Basic ${Buffer.from(`admin:${S.admin}`).toString('base64')}` } })).status,
    ).toBe(401);
    expect((await call('GET', '/v1/jobs', { headers: { authorization: S.admin } })).status).toBe(401);
    expect((await call('POST', '/v1/jobs', { token: S.admin, body: { type: 'nope' } })).status).toBe(400);
    expect((await call('POST', '/v1/jobs', { token: S.admin, body: '{"type":' })).status).toBe(400);
    expect(
      (await call('POST', '/v1/conversations', { token: S.ingest, body: { promptKey: 'k', versionId: 'x', success: 1 } })).status,
    ).toBe(400);
    expect((await call('GET', '/v1/jobs/999999', { token: S.admin })).status).toBe(404);
    expect((await call('GET', '/v1/nope', { token: S.admin })).status).toBe(404);
    expect((await call('GET', '/v1/jobs/%E0', { token: S.admin })).status).toBe(400);
  });

  it('a failing LLM job: connection refused (retryable), then an upstream that echoes the key (final)', async () => {
    const key = 'secrets-llm';
    const seeded = await call('POST', '/v1/prompts', {
      token: S.admin,
      body: { promptKey: key, content: 'You are the assistant of {{product}}. Be brief.', activate: true },
    });
    expect(seeded.status).toBe(201);

    // 1. Nothing listens on the LLM port: the openai client retries, the activity fails and is retried by Temporal.
    const first = await call('POST', '/v1/jobs', {
      token: S.admin,
      body: { type: 'variant_generation', params: { promptKey: key, strategy: 'llm' } },
    });
    expect(first.status).toBe(201);
    const handle = temporal.client.workflow.getHandle(first.json().workflowId as string);
    const failure = await waitFor(
      async () => {
        const d = await handle.describe();
        const pending = d.raw.pendingActivities?.[0];
        return pending?.lastFailure?.message ? pending.lastFailure : undefined;
      },
      { timeoutMs: 30_000, what: 'first LLM attempt to fail' },
    );
    capture('temporal lastFailure', inspect(failure, { depth: 12 }));
    expect(failure.message).toMatch(/unreachable/);
    capture('job while retrying', (await call('GET', `/v1/jobs/${first.json().job.id}`, { token: S.admin })).text);
    await handle.terminate('secrets test: enough retries seen');

    // 2. Now something answers on that port, and quotes the credentials it received in a 400 error.
    const echo: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({
          error: { message: `bad request from ${req.headers.authorization ?? ''} key=${S.llm}`, type: 'invalid_request_error', code: null },
        });
        res.writeHead(400, { 'content-type': 'application/json', 'x-echo': String(req.headers.authorization ?? '') });
        res.end(body);
      });
    });
    await new Promise<void>((resolve) => echo.listen(llmPort, '127.0.0.1', () => resolve()));
    try {
      const second = await call('POST', '/v1/jobs', {
        token: S.admin,
        body: { type: 'variant_generation', params: { promptKey: key, strategy: 'llm' } },
      });
      expect(second.status).toBe(201);
      const job = await waitFor(
        async () => {
          const r = await call('GET', `/v1/jobs/${second.json().job.id}`, { token: S.admin });
          const j = r.json().job;
          return j.status === 'failed' ? j : undefined;
        },
        { timeoutMs: 30_000, what: 'LLM job to fail' },
      );
      expect(job.error).toMatch(/answered HTTP 400/);
      expect(job.error).toMatch(/\*\*\*/); // the echoed key was replaced, not dropped silently
      const hist = await temporal.client.workflow.getHandle(second.json().workflowId as string).fetchHistory();
      capture('workflow history', JSON.stringify(hist));
    } finally {
      echo.closeAllConnections();
      await new Promise<void>((resolve) => echo.close(() => resolve()));
    }
    capture('jobs list', (await call('GET', '/v1/jobs', { token: S.admin })).text);
    capture('prompt', (await call('GET', `/v1/prompts/${key}`, { token: S.admin })).text);
    const health = (await call('GET', '/health')).json();
    expect(health.stats.jobsFailed).toBeGreaterThanOrEqual(1);
  });

  it('shuts down, then: no sentinel in any log line, response body or header', async () => {
    await svc.stop();
    const serviceLines = captured.filter((c) => c.where === 'service-log').map((c) => c.text);
    // The capture is real: it saw the boot, the failing LLM attempts and the shutdown.
    expect(serviceLines.some((l) => l.includes('"msg":"http listening"'))).toBe(true);
    expect(serviceLines.some((l) => l.includes('"msg":"store ready"'))).toBe(true);
    expect(serviceLines.some((l) => l.includes('"msg":"shutdown complete"'))).toBe(true);
    expect(captured.some((c) => c.where === 'temporal-runtime' && /unreachable/.test(c.text))).toBe(true);
    expect(captured.some((c) => c.where.startsWith('response') && c.where.includes('header'))).toBe(true);
    expect(captured.length).toBeGreaterThan(50);

    const leaks = captured.flatMap((c) =>
      SENTINELS.filter((s) => c.text.includes(s) || c.text.includes(encodeURIComponent(s))).map(
        (s) => `${c.where}: ${s} in ${c.text.slice(0, 400)}`,
      ),
    );
    expect(leaks).toEqual([]);
  });

  it('the production logger scrubs configured secrets from any field, message or error', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', secrets: secretValues(config), destination: { write: (l: string) => lines.push(l) } });
    logger.info(
      {
        url: `postgres://u:${S.dbPassword}@h/db`,
        headers: { authorization: `Bearer ${S.admin}` },
        apiKey: S.llm,
        nested: { deep: [S.ingest] },
      },
      `token ${S.admin}`,
    );
    logger.error({ err: new Error(`boom ${S.llm} ${S.temporal}`) }, 'failed');
    expect(lines).toHaveLength(2);
    const all = lines.join('\n');
    for (const s of secretValues(config)) expect(all).not.toContain(s);
    expect(all).toContain('[redacted]');
  });
});
