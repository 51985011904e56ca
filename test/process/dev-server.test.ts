import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isAlive } from '../../src/temporal/processes';
import { freePort } from '../helpers/ports';
import { waitFor } from '../helpers/traffic';

/**
 * The embedded Temporal dev server never outlives its worker unnoticed. The real worker process
 * (`node --import tsx src/worker/main.ts`, embedded mode: no TEMPORAL_ADDRESS) is killed with
 * SIGKILL alone, so its dev server is orphaned, as after an OOM kill; the next worker on the same
 * data folder must stop that orphan (found by its pidfile) before starting its own, without a bind
 * error, and a SIGTERM of that worker must leave no dev server behind. Linux: processes are
 * counted in /proc.
 */

const ROOT = path.resolve(__dirname, '../..');

/** Pids of running `temporal server start-dev` processes on this SQLite file. */
function devServersOn(dbFile: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const db = argv.indexOf('--db-filename');
    if (argv.includes('start-dev') && db >= 0 && argv[db + 1] === dbFile && isAlive(Number(entry))) pids.push(Number(entry));
  }
  return pids.sort();
}

interface WorkerProcess {
  proc: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(env: Record<string, string>): WorkerProcess {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  proc.stdout!.on('data', (d: Buffer) => output.push(...d.toString('utf8').split('\n').filter(Boolean)));
  proc.stderr!.on('data', (d: Buffer) =>
    output.push(
      ...d
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => `[stderr] ${l}`),
    ),
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, output, exited };
}

const logsOf = (w: WorkerProcess) =>
  w.output.flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

describe('the embedded dev server and its owner (kill -9, restart, SIGTERM)', () => {
  let dir: string;
  let dbFile: string;
  let env: Record<string, string>;
  const workers: WorkerProcess[] = [];
  const strays: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pow-devserver-'));
    dbFile = path.join(dir, 'temporal.db');
    env = {
      PORT: String(await freePort()),
      TEMPORAL_DEV_PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
      TEMPORAL_DEV_DB_FILE: dbFile,
      TEMPORAL_CLI_PATH: inject('temporalCli'),
      PGLITE_DATA_DIR: path.join(dir, 'pglite'),
      ADMIN_API_TOKEN: 'devserver-admin-token-0123456789',
      SHUTDOWN_GRACE: '5s',
      LOG_LEVEL: 'debug',
    };
  });

  afterAll(async () => {
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGKILL');
    for (const pid of [...strays, ...(dbFile ? devServersOn(dbFile) : [])]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const healthy = () =>
    waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${env.PORT}/health`).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250, what: 'worker /health 200' },
    );
  const pidRecord = () => JSON.parse(readFileSync(`${dbFile}.pid`, 'utf8')) as { pid: number; ownerPid: number; port: number };

  it('kill -9 of the worker orphans its dev server; the next start stops the orphan, runs one of its own, no bind error; SIGTERM leaves none', async () => {
    const first = startWorker(env);
    workers.push(first);
    await healthy();
    const orphan = pidRecord();
    expect(orphan.ownerPid).toBe(first.proc.pid);
    expect(devServersOn(dbFile)).toEqual([orphan.pid]);

    first.proc.kill('SIGKILL');
    await first.exited;
    // The worker alone died: its dev server is still there, answering on the port.
    expect(isAlive(orphan.pid)).toBe(true);
    expect(devServersOn(dbFile)).toEqual([orphan.pid]);
    strays.push(orphan.pid);

    const second = startWorker(env);
    workers.push(second);
    await healthy();
    const stopped = logsOf(second).find((l) => String(l.msg).startsWith('stopped a Temporal dev server left over'));
    expect(stopped, second.output.join('\n')).toMatchObject({ pid: orphan.pid, ownerPid: first.proc.pid });
    expect(isAlive(orphan.pid)).toBe(false);
    const own = pidRecord();
    expect(own.ownerPid).toBe(second.proc.pid);
    expect(own.pid).not.toBe(orphan.pid);
    expect(devServersOn(dbFile)).toEqual([own.pid]);
    // The dev servers' own output (both runs) is in their log beside the SQLite file: no bind error.
    const serverLog = readFileSync(`${dbFile}.log`, 'utf8');
    expect(serverLog).toContain('Temporal Server:');
    expect(serverLog).not.toMatch(/address already in use|bind: /i);
    expect(second.output.join('\n')).not.toMatch(/address already in use|bind: /i);
    expect(logsOf(second).some((l) => l.msg === 'temporal dev server started' && l.pid === own.pid)).toBe(true);

    second.proc.kill('SIGTERM');
    const { code } = await second.exited;
    expect(code, second.output.slice(-20).join('\n')).toBe(0);
    await waitFor(async () => (devServersOn(dbFile).length === 0 ? true : undefined), { timeoutMs: 15_000, what: 'no dev server left' });
    expect(existsSync(`${dbFile}.pid`)).toBe(false);
  }, 300_000);

  it("refuses to share the data folder with a worker that is still running, and leaves that worker's server alone", async () => {
    const owner = startWorker(env);
    workers.push(owner);
    await healthy();
    const record = pidRecord();
    // Same Temporal data folder; its own HTTP port, metrics port and store, so only the dev server is shared.
    const intruder = startWorker({
      ...env,
      PORT: String(await freePort()),
      TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${await freePort()}`,
      PGLITE_DATA_DIR: path.join(dir, 'pglite-2'),
    });
    workers.push(intruder);
    const { code } = await intruder.exited;
    expect(code).toBe(1);
    expect(intruder.output.join('\n')).toMatch(new RegExp(`belongs to process ${owner.proc.pid}, which is still running`));
    expect(devServersOn(dbFile)).toEqual([record.pid]);
    owner.proc.kill('SIGTERM');
    expect((await owner.exited).code).toBe(0);
    await waitFor(async () => (devServersOn(dbFile).length === 0 ? true : undefined), { timeoutMs: 15_000, what: 'no dev server left' });
  }, 300_000);

  it('a port held by a process it did not start is refused with the variable named, not silently attached to', async () => {
    const squatter = createServer().listen(Number(env.TEMPORAL_DEV_PORT), '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const w = startWorker(env);
      workers.push(w);
      const { code } = await w.exited;
      expect(code).toBe(1);
      expect(w.output.join('\n')).toContain(`TEMPORAL_DEV_PORT ${env.TEMPORAL_DEV_PORT} is in use by another process`);
      expect(devServersOn(dbFile)).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  }, 120_000);

  it('/health is 503 naming Temporal while its server is down, and 200 again once it is back', async () => {
    const w = startWorker(env);
    workers.push(w);
    await healthy();
    const health = async () => {
      const res = await fetch(`http://127.0.0.1:${env.PORT}/health`);
      return { status: res.status, body: (await res.json()) as { reason?: string; checks: Record<string, string>; totals: unknown } };
    };
    expect((await health()).body.checks).toEqual({ worker: 'ok', store: 'ok', temporal: 'ok' });
    const server = pidRecord();
    process.kill(server.pid, 'SIGKILL');
    const down = await waitFor(
      async () => {
        const h = await health();
        return h.status === 503 ? h : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 250, what: '/health 503' },
    );
    expect(down.body.reason).toBe('temporal unreachable');
    expect(down.body.checks).toEqual({ worker: 'ok', store: 'ok', temporal: 'unreachable' });
    expect(down.body.totals).not.toBeNull();
    expect(logsOf(w).some((l) => l.msg === 'the embedded Temporal dev server exited unexpectedly' && l.pid === server.pid)).toBe(true);

    // The same server comes back on the same port and file (as an operator would restart it).
    const again = spawn(
      inject('temporalCli'),
      [
        'server',
        'start-dev',
        '--ip',
        '127.0.0.1',
        '--port',
        env.TEMPORAL_DEV_PORT!,
        '--ui-port',
        env.TEMPORAL_UI_PORT!,
        '--db-filename',
        dbFile,
        '--log-level',
        'error',
      ],
      { stdio: 'ignore' },
    );
    strays.push(again.pid!);
    const up = await waitFor(
      async () => {
        const h = await health();
        return h.status === 200 ? h : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: '/health 200 again' },
    );
    expect(up.body.checks.temporal).toBe('ok');
    w.proc.kill('SIGTERM');
    await w.exited;
    again.kill('SIGTERM');
    await once(again, 'exit');
  }, 300_000);
});
