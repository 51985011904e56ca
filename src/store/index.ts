import type { MigrationTarget } from './migrate';
import { migrate, type MigrationReport } from './migrate';
import { createPglite } from './adapters/pglite';
import { createPostgres } from './adapters/postgres';
import { Store } from './store';

export { Store, type RolloutEnding, type RolloutMode } from './store';

/** Where the store lives; chosen by the configuration (src/config), opened here. */
export type StoreTarget =
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'postgres'; connectionString: string; poolMax: number }
  | { kind: 'supabase'; url: string; serviceRoleKey: string };
export * from './errors';
export type * from './rows';
export { JOB_TYPES } from './rows';

export interface OpenedStore {
  store: Store;
  /** Absent for Supabase: apply migrations there with the Supabase CLI or `npm run migrate` on its DATABASE_URL. */
  migrationTarget?: MigrationTarget;
}

export async function openStore(target: StoreTarget, opts: { onIdleError?: (err: Error) => void } = {}): Promise<OpenedStore> {
  switch (target.kind) {
    case 'pglite': {
      const { transport, migrationTarget } = await createPglite(target.dataDir === ':memory:' ? undefined : target.dataDir);
      return { store: new Store(transport), migrationTarget };
    }
    case 'postgres': {
      const { transport, migrationTarget } = createPostgres({
        connectionString: target.connectionString,
        maxConnections: target.poolMax,
        onIdleError: opts.onIdleError,
      });
      return { store: new Store(transport), migrationTarget };
    }
    case 'supabase': {
      // Loaded on demand: supabase-js (and its Node 20 deprecation notice) only where it is used.
      const { SupabaseTransport } = await import('./adapters/supabase');
      return { store: new Store(new SupabaseTransport({ url: target.url, serviceRoleKey: target.serviceRoleKey })) };
    }
  }
}

export async function openMigratedStore(
  target: StoreTarget,
  opts: { migrate?: boolean; onIdleError?: (err: Error) => void } = {},
): Promise<OpenedStore & { migrations?: MigrationReport }> {
  const opened = await openStore(target, opts);
  if (opts.migrate === false || !opened.migrationTarget) return opened;
  try {
    return { ...opened, migrations: await migrate(opened.migrationTarget) };
  } catch (err) {
    await opened.store.close();
    throw err;
  }
}
