import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openMigratedStore, type Store } from '../../../src/store';
import { freePort, onHarnessExit, run, sleep } from './proc';

/** The shared PostgreSQL the scenarios create their fresh databases on (never stopped here). */
export const SHARED_PG_URL = process.env.RELIABILITY_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A fresh database on a server; dropped by drop(). */
export async function createDatabase(adminUrl: string, prefix: string): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** The harness's own Store (migrates the fresh database before any worker starts). */
export async function openHarnessStore(url: string): Promise<Store> {
  const { store } = await openMigratedStore(
    { kind: 'postgres', connectionString: url, poolMax: 4 },
    { migrate: true, onIdleError: () => {} },
  );
  return store;
}

/** One-off SQL on a database (its own connection, closed afterwards). */
export async function sql<R extends Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const c = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

const PG_BIN = process.env.RELIABILITY_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A throw-away PostgreSQL cluster (initdb into a temp dir, run as the postgres user) that the
 * outage scenario may stop and start at will without touching the shared server.
 */
export class ThrowawayCluster {
  private removeExitHook: () => void = () => {};

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private static asPostgres(args: string[]): { cmd: string; args: string[] } {
    // We are root on the test machine: postgres refuses to run as root, so run as the postgres user.
    if (process.getuid?.() === 0) return { cmd: 'runuser', args: ['-u', 'postgres', '--', ...args] };
    return { cmd: args[0]!, args: args.slice(1) };
  }

  static async create(): Promise<ThrowawayCluster> {
    const dir = mkdtempSync(path.join(tmpdir(), 'pow-relia-pg-'));
    if (process.getuid?.() === 0) {
      const uid = (await run('id', ['-u', 'postgres'])).trim();
      const gid = (await run('id', ['-g', 'postgres'])).trim();
      chownSync(dir, Number(uid), Number(gid));
    }
    const port = await freePort();
    const cluster = new ThrowawayCluster(dir, port);
    // If the harness dies first, stop the cluster anyway (synchronously, from the exit handler).
    const stop = ThrowawayCluster.asPostgres([`${PG_BIN}/pg_ctl`, '-D', path.join(dir, 'data'), '-m', 'immediate', 'stop']);
    cluster.removeExitHook = onHarnessExit(() => {
      spawnSync(stop.cmd, stop.args, { stdio: 'ignore', timeout: 20_000 });
      rmSync(dir, { recursive: true, force: true });
    });
    const init = ThrowawayCluster.asPostgres([
      `${PG_BIN}/initdb`,
      '-D',
      path.join(dir, 'data'),
      '-U',
      'postgres',
      '--auth=trust',
      '--no-sync',
      '-E',
      'UTF8',
    ]);
    await run(init.cmd, init.args, { timeoutMs: 120_000 });
    await cluster.start();
    return cluster;
  }

  async start(): Promise<number> {
    const t0 = Date.now();
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=32MB -c max_connections=60`;
    const c = ThrowawayCluster.asPostgres([
      `${PG_BIN}/pg_ctl`,
      '-D',
      path.join(this.dir, 'data'),
      '-o',
      opts,
      '-l',
      path.join(this.dir, 'postgres.log'),
      '-w',
      '-t',
      '60',
      'start',
    ]);
    await run(c.cmd, c.args, { timeoutMs: 90_000 });
    return Date.now() - t0;
  }

  /** fast: sessions are terminated and the server exits (a restart or fail-over); immediate: a crash. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<number> {
    const t0 = Date.now();
    const c = ThrowawayCluster.asPostgres([`${PG_BIN}/pg_ctl`, '-D', path.join(this.dir, 'data'), '-m', mode, '-w', '-t', '60', 'stop']);
    await run(c.cmd, c.args, { timeoutMs: 90_000 });
    return Date.now() - t0;
  }

  async destroy(): Promise<void> {
    this.removeExitHook();
    await this.stop('immediate').catch(() => {});
    await sleep(200);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
