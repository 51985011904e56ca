import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { processInfo, terminate } from './processes';

/**
 * The embedded Temporal dev server (`temporal server start-dev`), started and supervised by the
 * worker that uses it. A pidfile beside the SQLite file records it, so a server orphaned by a
 * worker that was killed outright (kill -9, OOM) is found and stopped by the next start on the same
 * data folder instead of answering on the port while a new one fails to bind.
 */

export interface DevServerLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface DevServerOptions {
  cliPath: string;
  dbFile: string;
  port: number;
  uiPort: number;
  namespace: string;
  logger: DevServerLogger;
  readyTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  pid: number;
  pidFile: string;
  /** SIGTERM (SIGKILL after 10 s); removes the pidfile. Idempotent. */
  stop(): Promise<void>;
}

/** The dev server cannot be started; the message says why and what to change. */
export class DevServerError extends Error {
  override readonly name = 'DevServerError';
}

/** What the pidfile holds. */
interface PidRecord {
  pid: number;
  ownerPid: number;
  dbFile: string;
  port: number;
  uiPort: number;
  startedAt: string;
}

const STOP_GRACE_MS = 10_000;
export const pidFileFor = (dbFile: string) => `${path.resolve(dbFile)}.pid`;

function readPidRecord(pidFile: string): PidRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(pidFile, 'utf8')) as Partial<PidRecord>;
    return Number.isInteger(r.pid) && Number.isInteger(r.ownerPid) ? (r as PidRecord) : undefined;
  } catch {
    return undefined;
  }
}

function writePidRecord(pidFile: string, record: PidRecord): void {
  const tmp = `${pidFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record)}\n`);
  renameSync(tmp, pidFile);
}

/** True when `pid` is a dev server on this SQLite file (the pid may have been reused by anything). */
function isDevServerOn(pid: number, dbFile: string): { ppid: number } | undefined {
  const info = processInfo(pid);
  if (!info || !info.argv.includes('start-dev')) return undefined;
  const db = info.argv.indexOf('--db-filename');
  return db >= 0 && path.resolve(info.argv[db + 1] ?? '') === dbFile ? { ppid: info.ppid } : undefined;
}

/**
 * A server recorded in the pidfile is stopped when its owner is gone (it was orphaned); when its
 * owner still runs, two workers would share one SQLite file, so this start is refused.
 */
async function clearLeftover(pidFile: string, dbFile: string, logger: DevServerLogger): Promise<void> {
  const record = readPidRecord(pidFile);
  if (!record) return rmSync(pidFile, { force: true });
  const running = isDevServerOn(record.pid, dbFile);
  if (running && running.ppid === record.ownerPid && record.ownerPid !== process.pid) {
    throw new DevServerError(
      `the Temporal dev server on ${dbFile} (pid ${record.pid}) belongs to process ${record.ownerPid}, which is still running: stop it, or give this one another TEMPORAL_DEV_DB_FILE`,
    );
  }
  if (running) {
    const how = await terminate(record.pid, STOP_GRACE_MS);
    logger.warn(
      { pid: record.pid, ownerPid: record.ownerPid, startedAt: record.startedAt, how },
      'stopped a Temporal dev server left over by an earlier run on this data folder (its owner was gone)',
    );
  }
  rmSync(pidFile, { force: true });
}

/** Before a fresh start on this SQLite file (e.g. the demo wiping its data folder): a leftover is stopped, a live owner refused. */
export async function clearLeftoverDevServer(dbFile: string, logger: DevServerLogger): Promise<void> {
  const resolved = path.resolve(dbFile);
  await clearLeftover(pidFileFor(resolved), resolved, logger);
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function checkPorts(o: DevServerOptions): Promise<void> {
  for (const [name, port] of [
    ['TEMPORAL_DEV_PORT', o.port],
    ['TEMPORAL_UI_PORT', o.uiPort],
  ] as const) {
    if (!(await portFree(port))) {
      throw new DevServerError(
        `${name} ${port} is in use by another process (not a dev server recorded in ${pidFileFor(o.dbFile)}): stop it, choose another ${name}, or set TEMPORAL_ADDRESS to use a Temporal server that runs already`,
      );
    }
  }
}

/**
 * Its output goes to a file beside the SQLite file, not to a pipe: a pipe would kill it with
 * SIGPIPE at its first log line after a crash of the worker, or not, depending on timing. With a
 * file it behaves the same every time (the pidfile takes care of it), and its log survives both.
 */
export const logFileFor = (dbFile: string) => `${path.resolve(dbFile)}.log`;

/** The last lines of its log (for the error when it dies before it is ready). */
function logTail(logFile: string, lines = 5): string {
  try {
    const text = readFileSync(logFile, 'utf8');
    return text
      .slice(-4_000)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .slice(-lines)
      .join(' | ');
  } catch {
    return '';
  }
}

async function waitReady(address: string, namespace: string, exited: () => string | undefined, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'not listening yet';
  while (Date.now() < until) {
    const gone = exited();
    if (gone) throw new DevServerError(`the Temporal dev server exited before it was ready: ${gone}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      try {
        await connection.workflowService.describeNamespace({ namespace });
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      last = (err as Error).message;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new DevServerError(`the Temporal dev server at ${address} was not ready after ${timeoutMs} ms (${last})`);
}

function spawnServer(o: DevServerOptions, dbFile: string, logFile: string): ChildProcess {
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(o.port),
    '--ui-port',
    String(o.uiPort),
    '--db-filename',
    dbFile,
    '--log-format',
    'pretty',
    '--log-level',
    'warn',
    ...(o.namespace === 'default' ? [] : ['--namespace', o.namespace]),
  ];
  const out = openSync(logFile, 'a');
  try {
    return spawn(o.cliPath, args, { stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
}

export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  const dbFile = path.resolve(o.dbFile);
  const pidFile = pidFileFor(dbFile);
  mkdirSync(path.dirname(dbFile), { recursive: true });
  await clearLeftover(pidFile, dbFile, o.logger);
  await checkPorts(o);

  const logFile = logFileFor(dbFile);
  const child = spawnServer(o, dbFile, logFile);
  let stopping: Promise<void> | undefined;
  let ready = false;
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      const tail = logTail(logFile);
      exit = `exit ${signal ?? code}${tail ? `: ${tail}` : ''} (its log: ${logFile})`;
      // Not ours to restart silently (its state is in the SQLite file): say so; /health reports Temporal unreachable.
      if (!stopping && ready) o.logger.warn({ pid: child.pid, code, signal }, 'the embedded Temporal dev server exited unexpectedly');
      resolve();
    }),
  );
  child.once('error', (err) => {
    exit = `could not run ${o.cliPath}: ${err.message}`;
  });
  const pid = child.pid ?? -1;
  if (pid > 0)
    writePidRecord(pidFile, { pid, ownerPid: process.pid, dbFile, port: o.port, uiPort: o.uiPort, startedAt: new Date().toISOString() });

  const stop = () =>
    (stopping ??= (async () => {
      if (exit === undefined) await terminate(pid, STOP_GRACE_MS);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 1_000))]);
      if (readPidRecord(pidFile)?.pid === pid) rmSync(pidFile, { force: true });
    })());

  const address = `127.0.0.1:${o.port}`;
  try {
    await waitReady(address, o.namespace, () => exit, o.readyTimeoutMs ?? 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  ready = true;
  o.logger.info({ pid, address, pidFile, logFile, ui: `http://localhost:${o.uiPort}` }, 'temporal dev server started');
  return { address, pid, pidFile, stop };
}
