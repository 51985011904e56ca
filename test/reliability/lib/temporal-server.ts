import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { locateTemporalCli } from '../../../src/temporal/cli';
import { freePort, GroupProcess, until, type Exit } from './proc';

/**
 * A Temporal dev server of the harness's own (`temporal server start-dev`), persisted in a
 * SQLite file so it can be killed and started again on the same port with its state.
 */
export class TemporalDevServer {
  private proc: GroupProcess | undefined;
  readonly address: string;
  readonly dbFile: string;
  private starts = 0;

  private constructor(
    readonly cli: string,
    readonly dir: string,
    readonly port: number,
  ) {
    this.address = `127.0.0.1:${port}`;
    this.dbFile = path.join(dir, 'temporal.db');
  }

  static async start(dir: string): Promise<TemporalDevServer> {
    const server = new TemporalDevServer(resolveCli(), dir, await freePort());
    await server.startProcess();
    return server;
  }

  get pid(): number {
    return this.proc?.pid ?? -1;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  async startProcess(): Promise<void> {
    this.starts++;
    this.proc = new GroupProcess(
      this.cli,
      [
        'server',
        'start-dev',
        '--db-filename',
        this.dbFile,
        '--port',
        String(this.port),
        '--ip',
        '127.0.0.1',
        '--headless',
        '--log-level',
        'warn',
        '--dynamic-config-value',
        'frontend.enableUpdateWorkflowExecution=true',
        '--dynamic-config-value',
        'frontend.enableUpdateWorkflowExecutionAsyncAccepted=true',
        '--dynamic-config-value',
        'frontend.enableServerVersionCheck=false',
      ],
      { logFile: path.join(this.dir, 'temporal-server.log'), banner: `start #${this.starts}` },
    );
    await until(
      async () => {
        if (!this.proc?.running)
          throw new Error(`temporal dev server exited ${JSON.stringify(this.proc?.exit)} (see ${this.dir}/temporal-server.log)`);
        const conn = await Connection.connect({ address: this.address, connectTimeout: 1_000 });
        try {
          await conn.workflowService.describeNamespace({ namespace: 'default' });
          return true;
        } finally {
          await conn.close();
        }
      },
      { timeoutMs: 60_000, intervalMs: 300, what: `temporal dev server on ${this.address}` },
    );
  }

  /** Kills the server (SIGKILL: a crash; SIGTERM: an orderly stop) and waits for it to exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit & { forced: boolean }> {
    if (!this.proc) return { code: null, signal: null, forced: false };
    return this.proc.stop(signal, 20_000);
  }

  async connect(): Promise<{ client: Client; connection: Connection }> {
    const connection = await Connection.connect({ address: this.address });
    return { client: new Client({ connection, namespace: 'default' }), connection };
  }
}

/** The real binary, not a pyenv/asdf shim script, so a signal reaches the server itself. */
function resolveCli(): string {
  const cli = locateTemporalCli({ cliPath: process.env.TEMPORAL_CLI_PATH?.trim() || undefined })?.path;
  if (!cli)
    throw new Error('temporal CLI not found: put it on PATH, set TEMPORAL_CLI_PATH, or run npm test once (it installs one into .tools/)');
  if (cli.includes('/shims/')) {
    try {
      const real = execFileSync('pyenv', ['which', 'temporal'], { encoding: 'utf8' }).trim();
      if (real) return real;
    } catch {
      // not pyenv: the shim execs the binary, and the process-group signal reaches it anyway
    }
  }
  return cli;
}
