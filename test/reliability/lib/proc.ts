import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import net from 'node:net';

/** Small process and timing helpers shared by the reliability harness. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A loopback port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Children run in process groups of their own (so a signal reaches everything they spawn); if
 * the harness itself exits early (an error, Ctrl-C, a timeout), nothing would stop them. This
 * kills every live group, and runs other synchronous clean-ups, when the harness process exits.
 */
const liveGroups = new Set<GroupProcess>();
const exitHooks = new Set<() => void>();
let exitHandlerInstalled = false;

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.on('exit', () => {
    for (const p of liveGroups) p.signal('SIGKILL');
    for (const hook of exitHooks) {
      try {
        hook();
      } catch {
        // best effort
      }
    }
  });
}

/** Registers a synchronous clean-up for an early exit; returns its removal. */
export function onHarnessExit(hook: () => void): () => void {
  installExitHandler();
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A child process in its own process group (so a signal reaches it and anything it spawned),
 * with stdout/stderr appended to a log file and an optional line listener.
 */
export class GroupProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  private readonly log: WriteStream;
  private lineListeners: Array<(line: string) => void> = [];

  constructor(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; logFile: string; banner?: string }) {
    this.log = createWriteStream(opts.logFile, { flags: 'a' });
    if (opts.banner) this.log.write(`\n===== ${new Date().toISOString()} ${opts.banner}\n`);
    this.child = spawn(command, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    const onData = (chunk: Buffer) => {
      this.log.write(chunk);
      if (this.lineListeners.length === 0) return;
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) for (const l of this.lineListeners) l(line);
    };
    this.child.stdout!.on('data', onData);
    this.child.stderr!.on('data', onData);
    installExitHandler();
    liveGroups.add(this);
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
      this.child.on('error', (err) => {
        this.log.write(`spawn error: ${err.message}\n`);
        this.exit = { code: -1, signal: null };
        resolve(this.exit);
      });
    });
    void this.exited.then(() => {
      liveGroups.delete(this);
      this.log.end();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  onLine(fn: (line: string) => void): () => void {
    this.lineListeners.push(fn);
    return () => {
      this.lineListeners = this.lineListeners.filter((l) => l !== fn);
    };
  }

  /** Signals the whole process group; no-op when already gone. */
  signal(sig: NodeJS.Signals): void {
    if (!this.running || this.pid <= 0) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        process.kill(this.pid, sig);
      } catch {
        // already gone
      }
    }
  }

  /** Signals and waits for the exit (SIGKILL after timeoutMs). */
  async stop(sig: NodeJS.Signals, timeoutMs = 30_000): Promise<Exit & { forced: boolean }> {
    if (!this.running) return { ...this.exit!, forced: false };
    this.signal(sig);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      this.signal('SIGKILL');
      const e = await this.exited;
      return { ...e, forced: true };
    }
    return { ...this.exit!, forced: false };
  }
}

/** Runs a command to completion, collecting output; rejects on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}: ${out.slice(-2000)}`));
    });
  });
}

/** Polls fn until it returns a truthy value or the deadline passes. */
export async function until<T>(
  fn: () => Promise<T | undefined | null | false>,
  opts: {
    timeoutMs: number;
    intervalMs?: number;
    what: string;
    /** A reason to give up at once (checked every round). */ abort?: () => string | undefined;
  },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    const reason = opts.abort?.();
    if (reason) throw new Error(`gave up waiting for ${opts.what}: ${reason}`);
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${Math.round(opts.timeoutMs / 1000)}s waiting for ${opts.what}${last ? `: ${(last as Error).message}` : ''}`,
      );
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

/** fetch with a timeout; never throws for HTTP statuses. */
export async function fetchWithTimeout(url: string, init: RequestInit = {}, timeoutMs = 5_000): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

/**
 * Runs `round` every `intervalMs` (one round at a time, the next one interval after the last
 * began) until stopped. A round that throws is counted and the loop goes on: traffic pumps keep
 * trying while the database is away.
 */
export class RepeatingTask {
  errors = 0;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly round: () => Promise<void>) {}

  start(intervalMs: number): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        const t0 = Date.now();
        try {
          await this.round();
        } catch {
          this.errors++;
        }
        await sleep(Math.max(50, intervalMs - (Date.now() - t0)));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
