/**
 * `npm run migrate`: applies pending migrations to DATABASE_URL, or to the embedded PGlite
 * store when no database is configured. For hosted Supabase use its direct DATABASE_URL (or
 * the Supabase CLI, which reads the same supabase/migrations folder and bookkeeping table).
 */
import { ConfigError, describeStore, loadConfig } from '../config/config';
import { openStore } from '.';
import { migrate, MigrationDriftError } from './migrate';

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.store.kind === 'supabase') {
    throw new ConfigError(['migrations need a direct connection: set DATABASE_URL to the Supabase database URL (not SUPABASE_URL)']);
  }
  const { store, migrationTarget } = await openStore(config.store);
  try {
    const report = await migrate(migrationTarget!);
    console.log(`store: ${describeStore(config.store)}`);
    for (const m of report.applied) console.log(`applied  ${m}`);
    console.log(`${report.applied.length} applied, ${report.alreadyApplied.length} already applied`);
  } finally {
    await store.close();
  }
}

main().catch((err) => {
  if (err instanceof ConfigError || err instanceof MigrationDriftError) console.error(err.message);
  else console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
