import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import { openMigratedStore, type Store } from '../../src/store';
import { DB_FUNCTIONS } from '../../src/store/functions';
import { DEFAULT_ROLLOUT } from '../../src/domain/types';
import { createTempDatabase, postgresUrl } from '../helpers/backends';

/**
 * The security migration on real PostgreSQL: the Supabase API roles anon and authenticated can
 * neither touch a table nor execute a function in schema public, every table has RLS, and
 * service_role (what the worker uses through PostgREST) can do its job through its policies.
 * PostgreSQL only: PGlite runs everything as a superuser. When DATABASE_URL is missing the global
 * setup warns (and fails in CI), so runIf is not a silent pass.
 */
const EXPECTED_TABLES = [
  'ai_ab_experiments',
  'ai_conversation_feedback',
  'ai_conversations',
  'ai_experiment_arms',
  'ai_experiment_snapshots',
  'ai_pattern_insights',
  'ai_promotion_events',
  'ai_prompt_versions',
  'ai_rollout_checks',
  'ai_rollout_events',
  'ai_rollouts',
  'ai_variant_reviews',
  'optimization_jobs',
];
const API_ROLES = ['anon', 'authenticated'] as const;

interface PgError {
  code?: string;
  message?: string;
}

describe.runIf(postgresUrl)('security on PostgreSQL: RLS, grants and roles', () => {
  let drop: () => Promise<void>;
  let store: Store;
  let client: Client;
  /** first_column: the first column an UPDATE may assign (not an identity column). */
  let tables: Array<{ name: string; rls: boolean; first_column: string }>;
  let functions: Array<{ oid: number; sig: string; name: string; kind: string; definer: boolean }>;

  /** Runs sql and returns its SQLSTATE, or 'ok' when it succeeded. */
  async function sqlstate(sql: string, params: unknown[] = []): Promise<string> {
    try {
      await client.query(sql, params);
      return 'ok';
    } catch (err) {
      return (err as PgError).code ?? `no code: ${(err as PgError).message}`;
    }
  }

  beforeAll(async () => {
    const db = await createTempDatabase('pow_sec');
    drop = db.drop;
    const opened = await openMigratedStore({ kind: 'postgres', connectionString: db.url, poolMax: 2 });
    store = opened.store;
    client = new Client({ connectionString: db.url });
    await client.connect();

    // A row in every table, so that "denied" cannot be confused with "nothing there".
    const v1 = await store.createPromptVersion({ promptKey: 'sec', content: 'Be helpful.', activate: true });
    const v2 = await store.createPromptVersion({ promptKey: 'sec', content: 'Be brief.', parentVersionId: v1.id });
    const exp = await store.createExperiment({ promptKey: 'sec', variantVersionIds: [v2.id] });
    await store.recordConversation({ prompt_key: 'sec', version_id: v1.id, success: true, subject_id: 'u1', external_id: 'sec-1' });
    await store.recordFeedback([{ external_id: 'sec-1', success: false }]);
    await client.query(`select public.write_snapshot($1, 1, '[]'::jsonb, '{"action":"continue"}'::jsonb)`, [exp.id]);
    await store.upsertInsight({
      promptKey: 'sec',
      versionId: v1.id,
      kind: 'latency',
      segment: null,
      evidence: { p95: 9000 },
      severity: 'low',
      isActionable: false,
    });
    const promotion = await store.promoteVariant({
      experimentId: exp.id,
      versionId: v2.id,
      kind: 'manual',
      actor: 'test',
      reason: 'seed',
      rollout: DEFAULT_ROLLOUT,
    });
    const rolloutId = promotion.rollout!.id;
    await store.recordConversation({ prompt_key: 'sec', version_id: v2.id, success: true, subject_id: 'u2', external_id: 'sec-2' });
    await store.writeRolloutCheck({ rolloutId, checkNo: 1, arms: [], decision: { action: 'continue' }, memory: {} });
    await store.createJob({ type: 'full_cycle' });
    const v3 = await store.createPromptVersion({ promptKey: 'sec', content: 'Be kind.', parentVersionId: v2.id });
    await store.requestVariantReviews({
      promptKey: 'sec',
      versionIds: [v3.id],
      workflowId: 'job-sec',
      deadline: new Date(Date.now() + 60_000),
    });

    tables = (
      await client.query<{ name: string; rls: boolean; first_column: string }>(`
      select c.relname as name, c.relrowsecurity as rls,
             (select a.attname from pg_catalog.pg_attribute a
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attidentity = '' and a.attgenerated = ''
              order by a.attnum limit 1) as first_column
      from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f')
      order by c.relname`)
    ).rows;
    functions = (
      await client.query<{ oid: number; sig: string; name: string; kind: string; definer: boolean }>(`
      select p.oid::int as oid, p.oid::regprocedure::text as sig, p.proname as name, p.prokind::text as kind,
             p.prosecdef as definer
      from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' order by p.proname`)
    ).rows;
  });

  afterAll(async () => {
    await client?.end();
    await store?.close();
    await drop?.();
  });

  it('schema public holds exactly the expected tables (no views), each with RLS enabled and only a service_role policy', async () => {
    expect(tables.map((t) => t.name)).toEqual(EXPECTED_TABLES);
    expect(tables.filter((t) => !t.rls).map((t) => t.name)).toEqual([]);

    const { rows: policies } = await client.query<{ tablename: string; roles: string[]; cmd: string }>(
      `select tablename, roles::text[] as roles, cmd from pg_catalog.pg_policies where schemaname = 'public' order by tablename`,
    );
    expect(policies.map((p) => p.tablename)).toEqual(EXPECTED_TABLES);
    for (const p of policies)
      expect({ table: p.tablename, roles: p.roles, cmd: p.cmd }).toEqual({ table: p.tablename, roles: ['service_role'], cmd: 'ALL' });
  });

  it('every table has rows (seeded through the store), so the denials below are about privileges', async () => {
    for (const t of EXPECTED_TABLES) {
      const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from public.${t}`);
      expect({ table: t, hasRows: rows[0]!.n > 0 }).toEqual({ table: t, hasRows: true });
    }
  });

  it.each(API_ROLES)('%s has no table or sequence privilege at all (catalog)', async (role) => {
    const { rows } = await client.query<{ name: string; any_privilege: boolean }>(
      `select c.relname as name,
              has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') as any_privilege
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f') order by c.relname`,
      [role],
    );
    expect(rows).toHaveLength(EXPECTED_TABLES.length);
    expect(rows.filter((r) => r.any_privilege).map((r) => r.name)).toEqual([]);

    const { rows: seqs } = await client.query<{ name: string; any_privilege: boolean }>(
      `select c.relname as name, has_sequence_privilege($1, c.oid, 'USAGE, SELECT, UPDATE') as any_privilege
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       where n.nspname = 'public' and c.relkind = 'S'`,
      [role],
    );
    // Identity columns of ai_conversations, ai_experiment_snapshots and optimization_jobs.
    expect(seqs.length).toBeGreaterThanOrEqual(3);
    expect(seqs.filter((r) => r.any_privilege).map((r) => r.name)).toEqual([]);
  });

  it.each(API_ROLES)('as %s, select/insert/update/delete/truncate on every table fail with 42501', async (role) => {
    const outcomes: Record<string, Record<string, string>> = {};
    await client.query(`set role ${role}`);
    try {
      expect((await client.query<{ r: string }>('select current_user as r')).rows[0]!.r).toBe(role);
      for (const t of tables) {
        const col = t.first_column;
        outcomes[t.name] = {
          select: await sqlstate(`select * from public.${t.name} limit 1`),
          insert: await sqlstate(`insert into public.${t.name} default values`),
          update: await sqlstate(`update public.${t.name} set ${col} = ${col}`),
          delete: await sqlstate(`delete from public.${t.name}`),
          truncate: await sqlstate(`truncate public.${t.name}`),
        };
      }
    } finally {
      await client.query('reset role');
    }
    const denied = { select: '42501', insert: '42501', update: '42501', delete: '42501', truncate: '42501' };
    expect(outcomes).toEqual(Object.fromEntries(EXPECTED_TABLES.map((t) => [t, denied])));
    // Nothing was changed by the attempts.
    for (const t of EXPECTED_TABLES) {
      const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from public.${t}`);
      expect(rows[0]!.n).toBeGreaterThan(0);
    }
  });

  it('schema public (what PostgREST exposes) holds exactly the API: DB_FUNCTIONS, one signature each, none SECURITY DEFINER', () => {
    expect(functions.map((f) => f.name).sort()).toEqual(Object.keys(DB_FUNCTIONS).sort());
    expect(functions.filter((f) => f.definer).map((f) => f.sig)).toEqual([]);
    expect(functions.filter((f) => f.kind !== 'f').map((f) => f.sig)).toEqual([]);
  });

  it('the helpers live in schema internal (migration 20261201009000): none SECURITY DEFINER, none callable through public', async () => {
    const { rows } = await client.query<{ name: string; definer: boolean }>(
      `select p.proname as name, p.prosecdef as definer from pg_catalog.pg_proc p
       join pg_catalog.pg_namespace n on n.oid = p.pronamespace where n.nspname = 'internal' order by 1`,
    );
    const names = rows.map((r) => r.name);
    for (const helper of [
      '_invalid',
      '_wilson',
      '_check_prompt_key',
      '_finish_job',
      'assignment_bucket',
      'normalize_prompt_content',
      'ai_experiment_arms_weights_sum_to_one',
    ]) {
      expect(names, helper).toContain(helper);
    }
    expect(rows.filter((r) => r.definer)).toEqual([]);
    // No text body anywhere still calls a helper as public.<name>( (it would fail at run time).
    const stale = await client.query<{ sig: string }>(
      `select p.oid::regprocedure::text as sig from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
       where n.nspname in ('public', 'internal') and p.prosrc ~ ('public\\.(' || $1 || ')\\s*\\(')`,
      [names.join('|')],
    );
    expect(stale.rows).toEqual([]);
    // The API still works through them as service_role: validation (internal._invalid) and assignment (internal.assignment_bucket).
    await client.query('set role service_role');
    try {
      expect(await sqlstate(`select public.create_job('no_such_type')`)).toBe('22023');
      expect(await sqlstate(`select public.assign_prompt('sec', 'u1')`)).toBe('ok');
      expect(await sqlstate(`select internal.assignment_bucket(gen_random_uuid(), 'u1')`)).toBe('ok');
    } finally {
      await client.query('reset role');
    }
  });

  it.each([...API_ROLES, 'public'])(
    '%s has no USAGE on schema internal and cannot EXECUTE any of its functions (catalog)',
    async (role) => {
      const usage = await client.query<{ can: boolean }>(`select has_schema_privilege($1, 'internal', 'USAGE') as can`, [role]);
      expect(usage.rows[0]!.can).toBe(false);
      const { rows } = await client.query<{ sig: string; can: boolean }>(
        `select p.oid::regprocedure::text as sig, has_function_privilege($1, p.oid, 'EXECUTE') as can
       from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'internal'`,
        [role],
      );
      expect(rows.length).toBeGreaterThanOrEqual(10);
      expect(rows.filter((r) => r.can).map((r) => r.sig)).toEqual([]);
    },
  );

  it.each([...API_ROLES, 'public'])('%s cannot EXECUTE any function in schema public (catalog)', async (role) => {
    const { rows } = await client.query<{ sig: string; can: boolean }>(
      `select p.oid::regprocedure::text as sig, has_function_privilege($1, p.oid, 'EXECUTE') as can
       from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'public'`,
      [role],
    );
    expect(rows).toHaveLength(functions.length);
    expect(rows.filter((r) => r.can).map((r) => r.sig)).toEqual([]);
  });

  it.each(API_ROLES)('as %s, calling real functions fails with 42501 and writes nothing', async (role) => {
    const jobsBefore = (await client.query<{ n: number }>('select count(*)::int as n from public.optimization_jobs')).rows[0]!.n;
    const outcomes: Record<string, string> = {};
    await client.query(`set role ${role}`);
    try {
      outcomes.create_job = await sqlstate(`select public.create_job('full_cycle')`);
      outcomes.get_job = await sqlstate('select public.get_job(1)');
      outcomes.assign_prompt = await sqlstate(`select public.assign_prompt('sec', 'u1')`);
      outcomes.list_prompt_keys = await sqlstate('select public.list_prompt_keys()');
      outcomes.claim_next_job = await sqlstate(`select public.claim_next_job('intruder')`);
      outcomes.serving_snapshot = await sqlstate('select public.serving_snapshot()');
      outcomes.record_conversation_batch = await sqlstate(`select public.record_conversation_batch('[]')`);
      outcomes.record_feedback = await sqlstate(`select public.record_feedback('[{"external_id":"sec-1","success":true}]')`);
      // Even the internal helpers (which would raise 22023 if they ran): the schema is closed to them.
      outcomes._invalid = await sqlstate(`select internal._invalid('x')`);
    } finally {
      await client.query('reset role');
    }
    expect(outcomes).toEqual({
      create_job: '42501',
      get_job: '42501',
      assign_prompt: '42501',
      list_prompt_keys: '42501',
      claim_next_job: '42501',
      serving_snapshot: '42501',
      record_conversation_batch: '42501',
      record_feedback: '42501',
      _invalid: '42501',
    });
    expect((await client.query<{ n: number }>('select count(*)::int as n from public.optimization_jobs')).rows[0]!.n).toBe(jobsBefore);
  });

  // Per-schema default privileges cannot remove PUBLIC's global EXECUTE default; migration 600
  // revokes it globally for the migrating role, so functions added later stay closed.
  it('a function created later in public is not executable by anon (default privileges)', async () => {
    await client.query('begin');
    try {
      await client.query(`create function public.zz_security_probe() returns int language sql as 'select 1'`);
      const { rows } = await client.query<{ anon: boolean; authenticated: boolean }>(
        `select has_function_privilege('anon', 'public.zz_security_probe()', 'EXECUTE') as anon,
                has_function_privilege('authenticated', 'public.zz_security_probe()', 'EXECUTE') as authenticated`,
      );
      expect(rows[0]).toEqual({ anon: false, authenticated: false });
    } finally {
      await client.query('rollback');
    }
  });

  it('the recommended global default-privilege revoke does close that gap (checked in a rolled-back transaction)', async () => {
    await client.query('begin');
    try {
      await client.query('alter default privileges revoke execute on functions from public');
      await client.query(`create function public.zz_security_probe() returns int language sql as 'select 1'`);
      const { rows } = await client.query<{ anon: boolean; authenticated: boolean; service_role: boolean }>(
        `select has_function_privilege('anon', 'public.zz_security_probe()', 'EXECUTE') as anon,
                has_function_privilege('authenticated', 'public.zz_security_probe()', 'EXECUTE') as authenticated,
                has_function_privilege('service_role', 'public.zz_security_probe()', 'EXECUTE') as service_role`,
      );
      expect(rows[0]).toEqual({ anon: false, authenticated: false, service_role: false });
    } finally {
      await client.query('rollback');
    }
  });

  it('service_role (the worker through PostgREST) can execute every API function and use every table', async () => {
    const { rows: fnRows } = await client.query<{ sig: string; can: boolean }>(
      `select p.oid::regprocedure::text as sig, has_function_privilege('service_role', p.oid, 'EXECUTE') as can
       from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
       where n.nspname = 'public' and p.proname = any ($1::text[])`,
      [Object.keys(DB_FUNCTIONS)],
    );
    expect(fnRows.length).toBe(Object.keys(DB_FUNCTIONS).length);
    expect(fnRows.filter((r) => !r.can).map((r) => r.sig)).toEqual([]);

    const counts: Record<string, number> = {};
    await client.query('set role service_role');
    try {
      expect((await client.query<{ r: string }>('select current_user as r')).rows[0]!.r).toBe('service_role');
      const { rows } = await client.query<{ job: { id: number; status: string; created_by: string } }>(
        `select public.create_job('full_cycle', '{"promptKey":"sec"}'::jsonb, 'service-role-test') as job`,
      );
      expect(rows[0]!.job).toMatchObject({ status: 'pending', created_by: 'service-role-test' });
      const { rows: got } = await client.query<{ job: { id: number } }>('select public.get_job($1) as job', [rows[0]!.job.id]);
      expect(got[0]!.job.id).toBe(rows[0]!.job.id);
      const { rows: assigned } = await client.query<{ a: { prompt_key: string; version: number; version_id: string } }>(
        `select public.assign_prompt('sec', 'u1') as a`,
      );
      expect(assigned[0]!.a).toMatchObject({ prompt_key: 'sec', version: 2 });
      // The host-app SDK's functions write through the identity sequences as service_role too.
      const { rows: batch } = await client.query<{ r: { created: number } }>(
        `select public.record_conversation_batch(jsonb_build_array(jsonb_build_object(
           'prompt_key', 'sec', 'version_id', $1::text, 'success', true, 'external_id', 'sec-svc'))) as r`,
        [assigned[0]!.a.version_id],
      );
      expect(batch[0]!.r).toMatchObject({ created: 1 });
      const { rows: fb } = await client.query<{ r: { updated: number } }>(
        `select public.record_feedback('[{"external_id":"sec-svc","rating":2}]') as r`,
      );
      expect(fb[0]!.r).toMatchObject({ updated: 1 });
      expect((await client.query('select public.serving_snapshot() as s')).rows[0].s.prompts).toHaveLength(1);
      // RLS is on for service_role too: the rows are visible because of its policy.
      for (const t of EXPECTED_TABLES) {
        counts[t] = (await client.query<{ n: number }>(`select count(*)::int as n from public.${t}`)).rows[0]!.n;
      }
      expect(await sqlstate(`update public.optimization_jobs set updated_at = updated_at where id = $1`, [rows[0]!.job.id])).toBe('ok');
    } finally {
      await client.query('reset role');
    }
    for (const t of EXPECTED_TABLES) expect({ table: t, visible: counts[t]! > 0 }).toEqual({ table: t, visible: true });
  });

  it('RLS is effective: a role with SELECT but no policy sees no rows', async () => {
    await client.query('begin');
    try {
      await client.query('create role pow_rls_probe nologin');
      const seen: Record<string, number> = {};
      for (const t of EXPECTED_TABLES) await client.query(`grant select on public.${t} to pow_rls_probe`);
      await client.query('set local role pow_rls_probe');
      for (const t of EXPECTED_TABLES) {
        seen[t] = (await client.query<{ n: number }>(`select count(*)::int as n from public.${t}`)).rows[0]!.n;
      }
      expect(seen).toEqual(Object.fromEntries(EXPECTED_TABLES.map((t) => [t, 0])));
    } finally {
      await client.query('rollback');
    }
  });
});
