import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openMigratedStore, type Store } from '../../src/store';
import type { MigrationTarget } from '../../src/store/migrate';

/**
 * The two real backends every store test runs on: embedded PGlite (in memory) and PostgreSQL
 * (DATABASE_URL; each test file gets its own fresh database, dropped afterwards).
 */
export interface Backend {
  name: 'pglite' | 'postgres';
  open(): Promise<{ store: Store; migrationTarget: MigrationTarget; url?: string; cleanup(): Promise<void> }>;
}

export const postgresUrl = process.env.DATABASE_URL;

export async function createTempDatabase(prefix = 'pow_test'): Promise<{ url: string; drop(): Promise<void> }> {
  if (!postgresUrl) throw new Error('DATABASE_URL is not set');
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new Client({ connectionString: postgresUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export const pgliteBackend: Backend = {
  name: 'pglite',
  async open() {
    const { store, migrationTarget } = await openMigratedStore({ kind: 'pglite', dataDir: ':memory:' });
    return { store, migrationTarget: migrationTarget!, cleanup: () => store.close() };
  },
};

export const postgresBackend: Backend = {
  name: 'postgres',
  async open() {
    const db = await createTempDatabase();
    const { store, migrationTarget } = await openMigratedStore({ kind: 'postgres', connectionString: db.url, poolMax: 10 });
    return {
      store,
      migrationTarget: migrationTarget!,
      url: db.url,
      cleanup: async () => {
        await store.close();
        await db.drop();
      },
    };
  },
};

/** PGlite always; PostgreSQL when DATABASE_URL is set (global setup says loudly when it is not). */
export const backends: Backend[] = postgresUrl ? [pgliteBackend, postgresBackend] : [pgliteBackend];
