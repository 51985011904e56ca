/**
 * The supabase/ folder as the Supabase CLI sees it: the pinned CLI (npm `supabase`, installed by
 * the test setup) reads supabase/config.toml and applies supabase/migrations to a real PostgreSQL
 * database with `migration up --db-url` (what `supabase db push` does against a hosted project,
 * without Docker). Both directions share supabase_migrations.schema_migrations with
 * `npm run migrate`: a database migrated by one is up to date for the other.
 *
 * Not run here: `supabase start` and `db push --linked` (they need Docker or a hosted project).
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { parse as parseToml } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgres } from '../../src/store/adapters/postgres';
import { loadMigrations, migrate } from '../../src/store/migrate';
import { createTempDatabase, postgresUrl } from '../helpers/backends';
import { requireTool } from '../helpers/tools';

const ROOT = path.resolve(__dirname, '../..');
const exec = promisify(execFile);

interface SupabaseConfig {
  project_id: string;
  api: { schemas: string[]; extra_search_path: string[] };
  db: { major_version: number; migrations: { enabled: boolean }; seed: { enabled: boolean } };
}
const config = parseToml(readFileSync(path.join(ROOT, 'supabase/config.toml'), 'utf8')) as unknown as SupabaseConfig;

describe('supabase/config.toml', () => {
  it('exposes only the public schema through the API and matches the project layout', () => {
    expect(config.project_id).toMatch(/^[a-z0-9-]+$/);
    expect(config.api.schemas).toEqual(['public']);
    expect(config.api.schemas).not.toContain('internal');
    expect(config.db.migrations.enabled).toBe(true);
    // No seed file ships: a seed step would fail on a missing ./seed.sql.
    expect(config.db.seed.enabled).toBe(false);
  });

  it('and PostgREST in docker-compose.yml exposes the same schemas', () => {
    const compose = readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
    const schemas = /PGRST_DB_SCHEMAS:\s*"?([^"\n]+)"?/
      .exec(compose)?.[1]
      ?.split(',')
      .map((s) => s.trim());
    expect(schemas).toEqual(config.api.schemas);
  });
});

/** Runs the CLI in a copy of the project's supabase/ folder (it writes a .temp/ folder there). */
async function supabase(cwd: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await exec(requireTool('supabase'), args, {
      cwd,
      timeout: 180_000,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
    });
    return { code: 0, out: `${stdout}${stderr}` };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

// The CLI connects with TLS unless told not to; the local test server has none.
const cliUrl = (url: string) => `${url}${url.includes('?') ? '&' : '?'}sslmode=disable`;

async function appliedVersions(url: string): Promise<string[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<{ version: string }>('select version from supabase_migrations.schema_migrations order by version')).rows.map(
      (r) => r.version,
    );
  } finally {
    await c.end();
  }
}

describe.runIf(postgresUrl)('the Supabase CLI on supabase/ (real PostgreSQL)', () => {
  let project: string;
  const dbs: Array<{ url: string; drop(): Promise<void> }> = [];
  beforeAll(() => {
    project = mkdtempSync(path.join(tmpdir(), 'pow-supabase-'));
    cpSync(path.join(ROOT, 'supabase'), path.join(project, 'supabase'), { recursive: true });
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
    rmSync(project, { recursive: true, force: true });
  });

  it("reads config.toml: the database major version is the server's, and a wrong one is refused", async () => {
    const c = new Client({ connectionString: postgresUrl });
    await c.connect();
    const serverMajor = Math.floor(
      Number((await c.query<{ v: string }>("select current_setting('server_version_num') as v")).rows[0]!.v) / 10_000,
    );
    await c.end();
    expect(config.db.major_version).toBe(serverMajor);

    const broken = mkdtempSync(path.join(tmpdir(), 'pow-supabase-bad-'));
    try {
      cpSync(path.join(project, 'supabase'), path.join(broken, 'supabase'), { recursive: true });
      const toml = path.join(broken, 'supabase/config.toml');
      writeFileSync(toml, readFileSync(toml, 'utf8').replace(/major_version = \d+/, 'major_version = 99'));
      const res = await supabase(broken, ['migration', 'list', '--db-url', cliUrl(postgresUrl!)]);
      expect(res.code).not.toBe(0);
      expect(res.out).toMatch(/Invalid db\.major_version: 99/);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });

  it('`migration up` applies every migration to a fresh database, and `npm run migrate` then finds nothing to do', async () => {
    const db = await createTempDatabase('pow_sbcli');
    dbs.push(db);
    const up = await supabase(project, ['migration', 'up', '--db-url', cliUrl(db.url)]);
    expect(up.code, up.out).toBe(0);
    const files = await loadMigrations();
    for (const m of files) expect(up.out).toContain(`Applying migration ${m.version}_${m.name}.sql`);
    expect(await appliedVersions(db.url)).toEqual(files.map((m) => m.version));

    const { migrationTarget, pool } = createPostgres({ connectionString: db.url, maxConnections: 2 });
    try {
      const report = await migrate(migrationTarget);
      expect(report.applied).toEqual([]);
      expect(report.alreadyApplied).toHaveLength(files.length);
    } finally {
      await pool.end();
    }
  }, 240_000);

  it('a database migrated by `npm run migrate` is up to date for `db push` and `migration list`', async () => {
    const db = await createTempDatabase('pow_sbcli');
    dbs.push(db);
    const { migrationTarget, pool } = createPostgres({ connectionString: db.url, maxConnections: 2 });
    try {
      await migrate(migrationTarget);
    } finally {
      await pool.end();
    }
    const push = await supabase(project, ['db', 'push', '--dry-run', '--db-url', cliUrl(db.url)]);
    expect(push.code, push.out).toBe(0);
    expect(push.out).toContain('Remote database is up to date.');
    const list = await supabase(project, ['migration', 'list', '--db-url', cliUrl(db.url)]);
    expect(list.code, list.out).toBe(0);
    for (const m of await loadMigrations()) expect(list.out).toMatch(new RegExp(`${m.version}\\s*\`?\\s*\\|\\s*\`?${m.version}`));
  }, 240_000);
});
