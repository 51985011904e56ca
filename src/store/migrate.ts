import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Applies supabase/migrations/*.sql in lexical order and records them the way the Supabase CLI
 * does (supabase_migrations.schema_migrations: version, name, statements), so `supabase db push`
 * and this runner agree on what is applied. A file changed after it was applied is drift: it is
 * reported and nothing is applied.
 */
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../supabase/migrations');

export interface Migration {
  version: string;
  name: string;
  sql: string;
}

/** What the runner needs from a connection: plain multi-statement SQL and one parameterized query. */
export interface MigrationTarget {
  exec(sql: string): Promise<void>;
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
  /** Runs fn in one transaction on one connection. */
  transaction(fn: (tx: Pick<MigrationTarget, 'exec' | 'query'>) => Promise<void>): Promise<void>;
  /**
   * Serializes concurrent runners (e.g. two workers booting) and hands fn a target bound to the
   * locking session, so migrating needs one connection only.
   */
  withLock(fn: (locked: Omit<MigrationTarget, 'withLock'>) => Promise<void>): Promise<void>;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
}

export class MigrationDriftError extends Error {
  override readonly name = 'MigrationDriftError';
  constructor(readonly changed: string[]) {
    super(
      `applied migrations changed on disk: ${changed.join(', ')}. ` +
        'Never edit an applied migration; add a new one (or restore the file).',
    );
  }
}

const FILE_PATTERN = /^(\d{14})_([a-z0-9_]+)\.sql$/;

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const m = FILE_PATTERN.exec(file);
    if (!m) throw new Error(`migration file ${file} does not match <14-digit version>_<name>.sql`);
    migrations.push({ version: m[1]!, name: m[2]!, sql: await readFile(path.join(dir, file), 'utf8') });
  }
  return migrations;
}

/** Whitespace-insensitive fingerprint, so statements split by the Supabase CLI still compare equal. */
function fingerprint(sqlOrStatements: string | string[]): string {
  const text = Array.isArray(sqlOrStatements) ? sqlOrStatements.join('\n') : sqlOrStatements;
  return createHash('sha256')
    .update(text.replace(/[\s;]+/g, ''))
    .digest('hex');
}

const BOOKKEEPING = `
  create schema if not exists supabase_migrations;
  create table if not exists supabase_migrations.schema_migrations (
    version text primary key,
    statements text[],
    name text
  );`;

export async function migrate(target: MigrationTarget, migrations?: Migration[]): Promise<MigrationReport> {
  const all = migrations ?? (await loadMigrations());
  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  await target.withLock(async (locked) => {
    await locked.exec(BOOKKEEPING);
    const { rows } = await locked.query<{ version: string; statements: string[] | null }>(
      'select version, statements from supabase_migrations.schema_migrations',
    );
    const applied = new Map(rows.map((r) => [r.version, r.statements ?? []]));
    const changed = all
      .filter((m) => applied.has(m.version) && fingerprint(applied.get(m.version)!) !== fingerprint(m.sql))
      .map((m) => `${m.version}_${m.name}`);
    if (changed.length > 0) throw new MigrationDriftError(changed);

    for (const m of all) {
      if (applied.has(m.version)) {
        report.alreadyApplied.push(`${m.version}_${m.name}`);
        continue;
      }
      await locked.transaction(async (tx) => {
        await tx.exec(m.sql);
        await tx.query('insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)', [
          m.version,
          m.name,
          [m.sql],
        ]);
      });
      report.applied.push(`${m.version}_${m.name}`);
    }
  });
  return report;
}
