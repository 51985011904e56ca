/**
 * Generates src/store/database.types.ts in the Supabase format from the migrated schema:
 * migrates a throw-away database on DATABASE_URL's server, runs the generator of
 * @supabase/postgres-meta (no Docker needed) on it, and writes or (--check) compares the file.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTempDatabase } from './lib/temp-database';
import { createPostgres } from '../src/store/adapters/postgres';
import { migrate } from '../src/store/migrate';

const TYPES_FILE = path.resolve(__dirname, '../src/store/database.types.ts');

async function generate(url: string): Promise<string> {
  const server = require.resolve('@supabase/postgres-meta/dist/server/server.js');
  const { stdout } = await promisify(execFile)(process.execPath, [server], {
    env: { ...process.env, PG_META_DB_URL: url, PG_META_GENERATE_TYPES: 'typescript', PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS: 'public' },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (!stdout.includes('export type Database')) throw new Error('postgres-meta produced no types');
  return stdout;
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check');
  if (!process.env.DATABASE_URL) {
    const msg = 'DATABASE_URL is not set: database types were NOT checked against the migrations.';
    if (process.env.CI) throw new Error(msg);
    console.warn(`!! ${msg}`);
    return;
  }
  const db = await createTempDatabase('pow_typegen');
  try {
    const pg = createPostgres({ connectionString: db.url, maxConnections: 2 });
    await migrate(pg.migrationTarget);
    await pg.pool.end();
    const generated = await generate(db.url);
    if (check) {
      const committed = await readFile(TYPES_FILE, 'utf8');
      if (committed !== generated) {
        console.error('src/store/database.types.ts is out of date with supabase/migrations: run `npm run gen:types` and commit it.');
        process.exitCode = 1;
        return;
      }
      console.log('database types match the migrations');
    } else {
      await writeFile(TYPES_FILE, generated);
      console.log(`wrote ${path.relative(process.cwd(), TYPES_FILE)}`);
    }
  } finally {
    await db.drop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
