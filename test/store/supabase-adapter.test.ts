/**
 * The supabase adapter (src/store/adapters/supabase.ts) through supabase-js itself, against the
 * PostgREST HARNESS of test/helpers/postgrest-harness.ts: a local HTTP server that speaks the
 * subset of PostgREST's RPC protocol supabase-js uses and runs every function on the REAL
 * PostgreSQL (a temp database). It is a HARNESS, not PostgREST: no PostgREST binary can be
 * installed here. What it proves: the requests supabase-js sends for our calls, that results
 * equal the pg adapter's, and how every kind of failure (PostgREST error bodies and statuses,
 * outages, network failures, bad keys) becomes a typed StoreError.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import {
  openMigratedStore,
  Store,
  StoreConflictError,
  StoreError,
  StoreNotFoundError,
  StoreUnavailableError,
  StoreValidationError,
} from '../../src/store';
import { supabaseError, SupabaseTransport } from '../../src/store/adapters/supabase';
import { errorFromCode } from '../../src/store/errors';
import { createTempDatabase, postgresUrl } from '../helpers/backends';
import { closedPort, fakeJwt, postgrestStatus, startPostgrestHarness, type PostgrestHarness } from '../helpers/postgrest-harness';

const SERVICE_KEY = fakeJwt('service_role');
const ANON_KEY = fakeJwt('anon');
const WRONG_KEY = fakeJwt('service_role', 'not-the-real-secret');

async function rejection(p: Promise<unknown>): Promise<StoreError> {
  try {
    await p;
  } catch (err) {
    return err as StoreError;
  }
  throw new Error('expected the call to fail');
}

/** Replaces UUIDs (numbered by first appearance) and timestamps, so two databases compare equal. */
function normalize(value: unknown): unknown {
  const ids = new Map<string, string>();
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) {
        if (!ids.has(v)) ids.set(v, `<uuid ${ids.size + 1}>`);
        return ids.get(v);
      }
      if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(v)) return '<timestamp>';
      return v;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value);
}

/** The same sequence of Store calls on any backend; returns every result. */
async function scenario(s: Store): Promise<unknown[]> {
  const out: unknown[] = [];
  const v1 = await s.createPromptVersion({ promptKey: 'rt', content: 'Help with {{product}}.', activate: true });
  out.push(v1);
  out.push(await s.createPromptVersion({ promptKey: 'rt', content: '  HELP with {{product}}. ' }));
  const v2 = await s.createPromptVersion({
    promptKey: 'rt',
    content: 'Help briefly with {{product}}.',
    parentVersionId: v1.id,
    strategy: 'rules',
    rationale: 'shorter',
  });
  out.push(v2);
  out.push(
    await s.createJob({ type: 'variant_generation', params: { promptKey: 'rt', n: 3 }, createdBy: 'rt-test', idempotencyKey: 'rt-1' }),
  );
  out.push(await s.createJob({ type: 'variant_generation', params: { other: true }, idempotencyKey: 'rt-1' }));
  out.push(await s.createJob({ type: 'full_cycle' }));
  out.push(await s.assignPrompt('rt', 'subject-1'));
  const rows = Array.from({ length: 6 }, (_, i) => ({
    prompt_key: 'rt',
    version_id: v1.id,
    success: i % 3 !== 0,
    subject_id: `s${i}`,
    rating: (i % 5) + 1,
    latency_ms: 100 * i,
    tokens: 10 * i,
    external_id: `rt-ext-${i}`,
    topic: i % 2 ? 'billing' : 'setup',
  }));
  out.push(await s.recordConversations(rows));
  out.push(await s.recordConversations(rows));
  const exp = await s.createExperiment({
    promptKey: 'rt',
    variantVersionIds: [v2.id],
    idempotencyKey: 'rt-exp',
    policy: { minSamplesPerArm: 50 },
  });
  out.push(exp);
  out.push(await s.experimentArmStats(exp.id));
  const promote = {
    experimentId: exp.id,
    versionId: v2.id,
    kind: 'approval' as const,
    actor: 'rt',
    reason: 'looks good',
    decision: { p: 0.97 },
  };
  out.push(await s.promoteVariant(promote));
  out.push(await s.promoteVariant(promote));
  out.push(await s.assignPrompt('rt', 'subject-1'));
  out.push(await s.getActivePrompt('rt'));
  out.push(await s.listPromptVersions('rt'));
  out.push(await s.listPromptKeys());
  out.push(await s.claimNextJob('rt-worker', 30));
  out.push(await s.claimNextJob('rt-worker', 30));
  out.push(await s.claimNextJob('rt-worker', 30));
  return out;
}

/** Review before exposure on any backend: request, decide both ways, expire, list, and the trigger's refusal. */
async function reviewScenario(s: Store): Promise<unknown[]> {
  const out: unknown[] = [];
  const control = await s.createPromptVersion({ promptKey: 'rv', content: 'Help with {{product}}.', activate: true });
  const ids = [];
  for (const rule of ['Be brief.', 'Ask first.', 'Cite the docs.']) {
    ids.push(
      (
        await s.createPromptVersion({
          promptKey: 'rv',
          content: `Help with {{product}}. ${rule}`,
          parentVersionId: control.id,
          strategy: 'llm',
        })
      ).id,
    );
  }
  const deadline = new Date('2030-01-01T00:00:00Z');
  out.push(await s.requestVariantReviews({ promptKey: 'rv', versionIds: ids, workflowId: 'job-rv', deadline }));
  out.push(await s.requestVariantReviews({ promptKey: 'rv', versionIds: ids, workflowId: 'job-rv', deadline }));
  out.push(await s.createExperiment({ promptKey: 'rv', variantVersionIds: [ids[0]!] }).catch((e: StoreError) => [e.name, e.kind, e.code]));
  out.push(await s.decideVariantReview({ versionId: ids[0]!, workflowId: 'job-rv', decision: 'accepted', reviewer: 'alice', note: 'ok' }));
  out.push(await s.decideVariantReview({ versionId: ids[0]!, workflowId: 'job-rv', decision: 'accepted', reviewer: 'alice' }));
  out.push(await s.decideVariantReview({ versionId: ids[1]!, workflowId: 'job-rv', decision: 'rejected', reviewer: 'bob' }));
  out.push(
    await s
      .decideVariantReview({ versionId: ids[1]!, workflowId: 'job-rv', decision: 'accepted', reviewer: 'eve' })
      .catch((e: StoreError) => [e.name, e.kind, e.code]),
  );
  out.push(await s.expireVariantReviews('job-rv'));
  // Requested together, the rows tie on requested_at and fall back to their (random) ids: compare them by version.
  out.push((await s.listVariantReviews({ promptKey: 'rv', status: null })).sort((a, b) => a.version - b.version));
  out.push(await s.listVariantReviews({ promptKey: 'rv' }));
  return out;
}

describe.runIf(postgresUrl)('SupabaseTransport (supabase-js) against the PostgREST HARNESS on real PostgreSQL', () => {
  let drop: () => Promise<void>;
  let dbUrl: string;
  let harness: PostgrestHarness;
  let supa: Store;
  let sql: Client;

  beforeAll(async () => {
    const db = await createTempDatabase('pow_rest');
    drop = db.drop;
    dbUrl = db.url;
    const { store } = await openMigratedStore({ kind: 'postgres', connectionString: db.url, poolMax: 2 });
    await store.close();
    harness = await startPostgrestHarness({ databaseUrl: db.url, serviceRoleKey: SERVICE_KEY, anonKey: ANON_KEY });
    supa = new Store(new SupabaseTransport({ url: harness.url, serviceRoleKey: SERVICE_KEY }));
    sql = new Client({ connectionString: db.url });
    await sql.connect();
  });

  afterAll(async () => {
    await sql?.end();
    await supa?.close();
    await harness?.close();
    await drop?.();
  });

  describe('the HARNESS itself behaves like PostgREST', () => {
    it('maps SQLSTATEs to HTTP statuses as PostgREST documents', () => {
      const table: Array<[string, boolean, number]> = [
        ['08006', true, 503],
        ['09000', true, 500],
        ['0L000', true, 403],
        ['0P000', true, 403],
        ['23503', true, 409],
        ['23505', true, 409],
        ['23514', true, 400],
        ['22023', true, 400],
        ['22P02', true, 400],
        ['25006', true, 405],
        ['25001', true, 500],
        ['28000', true, 403],
        ['2D000', true, 500],
        ['38000', true, 500],
        ['39000', true, 500],
        ['3B000', true, 500],
        ['40001', true, 500],
        ['40P01', true, 500],
        ['53400', true, 500],
        ['53300', true, 503],
        ['54000', true, 500],
        ['55000', true, 500],
        ['57014', true, 500],
        ['58000', true, 500],
        ['F0000', true, 500],
        ['HV000', true, 500],
        ['P0001', true, 400],
        ['P0002', true, 500],
        ['XX000', true, 500],
        ['42883', true, 404],
        ['42P01', true, 404],
        ['42P17', true, 500],
        ['42501', true, 403],
        ['42501', false, 401],
        ['42601', true, 400],
        ['PT402', true, 402],
      ];
      expect(table.map(([code, authed]) => [code, authed, postgrestStatus(code, authed)])).toEqual(table);
    });

    it('answers raw HTTP like PostgREST: 401 without a key, 404 PGRST202 for an unknown function, 200 with the jsonb', async () => {
      const noKey = await fetch(`${harness.url}/rest/v1/rpc/list_prompt_keys`, { method: 'POST', body: '{}' });
      expect(noKey.status).toBe(401);
      expect(await noKey.json()).toEqual({
        code: 'PGRST301',
        message: 'No API key found in request',
        details: null,
        hint: expect.any(String),
      });

      const headers = { apikey: SERVICE_KEY, authorization: `Bearer ${SERVICE_KEY}`, 'content-type': 'application/json' };
      const unknown = await fetch(`${harness.url}/rest/v1/rpc/drop_everything`, { method: 'POST', headers, body: '{"p_x":1}' });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ code: 'PGRST202', message: expect.stringContaining('public.drop_everything(p_x)') });

      const ok = await fetch(`${harness.url}/rest/v1/rpc/list_jobs`, { method: 'POST', headers, body: '{"p_status":"completed"}' });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await ok.json()).toEqual([]);

      const bad = await fetch(`${harness.url}/rest/v1/rpc/list_jobs`, { method: 'POST', headers, body: '{"p_status":"weird"}' });
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({
        code: '22023',
        message: expect.stringContaining('status must be one of'),
        details: null,
        hint: null,
      });
    });
  });

  it("health_totals through PostgREST equals the SQL adapter's answer", async () => {
    const direct = (await sql.query<{ t: unknown }>('select public.health_totals() as t')).rows[0]!.t;
    expect(await supa.healthTotals()).toEqual(direct);
    expect(direct).toMatchObject({ jobs: { pending: expect.any(Number) }, experiments: { running: expect.any(Number) } });
  });

  it('claim_next_job with p_max_claims through PostgREST: gives up on the job and fails it with the reason', async () => {
    while (await supa.claimNextJob('drain', 3600)) {
      /* drain */
    }
    const job = await supa.createJob({ type: 'pattern_analysis', params: { promptKey: 'rest-stuck' } });
    harness.requests.length = 0;
    expect(await supa.claimNextJob('rest-worker', 1, 1)).toMatchObject({ id: job.id, attempts: 1 });
    expect(harness.requests[0]!.body).toEqual({ p_worker: 'rest-worker', p_lease_seconds: 1, p_max_claims: 1 });
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await supa.claimNextJob('rest-worker', 1, 1)).toBeNull();
    expect(await supa.getJob(job.id)).toMatchObject({ status: 'failed', error: expect.stringMatching(/^intake gave up after 1 claims: /) });
    await expect(supa.claimNextJob('rest-worker', 1, 0)).rejects.toMatchObject({ kind: 'validation' });
  });

  it('experiment_arm_stats with its options through PostgREST: the named args only when given, the SQL answer, 400 for a bad one', async () => {
    await supa.createPromptVersion({ promptKey: 'rest-arms', content: 'One.', activate: true });
    const v2 = await supa.createPromptVersion({ promptKey: 'rest-arms', content: 'Two.' });
    const exp = await supa.createExperiment({ promptKey: 'rest-arms', variantVersionIds: [v2.id] });
    const a = await supa.assignPrompt('rest-arms', 'rest-subject');
    await supa.recordConversations(
      [120, 80, 300].map((latency, i) => ({
        prompt_key: 'rest-arms',
        version_id: a.version_id,
        subject_id: 'rest-subject',
        success: i > 0,
        latency_ms: latency,
        tokens: 10 * i,
        topic: i ? 'billing' : 'setup',
      })),
    );
    harness.requests.length = 0;
    const plain = await supa.experimentArmStats(exp.id);
    const tuned = await supa.experimentArmStats(exp.id, { latencyFactor: 1.5, recentHours: 2.5, maxTopics: 1 });
    expect(harness.requests.map((r) => r.body)).toEqual([
      { p_experiment_id: exp.id },
      { p_experiment_id: exp.id, p_latency_factor: 1.5, p_recent_hours: 2.5, p_max_topics: 1 },
    ]);
    const direct = async (args: string) =>
      (await sql.query<{ s: unknown }>(`select public.experiment_arm_stats($1${args}) as s`, [exp.id])).rows[0]!.s;
    expect(plain).toEqual(await direct(''));
    expect(tuned).toEqual(await direct(', 1.5, 2.5, 1'));
    const arm = tuned[a.arm!]!;
    expect(arm).toMatchObject({ n: 3, tokensN: 3, tokensSum: 30, tokensSumSq: 500, recent: { hours: 2.5, n: 3 } });
    expect(arm.topics!.map((t) => [t.topic, t.n])).toEqual([
      ['billing', 2],
      [null, 1],
    ]);

    harness.requests.length = 0;
    const err = await rejection(supa.experimentArmStats(exp.id, { maxTopics: 0 }));
    expect(err).toBeInstanceOf(StoreValidationError);
    expect(err.message).toMatch(/max_topics must be between 1 and 100/);
    expect(harness.requests[0]!.status).toBe(400);
  });

  it('request shape: POST /rest/v1/rpc/<fn>, apikey + bearer service key, JSON body of the named args without undefined', async () => {
    harness.requests.length = 0;
    const job = await supa.createJob({ type: 'full_cycle' });
    await supa.getJob(job.id);
    await supa.listPromptKeys();
    await supa.listJobs({ status: 'pending' });

    expect(harness.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', '/rest/v1/rpc/create_job', 200],
      ['POST', '/rest/v1/rpc/get_job', 200],
      ['POST', '/rest/v1/rpc/list_prompt_keys', 200],
      ['POST', '/rest/v1/rpc/list_jobs', 200],
    ]);
    for (const r of harness.requests) {
      expect(r.headers.apikey).toBe(SERVICE_KEY);
      expect(r.headers.authorization).toBe(`Bearer ${SERVICE_KEY}`);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
    }
    // Exactly the defined arguments: p_created_by / p_idempotency_key / p_limit were undefined.
    expect(harness.requests.map((r) => r.body)).toEqual([
      { p_type: 'full_cycle', p_params: {} },
      { p_job_id: job.id },
      {},
      { p_status: 'pending' },
    ]);
    expect(harness.requests[0]!.response).toMatchObject({ id: job.id, type: 'full_cycle', status: 'pending' });
  });

  it('an explicit null is sent as null (p_decision), not dropped like undefined', async () => {
    const v1 = await supa.createPromptVersion({ promptKey: 'shape-null', content: 'One.', activate: true });
    const v2 = await supa.createPromptVersion({ promptKey: 'shape-null', content: 'Two.' });
    const exp = await supa.createExperiment({ promptKey: 'shape-null', variantVersionIds: [v2.id] });
    harness.requests.length = 0;
    const event = await supa.promoteVariant({ experimentId: exp.id, versionId: v2.id, kind: 'manual', actor: 'a', reason: 'r' });
    expect(event).toMatchObject({ created: true, from_version_id: v1.id, to_version_id: v2.id, decision: null });
    expect(harness.requests[0]!.body).toEqual({
      p_experiment_id: exp.id,
      p_version_id: v2.id,
      p_kind: 'manual',
      p_actor: 'a',
      p_reason: 'r',
      p_decision: null,
      p_rollout: null,
    });
  });

  describe('round trip: the same calls give the same results as the pg adapter', () => {
    let pgDb: { url: string; drop(): Promise<void> };
    let restDb: { url: string; drop(): Promise<void> };
    let pgStore: Store;
    let restHarness: PostgrestHarness;
    let restStore: Store;

    beforeAll(async () => {
      [pgDb, restDb] = await Promise.all([createTempDatabase('pow_rt_pg'), createTempDatabase('pow_rt_rest')]);
      pgStore = (await openMigratedStore({ kind: 'postgres', connectionString: pgDb.url, poolMax: 2 })).store;
      const migrated = await openMigratedStore({ kind: 'postgres', connectionString: restDb.url, poolMax: 2 });
      await migrated.store.close();
      restHarness = await startPostgrestHarness({ databaseUrl: restDb.url, serviceRoleKey: SERVICE_KEY });
      restStore = new Store(new SupabaseTransport({ url: restHarness.url, serviceRoleKey: SERVICE_KEY }));
    });

    afterAll(async () => {
      await restStore?.close();
      await restHarness?.close();
      await pgStore?.close();
      await Promise.all([pgDb?.drop(), restDb?.drop()]);
    });

    it('createPromptVersion, createJob, assignPrompt, recordConversations, createExperiment, promoteVariant, ...', async () => {
      const viaPg = await scenario(pgStore);
      const viaRest = await scenario(restStore);

      // Every call went through the harness (as service_role, the worker's role), and succeeded.
      expect(restHarness.requests).toHaveLength(viaRest.length);
      expect(restHarness.requests.filter((r) => r.status !== 200)).toEqual([]);

      // The scenario is not trivial: spot-check what came back.
      const [v1, same, v2, job, jobAgain, , assigned, recorded, recordedAgain] = viaRest as Array<Record<string, unknown>>;
      expect(v1).toMatchObject({ version: 1, status: 'active', created: true });
      expect(same).toMatchObject({ id: v1!.id, created: false });
      expect(v2).toMatchObject({ version: 2, status: 'candidate', parent_version_id: v1!.id, strategy: 'rules' });
      expect(jobAgain).toMatchObject({ id: job!.id, params: { promptKey: 'rt', n: 3 } });
      expect(assigned).toMatchObject({ version_id: v1!.id, experiment_id: null });
      expect(recorded).toEqual({ received: 6, created: 6 });
      expect(recordedAgain).toEqual({ received: 6, created: 0 });
      expect(viaRest[11]).toMatchObject({ created: true, to_version_id: v2!.id, decision: { p: 0.97 } });
      expect(viaRest[12]).toMatchObject({ created: false });
      expect(viaRest[13]).toMatchObject({ version_id: v2!.id, version: 2 });
      expect(viaRest.slice(-3).map((j) => (j as { id?: number } | null)?.id ?? null)).toEqual([
        job!.id,
        (viaRest[5] as { id: number }).id,
        null,
      ]);

      // And equal, call by call, to the pg adapter's results (ids and timestamps normalized).
      expect(normalize(viaRest)).toEqual(normalize(viaPg));
    });

    it('requestVariantReviews, decideVariantReview, expireVariantReviews, listVariantReviews and their errors match the pg adapter', async () => {
      const viaPg = await reviewScenario(pgStore);
      const viaRest = await reviewScenario(restStore);
      const [requested, again, blocked, accepted, acceptedAgain, rejected, flipped, expired, all, pending] = viaRest as unknown[][] &
        Array<Record<string, unknown>>;
      expect((requested as unknown as Array<{ status: string }>).map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
      expect(normalize(again)).toEqual(normalize(requested));
      expect(blocked).toEqual(['StoreConflictError', 'conflict', '55000']);
      expect(accepted).toMatchObject({ status: 'accepted', decided_by: 'alice', created: true });
      expect(acceptedAgain).toMatchObject({ created: false });
      expect(rejected).toMatchObject({ status: 'rejected', version_status: 'rejected', created: true });
      expect(flipped).toEqual(['StoreConflictError', 'conflict', '55000']);
      expect((expired as unknown as Array<{ status: string }>).map((r) => r.status)).toEqual(['expired']);
      expect(all).toHaveLength(3);
      expect(pending).toEqual([]);
      expect(normalize(viaRest)).toEqual(normalize(viaPg));
      // Everything went through the harness as service_role; the two refusals are the only errors so far.
      expect(restHarness.requests.filter((r) => r.status !== 200)).toHaveLength(2);
    });
  });

  it('host-app SDK functions (serving snapshot with a text[] argument, batches, feedback): same results as over pg', async () => {
    const run = async (s: Store) => {
      const v1 = await s.createPromptVersion({ promptKey: 'sdk-rt', content: 'Serve me {{x}}.', activate: true });
      const v2 = await s.createPromptVersion({ promptKey: 'sdk-rt', content: 'Serve me better {{x}}.' });
      await s.createExperiment({ promptKey: 'sdk-rt', variantVersionIds: [v2.id], weights: [0.25, 0.75] });
      // No subject ids: attribution depends on the (random) experiment id's buckets, which differ between the databases.
      const rows = [0, 1, 2].map((i) => ({ prompt_key: 'sdk-rt', version_id: v1.id, success: true, external_id: `sdk-rt-${i}` }));
      return [
        await s.servingSnapshot(['sdk-rt', 'nothing-here']),
        await s.recordConversationBatch([...rows, { ...rows[0]!, rating: 9, external_id: 'sdk-rt-bad' }, rows[1]!]),
        await s.recordFeedback([
          { external_id: 'sdk-rt-0', success: false, rating: 2 },
          { external_id: 'sdk-rt-0', success: false, rating: 2 },
          { external_id: 'nope', success: true },
        ]),
      ];
    };
    const pgDb = await createTempDatabase('pow_sdk_pg');
    const pgStore = (await openMigratedStore({ kind: 'postgres', connectionString: pgDb.url, poolMax: 2 })).store;
    try {
      harness.requests.length = 0;
      const viaRest = await run(supa);
      const viaPg = await run(pgStore);
      expect(harness.requests.filter((r) => r.status !== 200)).toEqual([]);
      // The prompt keys travel as a JSON array, as PostgREST expects for a text[] parameter.
      expect(harness.requests.find((r) => r.path === '/rest/v1/rpc/serving_snapshot')?.body).toEqual({
        p_prompt_keys: ['sdk-rt', 'nothing-here'],
      });
      const [snapshot, batch, feedback] = viaRest as [
        { prompts: unknown[] },
        { created: number; errors: number; duplicates: number },
        { results: Array<{ status: string }> },
      ];
      expect(snapshot.prompts).toHaveLength(1);
      expect(batch).toMatchObject({ created: 3, errors: 1, duplicates: 1 });
      expect(feedback.results.map((r) => r.status)).toEqual(['updated', 'unchanged', 'not_found']);
      // Row ids depend on what else the database holds: compare everything but them.
      const withoutIds = (v: unknown) => JSON.parse(JSON.stringify(v, (k, x) => (k === 'id' || k === 'conversation_id' ? undefined : x)));
      expect(normalize(withoutIds(viaRest))).toEqual(normalize(withoutIds(viaPg)));
    } finally {
      await pgStore.close();
      await pgDb.drop();
    }
  });

  describe('error mapping', () => {
    it('validation (22023, HTTP 400) -> StoreValidationError, not retryable', async () => {
      harness.requests.length = 0;
      const err = await rejection(supa.createJob({ type: 'nonsense' as never }));
      expect(err).toBeInstanceOf(StoreValidationError);
      expect(err).toMatchObject({ kind: 'validation', retryable: false, code: '22023' });
      expect(err.message).toMatch(/^create_job: type must be one of/);
      expect(harness.requests.map((r) => r.status)).toEqual([400]);
    });

    it('not found (P0002, which PostgREST answers with HTTP 500) -> StoreNotFoundError, not retryable', async () => {
      harness.requests.length = 0;
      const err = await rejection(supa.getJob(987_654));
      expect(err).toBeInstanceOf(StoreNotFoundError);
      expect(err).toMatchObject({ kind: 'not_found', retryable: false, code: 'P0002' });
      expect(harness.requests.map((r) => r.status)).toEqual([500]);
    });

    it('wrong state (55000, HTTP 500) -> StoreConflictError, not retryable', async () => {
      await supa.createPromptVersion({ promptKey: 'err-conflict', content: 'First.', activate: true });
      harness.requests.length = 0;
      const err = await rejection(supa.createPromptVersion({ promptKey: 'err-conflict', content: 'Second.', activate: true }));
      expect(err).toBeInstanceOf(StoreConflictError);
      expect(err).toMatchObject({ kind: 'conflict', retryable: false, code: '55000' });
      expect(harness.requests.map((r) => r.status)).toEqual([500]);
    });

    it('a live experiment created concurrently (55000 after the per-key lock) -> StoreConflictError, not retryable', async () => {
      const v1 = await supa.createPromptVersion({ promptKey: 'err-unique', content: 'Base.', activate: true });
      const v2 = await supa.createPromptVersion({ promptKey: 'err-unique', content: 'Variant.', parentVersionId: v1.id });
      // An uncommitted experiment on the same key: the harness's call waits on the per-key lock
      // and, once this transaction commits, finds the live experiment (55000).
      await sql.query('begin');
      let open = true;
      try {
        await sql.query(`select public.create_experiment('err-unique', $1::uuid[])`, [`{${v2.id}}`]);
        harness.requests.length = 0;
        const pending = rejection(supa.createExperiment({ promptKey: 'err-unique', variantVersionIds: [v2.id] }));
        const monitor = new Client({ connectionString: dbUrl });
        await monitor.connect();
        try {
          const deadline = Date.now() + 10_000;
          for (;;) {
            const { rows } = await monitor.query<{ n: number }>(
              `select count(*)::int as n from pg_catalog.pg_stat_activity
               where datname = current_database() and application_name = 'postgrest-harness' and wait_event_type = 'Lock'`,
            );
            if (rows[0]!.n >= 1) break;
            if (Date.now() > deadline) throw new Error('the harness request never waited on the uncommitted experiment');
            await new Promise((r) => setTimeout(r, 20));
          }
        } finally {
          await monitor.end();
        }
        await sql.query('commit');
        open = false;
        const err = await pending;
        expect(err).toBeInstanceOf(StoreConflictError);
        expect(err).toMatchObject({ kind: 'conflict', retryable: false, code: '55000' });
        expect(harness.requests.map((r) => r.status)).toEqual([500]);
      } finally {
        if (open) await sql.query('rollback');
      }
    });

    it('harness outage (HTTP 503, PGRST001) -> StoreUnavailableError, retryable; supabase-js does not retry the POST itself', async () => {
      harness.requests.length = 0;
      harness.outage = { status: 503 };
      try {
        const err = await rejection(supa.listPromptKeys());
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect(err).toMatchObject({ kind: 'unavailable', retryable: true, code: 'PGRST001' });
        await expect(supa.ping()).rejects.toBeInstanceOf(StoreUnavailableError);

        // A gateway in front of PostgREST may answer with a non-JSON body.
        harness.outage = { status: 502, body: '<html><body>502 Bad Gateway</body></html>' };
        const gateway = await rejection(supa.getJob(1));
        expect(gateway).toBeInstanceOf(StoreUnavailableError);
        expect(gateway).toMatchObject({ retryable: true, code: '502' });

        harness.outage = { status: 504 };
        expect(await rejection(supa.getJob(1))).toMatchObject({ kind: 'unavailable', retryable: true, code: 'PGRST003' });
      } finally {
        harness.outage = null;
      }
      expect(harness.requests.map((r) => r.status)).toEqual([503, 503, 502, 504]);
      // Back to normal once the outage ends.
      await expect(supa.listPromptKeys()).resolves.toEqual(expect.any(Array));
    });

    it('network failure: supabase-js returns { error, status: 0 } as data; the adapter throws StoreUnavailableError (retryable)', async () => {
      const port = await closedPort();
      const transport = new SupabaseTransport({ url: `http://127.0.0.1:${port}`, serviceRoleKey: SERVICE_KEY });
      try {
        const raw = await transport.client.rpc('list_prompt_keys', {});
        expect(raw.status).toBe(0);
        expect(raw.data).toBeNull();
        expect(raw.error?.message).toMatch(/fetch failed/);
        expect(raw.error?.details).toMatch(/ECONNREFUSED/);

        const err = await rejection(new Store(transport).listPromptKeys());
        expect(err).toBeInstanceOf(StoreUnavailableError);
        expect(err).toMatchObject({ kind: 'unavailable', retryable: true });
        expect(err.message).toMatch(/^list_prompt_keys: /);
        expect(err.message).not.toContain(SERVICE_KEY);
      } finally {
        await transport.close();
      }
    });

    it('wrong key (HTTP 401, PGRST301) -> permission error, not retryable, and no key in the error', async () => {
      const transport = new SupabaseTransport({ url: harness.url, serviceRoleKey: WRONG_KEY });
      harness.requests.length = 0;
      try {
        const err = await rejection(new Store(transport).createJob({ type: 'full_cycle' }));
        expect(err).toBeInstanceOf(StoreError);
        expect(err).toMatchObject({ kind: 'permission', retryable: false, code: 'PGRST301' });
        const everything = `${err.message}\n${err.stack ?? ''}\n${JSON.stringify(err)}\n${String(err)}`;
        for (const key of [WRONG_KEY, SERVICE_KEY]) expect(everything).not.toContain(key);
        for (const part of WRONG_KEY.split('.')) expect(everything).not.toContain(part);
      } finally {
        await transport.close();
      }
      // The wrong key did reach the server (and was refused there), and nothing ran.
      expect(harness.requests.map((r) => [r.status, r.headers.apikey])).toEqual([[401, WRONG_KEY]]);
    });

    it('anon key: the database denies EXECUTE (42501, HTTP 401) -> permission error, nothing written', async () => {
      const before = (await sql.query<{ n: number }>('select count(*)::int as n from public.optimization_jobs')).rows[0]!.n;
      const transport = new SupabaseTransport({ url: harness.url, serviceRoleKey: ANON_KEY });
      harness.requests.length = 0;
      try {
        const err = await rejection(new Store(transport).createJob({ type: 'full_cycle' }));
        expect(err).toMatchObject({ kind: 'permission', retryable: false, code: '42501' });
        expect(err.message).toMatch(/permission denied for function create_job/);
      } finally {
        await transport.close();
      }
      expect(harness.requests.map((r) => r.status)).toEqual([401]);
      expect((await sql.query<{ n: number }>('select count(*)::int as n from public.optimization_jobs')).rows[0]!.n).toBe(before);
    });

    it('function missing from the schema cache (HTTP 404, PGRST202) -> internal, not retryable, says why', async () => {
      harness.hiddenFunctions.add('list_insights');
      try {
        const err = await rejection(supa.listInsights('anything'));
        expect(err).toMatchObject({ kind: 'internal', retryable: false, code: 'PGRST202' });
        expect(err.message).toMatch(/migrations not applied/);
      } finally {
        harness.hiddenFunctions.delete('list_insights');
      }
    });

    it('an unknown function name is refused before any request is sent', async () => {
      harness.requests.length = 0;
      await expect(supa.transport.call('drop_everything', {})).rejects.toBeInstanceOf(StoreValidationError);
      expect(harness.requests).toEqual([]);
    });

    it('over HTTP every SQLSTATE is classified exactly as over pg, whatever status PostgREST gives it', () => {
      const codes = [
        '22023',
        '22P02',
        '23502',
        '23503',
        '23505',
        '23514',
        '23P01',
        'P0001',
        'P0002',
        '55000',
        '40001',
        '40P01',
        '08006',
        '53300',
        '57P01',
        '57014',
        '42501',
        '42883',
        'XX000',
      ];
      const viaHttp = codes.map((c) => {
        const e = supabaseError('fn', { code: c, message: 'm' }, postgrestStatus(c, true));
        return [c, e.kind, e.retryable, e.code];
      });
      const viaPg = codes.map((c) => {
        const e = errorFromCode(c, 'm');
        return [c, e.kind, e.retryable, e.code];
      });
      expect(viaHttp).toEqual(viaPg);
    });
  });
});
