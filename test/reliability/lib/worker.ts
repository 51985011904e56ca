import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fetchWithTimeout, freePort, GroupProcess, sleep, until, type Exit } from './proc';

export const ADMIN_TOKEN = 'reliability-admin-token-0123456789';
export const INGEST_TOKEN = 'reliability-ingest-token-0123456789';
export const REPO_ROOT = path.resolve(__dirname, '../../..');

export interface WorkerOptions {
  name: string;
  temporalAddress: string;
  databaseUrl: string;
  logDir: string;
  /** Prebuilt workflow bundle (WORKFLOW_BUNDLE_PATH), as the production image uses. */
  bundlePath?: string;
  env?: Record<string, string>;
}

export interface WorkerExitRecord extends Exit {
  at: number;
  requested: NodeJS.Signals | 'none';
  uptimeMs: number;
}

/**
 * The real worker process: `node --import tsx src/worker/main.ts` (one process, so SIGKILL
 * really kills the worker; the `tsx` CLI would leave its node child running). Each start gets
 * fresh HTTP and Temporal-metrics ports.
 */
export class WorkerProcess {
  private proc: GroupProcess | undefined;
  port = 0;
  metricsPort = 0;
  starts = 0;
  private startedAt = 0;
  readonly exits: WorkerExitRecord[] = [];
  /** Workflow task failures the SDK logged ("Workflow failed" warnings with their error line). */
  readonly workflowTaskFailures: string[] = [];
  private requestedSignal: NodeJS.Signals | 'none' = 'none';

  constructor(readonly opts: WorkerOptions) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get logFile(): string {
    return path.join(this.opts.logDir, `worker-${this.opts.name}.log`);
  }

  onLine(fn: (line: string) => void): () => void {
    if (!this.proc) throw new Error('worker not started');
    return this.proc.onLine(fn);
  }

  /**
   * Starts the process and waits until GET /health answers 200; returns how long that took.
   * A start that fails because a freshly picked port was taken meanwhile is retried.
   */
  async start(timeoutMs = 90_000): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.startOnce(timeoutMs);
      } catch (err) {
        const tail = readTail(this.logFile, 4_000);
        if (attempt < 3 && !this.running && /EADDRINUSE|address already in use/i.test(tail)) continue;
        throw err;
      }
    }
  }

  private async startOnce(timeoutMs: number): Promise<number> {
    if (this.running) throw new Error(`worker ${this.opts.name} already running`);
    const t0 = Date.now();
    this.port = await freePort();
    this.metricsPort = await freePort();
    this.starts++;
    this.requestedSignal = 'none';
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      TEMPORAL_ADDRESS: this.opts.temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      DATABASE_URL: this.opts.databaseUrl,
      DATABASE_POOL_MAX: '5',
      PORT: String(this.port),
      TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${this.metricsPort}`,
      ADMIN_API_TOKEN: ADMIN_TOKEN,
      INGEST_API_TOKEN: INGEST_TOKEN,
      SCHEDULES_ENABLED: 'false',
      SHUTDOWN_GRACE: '5s',
      ...(this.opts.bundlePath ? { WORKFLOW_BUNDLE_PATH: this.opts.bundlePath } : {}),
      ...this.opts.env,
    };
    const proc = new GroupProcess(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
      cwd: REPO_ROOT,
      env,
      logFile: this.logFile,
      banner: `start #${this.starts} port=${this.port} metrics=${this.metricsPort}`,
    });
    this.proc = proc;
    this.startedAt = Date.now();
    let inFailure = 0;
    proc.onLine((line) => {
      // The SDK warns "Workflow failed" when a workflow function rejects; in these scenarios none
      // should (every cycle promotes), so each one is a finding.
      if (/\[WARN\] Workflow failed/.test(line)) inFailure = 40;
      else if (/nondetermin/i.test(line)) this.workflowTaskFailures.push(line.trim().slice(0, 300));
      else if (inFailure > 0) {
        inFailure--;
        const m = /^\s*(\w*(?:Error|Violation)\w*): (.*)$/.exec(line);
        if (m) {
          this.workflowTaskFailures.push(`${m[1]}: ${m[2]}`.slice(0, 300));
          inFailure = 0;
        }
      }
    });
    void proc.exited.then((e) =>
      this.exits.push({ ...e, at: Date.now(), requested: this.requestedSignal, uptimeMs: Date.now() - this.startedAt }),
    );
    await until(
      async () => {
        if (!proc.running)
          throw new Error(`worker ${this.opts.name} exited during start ${JSON.stringify(proc.exit)} (log: ${this.logFile})`);
        const res = await fetchWithTimeout(`${this.baseUrl}/health`, {}, 3_000);
        return res.status === 200;
      },
      { timeoutMs, intervalMs: 100, what: `worker ${this.opts.name} healthy` },
    );
    return Date.now() - t0;
  }

  /** SIGKILL: the process dies at once, mid-whatever. */
  async kill(): Promise<Exit> {
    if (!this.proc) throw new Error('worker not started');
    this.requestedSignal = 'SIGKILL';
    return this.proc.stop('SIGKILL', 10_000);
  }

  /** SIGTERM: graceful drain; returns the exit (code 0 expected) and how long it took. */
  async terminate(timeoutMs = 60_000): Promise<Exit & { forced: boolean; ms: number }> {
    if (!this.proc) throw new Error('worker not started');
    const t0 = Date.now();
    this.requestedSignal = 'SIGTERM';
    const e = await this.proc.stop('SIGTERM', timeoutMs);
    return { ...e, ms: Date.now() - t0 };
  }

  async health(timeoutMs = 4_000): Promise<{ status: number; body: unknown; ms: number }> {
    const t0 = Date.now();
    const res = await fetchWithTimeout(`${this.baseUrl}/health`, {}, timeoutMs);
    const body = await res.json().catch(() => null);
    return { status: res.status, body, ms: Date.now() - t0 };
  }

  async metrics(): Promise<string> {
    const res = await fetchWithTimeout(`${this.baseUrl}/metrics`, {}, 10_000);
    return res.text();
  }

  async admin(method: string, p: string, body?: unknown, timeoutMs = 15_000): Promise<{ status: number; json: unknown }> {
    const res = await fetchWithTimeout(
      `${this.baseUrl}${p}`,
      {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
      timeoutMs,
    );
    return { status: res.status, json: await res.json().catch(() => null) };
  }

  async ingest(p: string, body: unknown, timeoutMs = 10_000): Promise<{ status: number; json: unknown }> {
    const res = await fetchWithTimeout(
      `${this.baseUrl}${p}`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      timeoutMs,
    );
    return { status: res.status, json: await res.json().catch(() => null) };
  }

  /** Creates a job through the API; the idempotency key makes a retry after a lost answer safe. */
  async postJob(type: string, params: Record<string, unknown>, idempotencyKey: string): Promise<{ jobId: number; workflowId: string }> {
    const res = await this.admin('POST', '/v1/jobs', { type, params, idempotencyKey, createdBy: 'reliability' });
    if (res.status !== 201) throw new Error(`POST /v1/jobs answered ${res.status}: ${JSON.stringify(res.json)}`);
    const j = res.json as { job: { id: number }; workflowId: string };
    return { jobId: Number(j.job.id), workflowId: j.workflowId };
  }
}

function readTail(file: string, bytes: number): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-bytes);
  } catch {
    return '';
  }
}

/** For until({ abort }): the first workflow task failure any of the workers logged. */
export function workflowFailureIn(...workers: WorkerProcess[]): string | undefined {
  for (const w of workers)
    if (w.workflowTaskFailures.length > 0)
      return `worker ${w.opts.name} logged ${w.workflowTaskFailures.length} workflow task failure(s), first: ${w.workflowTaskFailures[0]}`;
  return undefined;
}

/** Parses Prometheus text into {name{labels}: value} for the counters we read. */
export function parseCounters(text: string, name: string): Array<{ labels: Record<string, string>; value: number }> {
  const out: Array<{ labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const m = /^[^{\s]+(?:\{([^}]*)\})?\s+([0-9.eE+-]+|NaN)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const part of (m[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[part[1]!] = part[2]!;
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

/** Activity executions by type and result, from the worker's own /metrics. */
export function activityCounts(metricsText: string): Record<string, { ok: number; error: number }> {
  const out: Record<string, { ok: number; error: number }> = {};
  for (const c of parseCounters(metricsText, 'pow_activity_executions_total')) {
    const a = c.labels.activity ?? '?';
    out[a] ??= { ok: 0, error: 0 };
    if (c.labels.result === 'error') out[a].error += c.value;
    else out[a].ok += c.value;
  }
  return out;
}

export { sleep };
