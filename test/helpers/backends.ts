import { createTempDatabase } from '../../scripts/lib/temp-database';
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

export { createTempDatabase };

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
