import { Pool, type PoolClient } from 'pg';
import type { MigrationTarget } from '../migrate';
import { SqlTransport } from './sql';

export interface PostgresOptions {
  connectionString: string;
  maxConnections?: number;
  /** Called for errors on idle clients (e.g. the server restarted); without it pg would crash the process. */
  onIdleError?: (err: Error) => void;
}

const MIGRATION_LOCK_KEY = 4_242_001;

/** Any PostgreSQL 15+ (including Supabase's own database, directly). */
export function createPostgres(options: PostgresOptions): { transport: SqlTransport; migrationTarget: MigrationTarget; pool: Pool } {
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    application_name: 'prompt-optimization-worker',
    connectionTimeoutMillis: 5_000,
    // A connection left half-open by a network cut would hang its queries forever: TCP
    // keep-alive notices dead peers, and a query that gets no answer for a minute fails, which
    // makes the pool discard that connection (activities retry on a fresh one).
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: 60_000,
  });
  pool.on('error', (err) => options.onIdleError?.(err));

  const transport = new SqlTransport('postgres', pool, () => pool.end());

  const onClient = async <T>(fn: (client: PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  };

  /** A migration target on one client: exec, query and transactions all use that session. */
  const onSession = (client: PoolClient): Omit<MigrationTarget, 'withLock'> => ({
    exec: async (sql) => {
      await client.query(sql);
    },
    query: (text, params) => client.query(text, params) as never,
    transaction: async (fn) => {
      await client.query('begin');
      try {
        await fn({
          exec: async (sql) => {
            await client.query(sql);
          },
          query: (text, params) => client.query(text, params) as never,
        });
        await client.query('commit');
      } catch (err) {
        await client.query('rollback');
        throw err;
      }
    },
  });

  const migrationTarget: MigrationTarget = {
    exec: async (sql) => {
      await pool.query(sql);
    },
    query: (text, params) => pool.query(text, params) as never,
    transaction: (fn) => onClient((client) => onSession(client).transaction(fn)),
    withLock: (fn) =>
      onClient(async (client) => {
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        try {
          await fn(onSession(client));
        } finally {
          await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
        }
      }),
  };
  return { transport, migrationTarget, pool };
}
