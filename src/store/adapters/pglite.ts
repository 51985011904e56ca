import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { MigrationTarget } from '../migrate';
import { SqlTransport } from './sql';

/**
 * Embedded PostgreSQL (WASM) for the zero-setup default. One process owns the data folder:
 * other tools (the starter CLI) go through the worker's HTTP API instead of opening it.
 * `dataDir` undefined keeps everything in memory (tests).
 */
export async function createPglite(dataDir?: string): Promise<{ transport: SqlTransport; migrationTarget: MigrationTarget; db: PGlite }> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const transport = new SqlTransport('pglite', db, () => db.close());
  const migrationTarget: MigrationTarget = {
    exec: async (sql) => {
      await db.exec(sql);
    },
    query: (text, params) => db.query(text, params) as never,
    transaction: async (fn) => {
      await db.transaction(async (tx) => {
        await fn({
          exec: async (sql) => {
            await tx.exec(sql);
          },
          query: (text, params) => tx.query(text, params) as never,
        });
      });
    },
    withLock: (fn) => fn(migrationTarget),
  };
  return { transport, migrationTarget, db };
}
