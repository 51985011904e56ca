import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/domain/types';
import { StoreConflictError, StoreNotFoundError, StoreValidationError, type ConversationInput, type Store } from '../../src/store';
import { loadMigrations, migrate, MigrationDriftError, type MigrationTarget } from '../../src/store/migrate';
import { backends } from '../helpers/backends';

/** The same contract on every backend: PGlite and PostgreSQL run the same SQL functions. */
describe.each(backends)('store contract on $name', (backend) => {
  let store: Store;
  let target: MigrationTarget;
  let cleanup: () => Promise<void>;
  let seq = 0;
  const key = (base: string) => `${base}-${++seq}`;

  beforeAll(async () => {
    const opened = await backend.open();
    store = opened.store;
    target = opened.migrationTarget;
    cleanup = opened.cleanup;
  });
  afterAll(async () => cleanup?.());

  async function count(table: string, where = 'true', params: unknown[] = []): Promise<number> {
    const { rows } = await target.query<{ n: number }>(`select count(*)::int as n from public.${table} where ${where}`, params);
    return rows[0]!.n;
  }

  async function seedPrompt(promptKey: string, content = 'You are a helpful assistant for {{product}}.') {
    return store.createPromptVersion({ promptKey, content, activate: true });
  }

  async function seedExperiment(promptKey: string, variants = 1, weights?: number[]) {
    const control = await seedPrompt(promptKey);
    const ids: string[] = [];
    for (let i = 0; i < variants; i++) {
      const v = await store.createPromptVersion({
        promptKey,
        content: `${control.content}\nVariant ${i} rule.`,
        parentVersionId: control.id,
        strategy: 'rules',
      });
      ids.push(v.id);
    }
    const exp = await store.createExperiment({ promptKey, variantVersionIds: ids, weights });
    return { control, variantIds: ids, exp };
  }

  describe('migrations', () => {
    it('re-running is a no-op', async () => {
      const report = await migrate(target);
      expect(report.applied).toEqual([]);
      expect(report.alreadyApplied.length).toBe((await loadMigrations()).length);
      const { rows } = await target.query<{ version: string }>(
        'select version from supabase_migrations.schema_migrations order by version',
      );
      expect(rows.map((r) => r.version)).toEqual((await loadMigrations()).map((m) => m.version));
    });

    it('reports an applied migration that changed on disk and applies nothing', async () => {
      const files = await loadMigrations();
      const changed = files.map((m, i) =>
        i === 1 ? { ...m, sql: `${m.sql}\n-- edited after apply\ncreate table public.should_not_exist (x int);` } : m,
      );
      await expect(migrate(target, changed)).rejects.toBeInstanceOf(MigrationDriftError);
      const { rows } = await target.query(`select 1 from pg_catalog.pg_tables where tablename = 'should_not_exist'`);
      expect(rows).toHaveLength(0);
    });

    it('treats white-space-only differences as the same migration (Supabase CLI splits statements)', async () => {
      const files = await loadMigrations();
      const reformatted = files.map((m) => ({ ...m, sql: m.sql.replace(/\n/g, '\n\n') }));
      await expect(migrate(target, reformatted)).resolves.toMatchObject({ applied: [] });
    });
  });

  describe('jobs', () => {
    it('creates, validates and dedupes by idempotency key', async () => {
      const before = await count('optimization_jobs');
      await expect(store.createJob({ type: 'nonsense' as never })).rejects.toThrow(/type must be one of/);
      await expect(store.createJob({ type: 'full_cycle', params: [] as never })).rejects.toBeInstanceOf(StoreValidationError);
      expect(await count('optimization_jobs')).toBe(before);

      const a = await store.createJob({ type: 'full_cycle', params: { promptKey: 'x' }, idempotencyKey: 'idem-1' });
      const b = await store.createJob({ type: 'full_cycle', params: { promptKey: 'y' }, idempotencyKey: 'idem-1' });
      expect(b.id).toBe(a.id);
      expect(a.status).toBe('pending');
      expect(await store.getJob(a.id)).toMatchObject({ id: a.id, type: 'full_cycle', params: { promptKey: 'x' } });
      await expect(store.getJob(999_999)).rejects.toBeInstanceOf(StoreNotFoundError);
    });

    it('claims each pending job once, reclaims an expired lease, and moves to a terminal state once', async () => {
      // Drain whatever earlier tests left claimable.
      while (await store.claimNextJob('drain', 3600)) {
        /* drain */
      }
      const job = await store.createJob({ type: 'pattern_analysis', params: { promptKey: 'k' } });
      const claimed = await store.claimNextJob('w1', 1);
      expect(claimed?.id).toBe(job.id);
      expect(claimed?.lease_owner).toBe('w1');
      expect(await store.claimNextJob('w2', 1)).toBeNull();
      await new Promise((r) => setTimeout(r, 1_200));
      const reclaimed = await store.claimNextJob('w2', 60);
      expect(reclaimed).toMatchObject({ id: job.id, lease_owner: 'w2', attempts: 2 });

      const started = await store.startJob(job.id, `job-${job.id}`);
      expect(started).toMatchObject({ status: 'running', workflow_id: `job-${job.id}`, lease_owner: null });
      expect(await store.startJob(job.id, `job-${job.id}`)).toMatchObject({ status: 'running' });
      await expect(store.startJob(job.id, 'someone-else')).rejects.toBeInstanceOf(StoreConflictError);
      expect(await store.claimNextJob('w3', 60)).toBeNull();

      const done = await store.completeJob(job.id, { insights: 2 });
      expect(done).toMatchObject({ status: 'completed', result: { insights: 2 } });
      expect(done.finished_at).toBeTruthy();
      expect(await store.completeJob(job.id, { insights: 2 })).toMatchObject({ status: 'completed' });
      await expect(store.failJob(job.id, 'late failure')).rejects.toBeInstanceOf(StoreConflictError);
      expect(await store.listJobs({ status: 'completed' })).toEqual(expect.arrayContaining([expect.objectContaining({ id: job.id })]));
    });

    it('gives up on a job claimed maxClaims times without being started: failed with the reason, the next job claimed instead', async () => {
      while (await store.claimNextJob('drain', 3600)) {
        /* drain */
      }
      const stuck = await store.createJob({ type: 'pattern_analysis', params: { promptKey: 'stuck' } });
      expect(await store.claimNextJob('w1', 1, 2)).toMatchObject({ id: stuck.id, attempts: 1 });
      await new Promise((r) => setTimeout(r, 1_200));
      expect(await store.claimNextJob('w1', 1, 2)).toMatchObject({ id: stuck.id, attempts: 2 });
      await new Promise((r) => setTimeout(r, 1_200));
      const next = await store.createJob({ type: 'pattern_analysis', params: { promptKey: 'next' } });
      // The stuck job comes first (older) and is given up on; the same call claims the next one.
      expect(await store.claimNextJob('w1', 60, 2)).toMatchObject({ id: next.id, attempts: 1 });
      const failed = await store.getJob(stuck.id);
      expect(failed).toMatchObject({ status: 'failed', attempts: 2, lease_owner: null, lease_expires_at: null, workflow_id: null });
      expect(failed.finished_at).toBeTruthy();
      expect(failed.error).toBe(
        `intake gave up after 2 claims: no workflow started this job (its workflow job-${stuck.id} was terminated or failed before it could start it); create the job again to run it`,
      );
      expect(await store.claimNextJob('w1', 60, 2)).toBeNull();
      // Its workflow, should it ever run, cannot take it over any more.
      await expect(store.startJob(stuck.id, `job-${stuck.id}`)).rejects.toBeInstanceOf(StoreConflictError);
      for (const bad of [0, 1001]) await expect(store.claimNextJob('w1', 60, bad)).rejects.toThrow(/max_claims must be between 1 and 1000/);
    });
  });

  describe('health totals', () => {
    it('counts what the tables hold, by status, and moves with them', async () => {
      const n = (table: string, where = 'true') => count(table, where);
      const expected = async () => ({
        jobs: {
          pending: await n('optimization_jobs', "status = 'pending'"),
          running: await n('optimization_jobs', "status = 'running'"),
          completed: await n('optimization_jobs', "status = 'completed'"),
          failed: await n('optimization_jobs', "status = 'failed'"),
        },
        experiments: {
          running: await n('ai_ab_experiments', "status = 'running'"),
          paused: await n('ai_ab_experiments', "status = 'paused'"),
          concluded: await n('ai_ab_experiments', "status = 'concluded'"),
          promoted: await n('ai_ab_experiments', "outcome = 'promoted'"),
        },
        promptKeys: (await target.query<{ n: number }>('select count(distinct prompt_key)::int as n from public.ai_prompt_versions'))
          .rows[0]!.n,
        promptVersions: await n('ai_prompt_versions'),
        promotions: await n('ai_promotion_events', "kind <> 'rollback'"),
        rollbacks: await n('ai_promotion_events', "kind = 'rollback'"),
      });
      const before = await store.healthTotals();
      expect(before).toEqual(await expected());
      const job = await store.createJob({ type: 'pattern_analysis', params: { promptKey: key('totals') } });
      await store.failJob(job.id, 'counted');
      await seedPrompt(key('totals'), 'Totals prompt for {{product}}.');
      const after = await store.healthTotals();
      expect(after).toEqual(await expected());
      expect(after.jobs.failed).toBe(before.jobs.failed + 1);
      expect(after.promptKeys).toBe(before.promptKeys + 1);
    });
  });

  describe('prompt versions', () => {
    it('numbers versions, dedupes normalized content and guards the active version', async () => {
      const k = key('support');
      const v1 = await seedPrompt(k, 'Answer politely about {{product}}.');
      expect(v1).toMatchObject({ version: 1, status: 'active', created: true });
      const same = await store.createPromptVersion({ promptKey: k, content: '  ANSWER politely   about {{product}}.\n' });
      expect(same).toMatchObject({ id: v1.id, created: false });
      const v2 = await store.createPromptVersion({ promptKey: k, content: 'Answer briefly about {{product}}.', parentVersionId: v1.id });
      expect(v2).toMatchObject({ version: 2, status: 'candidate', parent_version_id: v1.id });
      await expect(store.createPromptVersion({ promptKey: k, content: 'Another', activate: true })).rejects.toBeInstanceOf(
        StoreConflictError,
      );
      expect((await store.getActivePrompt(k)).id).toBe(v1.id);
      expect((await store.listPromptVersions(k)).map((v) => v.version)).toEqual([1, 2]);
    });

    it('rejects bad keys and content without writing', async () => {
      const before = await count('ai_prompt_versions');
      await expect(store.createPromptVersion({ promptKey: 'bad key!', content: 'x' })).rejects.toThrow(/prompt_key/);
      await expect(store.createPromptVersion({ promptKey: 'ok', content: '   ' })).rejects.toThrow(/empty/);
      await expect(store.createPromptVersion({ promptKey: 'ok', content: 'a\u0001b' })).rejects.toThrow(/control characters/);
      await expect(store.createPromptVersion({ promptKey: 'ok', content: 'x'.repeat(50_001) })).rejects.toThrow(/limit is 50000/);
      expect(await count('ai_prompt_versions')).toBe(before);
      await expect(store.getActivePrompt('no-such-key')).rejects.toBeInstanceOf(StoreNotFoundError);
    });

    it('never allows two active versions, even by direct SQL', async () => {
      const k = key('direct');
      const v1 = await seedPrompt(k);
      const v2 = await store.createPromptVersion({ promptKey: k, content: 'other {{product}}' });
      await expect(target.query(`update public.ai_prompt_versions set status = 'active' where id = $1`, [v2.id])).rejects.toThrow();
      expect((await store.getActivePrompt(k)).id).toBe(v1.id);
    });
  });

  describe('experiments and assignment', () => {
    it('assigns deterministically by md5 bucket, close to the weights', async () => {
      const k = key('assign');
      const { control, variantIds, exp } = await seedExperiment(k, 1, [0.3, 0.7]);
      expect(exp.arms.map((a) => Number(a.weight))).toEqual([0.3, 0.7]);
      const counts = [0, 0];
      for (let i = 0; i < 400; i++) {
        const a = await store.assignPrompt(k, `user-${i}`);
        const again = await store.assignPrompt(k, `user-${i}`);
        expect(again.version_id).toBe(a.version_id);
        // Host apps can reproduce the bucket: first 32 bits of md5("<experiment>:<subject>").
        const bucket = parseInt(createHash('md5').update(`${exp.id}:user-${i}`).digest('hex').slice(0, 8), 16) / 2 ** 32;
        expect(a.arm).toBe(bucket < 0.3 ? 0 : 1);
        expect(a.version_id).toBe(a.arm === 0 ? control.id : variantIds[0]);
        counts[a.arm!]!++;
      }
      expect(counts[1]! / 400).toBeGreaterThan(0.6);
      expect(counts[1]! / 400).toBeLessThan(0.8);

      await store.setExperimentStatus(exp.id, 'paused');
      expect((await store.assignPrompt(k, 'user-1')).version_id).toBe(control.id);
      await store.setExperimentStatus(exp.id, 'running');
    });

    it('validates experiments: weights, candidates, one live experiment per key, idempotency', async () => {
      const k = key('exp');
      const control = await seedPrompt(k);
      const v = await store.createPromptVersion({ promptKey: k, content: 'v2 {{product}}' });
      await expect(store.createExperiment({ promptKey: k, variantVersionIds: [v.id], weights: [0.5, 0.6] })).rejects.toThrow(/sum to 1/);
      await expect(store.createExperiment({ promptKey: k, variantVersionIds: [control.id] })).rejects.toThrow(/not a candidate/);
      await expect(store.createExperiment({ promptKey: k, variantVersionIds: [] })).rejects.toThrow(/1 to 15/);
      expect(await count('ai_ab_experiments', 'prompt_key = $1', [k])).toBe(0);

      const e1 = await store.createExperiment({ promptKey: k, variantVersionIds: [v.id], idempotencyKey: `${k}-cycle` });
      const again = await store.createExperiment({ promptKey: k, variantVersionIds: [v.id], idempotencyKey: `${k}-cycle` });
      expect(again).toMatchObject({ id: e1.id, created: false });
      await expect(store.createExperiment({ promptKey: k, variantVersionIds: [v.id] })).rejects.toBeInstanceOf(StoreConflictError);
      // Weights that do not sum to 1 are impossible even by direct SQL (deferred constraint trigger).
      await expect(
        target.query('update public.ai_experiment_arms set weight = 0.9 where experiment_id = $1 and arm = 0', [e1.id]),
      ).rejects.toThrow(/sum to/);
    });

    it('attributes conversations to the arm the subject was assigned, and aggregates them in SQL', async () => {
      const k = key('conv');
      const { control, variantIds, exp } = await seedExperiment(k, 1);
      const rows = [];
      for (let i = 0; i < 60; i++) {
        const a = await store.assignPrompt(k, `s-${i}`);
        rows.push({
          prompt_key: k,
          version_id: a.version_id,
          subject_id: `s-${i}`,
          success: i % 3 !== 0,
          rating: 4,
          latency_ms: 100 + i,
          tokens: 200,
          external_id: `${k}-${i}`,
        });
      }
      expect(await store.recordConversations(rows)).toEqual({ received: 60, created: 60 });
      expect(await store.recordConversations(rows.slice(0, 5))).toEqual({ received: 5, created: 0 });
      // A version the subject was not assigned is recorded but not counted for the experiment.
      const s0 = await store.assignPrompt(k, 's-0');
      const wrong = s0.version_id === control.id ? variantIds[0]! : control.id;
      const c = await store.recordConversation({ prompt_key: k, version_id: wrong, subject_id: 's-0', success: true });
      expect(c.experiment_id).toBeNull();

      const stats = await store.experimentArmStats(exp.id);
      expect(stats.map((s) => s.arm)).toEqual([0, 1]);
      expect(stats.reduce((n, s) => n + s.n, 0)).toBe(60);
      expect(stats.reduce((n, s) => n + s.successes, 0)).toBe(40);
      expect(stats[0]!.ratingSum).toBe(stats[0]!.ratingN * 4);
      expect(stats[0]!.latencyP95).toBeGreaterThan(100);
    });

    it('does not count conversations from before the experiment started', async () => {
      const k = key('backfill');
      const { exp } = await seedExperiment(k, 1);
      const a = await store.assignPrompt(k, 'late-flush');
      const before = new Date(Date.parse(exp.created_at) - 3_600_000).toISOString();
      const old = await store.recordConversation({
        prompt_key: k,
        version_id: a.version_id,
        subject_id: 'late-flush',
        success: true,
        created_at: before,
      });
      expect(old).toMatchObject({ experiment_id: null, arm: null });
      const live = await store.recordConversation({ prompt_key: k, version_id: a.version_id, subject_id: 'late-flush', success: true });
      expect(live).toMatchObject({ experiment_id: exp.id, arm: a.arm });
    });

    it('rejects bad conversations with a reason and writes nothing', async () => {
      const k = key('bad-conv');
      const v = await seedPrompt(k);
      const before = await count('ai_conversations');
      await expect(store.recordConversation({ prompt_key: k, version_id: v.id, success: true, rating: 7 })).rejects.toThrow(/rating/);
      await expect(
        store.recordConversation({ prompt_key: k, version_id: '00000000-0000-0000-0000-000000000000', success: true }),
      ).rejects.toThrow(/not a version/);
      await expect(
        store.recordConversations([
          { prompt_key: k, version_id: v.id, success: true },
          { prompt_key: k, version_id: v.id, success: 'yes' as never },
        ]),
      ).rejects.toThrow(/row 2: success/);
      await expect(
        store.recordConversation({ prompt_key: k, version_id: v.id, success: true, created_at: '2999-01-01T00:00:00Z' }),
      ).rejects.toThrow(/future/);
      expect(await count('ai_conversations')).toBe(before);
    });

    it('writes one snapshot per check', async () => {
      const { exp } = await seedExperiment(key('snap'));
      const arms = await store.experimentArmStats(exp.id);
      const decision: Decision = {
        action: 'continue',
        reason: 'r',
        engine: 't',
        variants: [],
        srm: { chiSquare: 0, pValue: 1, mismatch: false },
        gatesMet: false,
      };
      const s1 = await store.writeSnapshot({ experimentId: exp.id, checkNo: 1, arms, decision, memory: { pValues: {} } });
      const s1again = await store.writeSnapshot({ experimentId: exp.id, checkNo: 1, arms, decision, memory: { pValues: { x: 0.5 } } });
      expect(s1.created).toBe(true);
      expect(s1again).toMatchObject({ id: s1.id, created: false, memory: { pValues: {} } });
      await store.writeSnapshot({ experimentId: exp.id, checkNo: 2, arms, decision, memory: { pValues: {} } });
      expect((await store.listSnapshots(exp.id)).map((s) => s.check_no)).toEqual([1, 2]);
      expect((await store.latestSnapshot(exp.id))?.check_no).toBe(2);
    });
  });

  describe('arm statistics for the sequential engine (issue 12)', () => {
    type Row = Omit<ConversationInput, 'prompt_key' | 'version_id' | 'subject_id' | 'external_id'>;

    /**
     * Records rowsByArm[arm] as that arm's conversations. One subject per arm carries them all: a
     * subject's conversations count for the arm it is assigned, so nothing depends on the hash.
     * Each row gets the external id `<key>-<arm>-<index>`, so tests can find it again by SQL.
     */
    async function recordByArm(promptKey: string, rowsByArm: Row[][]): Promise<void> {
      const subjects = new Map<number, { subject: string; versionId: string }>();
      for (let i = 0; rowsByArm.some((_, arm) => !subjects.has(arm)); i++) {
        const a = await store.assignPrompt(promptKey, `subject-${i}`);
        if (!subjects.has(a.arm!)) subjects.set(a.arm!, { subject: `subject-${i}`, versionId: a.version_id });
      }
      const rows: ConversationInput[] = rowsByArm.flatMap((armRows, arm) =>
        armRows.map((r, j) => ({
          prompt_key: promptKey,
          version_id: subjects.get(arm)!.versionId,
          subject_id: subjects.get(arm)!.subject,
          external_id: `${promptKey}-${arm}-${j}`,
          ...r,
        })),
      );
      expect(await store.recordConversations(rows)).toEqual({ received: rows.length, created: rows.length });
    }

    const outcome = (n: number, successes: number, ratingN: number, ratingSum: number, ratingSumSq: number, errors: number) => ({
      n,
      successes,
      ratingN,
      ratingSum,
      ratingSumSq,
      errors,
    });

    it('latency and tokens: N, slow count against factor x control p95, sums and sums of squares', async () => {
      const k = key('seq-latency');
      const { exp } = await seedExperiment(k, 1);
      // Control: latencies 100, 200, ..., 2100 (21 values: p95 = the 20th = 2000 exactly), then two
      // without latency; tokens on the first three only, one of them large enough that its square
      // overflows integer (50,000^2 = 2.5e9).
      const control: Row[] = [
        ...Array.from({ length: 21 }, (_, i) => ({ success: true, latency_ms: 100 * (i + 1), tokens: [10, 20, 50_000][i] })),
        { success: false },
        { success: false },
      ];
      // Variant: 8 latencies, 4 above 2500 (2500 itself is not slower); a token count of 0 counts.
      const variant: Row[] = [100, 500, 2400, 2500, 2501, 2600, 3000, 4000, null, null].map((latency, i) => ({
        success: true,
        ...(latency === null ? {} : { latency_ms: latency }),
        ...(i === 0 ? { tokens: 0 } : i === 1 ? { tokens: 7 } : {}),
      }));
      await recordByArm(k, [control, variant]);

      const [c, v] = await store.experimentArmStats(exp.id);
      // Default factor 1.25: threshold 1.25 x 2000 = 2500, the same on every arm.
      expect(c).toMatchObject({
        arm: 0,
        n: 23,
        latencyP95: 2000,
        latencyN: 21,
        latencyThreshold: 2500,
        latencySlow: 0,
        tokensN: 3,
        tokensSum: 50_030,
        tokensSumSq: 2_500_000_500,
      });
      expect(c!.tokensMean).toBeCloseTo(50_030 / 3, 9);
      expect(v).toMatchObject({
        arm: 1,
        n: 10,
        latencyN: 8,
        latencyThreshold: 2500,
        latencySlow: 4,
        tokensN: 2,
        tokensSum: 7,
        tokensSumSq: 49,
        tokensMean: 3.5,
      });
      // p95 of the variant's 8 latencies: 3000 + 0.65 x (4000 - 3000).
      expect(v!.latencyP95).toBeCloseTo(3650, 6);

      // Factor 0.5: threshold 1000; control has 11 latencies above it (1100..2100), the variant 6.
      const half = await store.experimentArmStats(exp.id, { latencyFactor: 0.5 });
      expect(half.map((a) => [a.latencyThreshold, a.latencySlow])).toEqual([
        [1000, 11],
        [1000, 6],
      ]);
      // The factor moves nothing else.
      expect(half.map(({ latencyThreshold: _t, latencySlow: _s, ...rest }) => rest)).toEqual(
        [c!, v!].map(({ latencyThreshold: _t, latencySlow: _s, ...rest }) => rest),
      );
    });

    it('no latency on control: threshold null and nothing slow; an arm without conversations has zeros', async () => {
      const k = key('seq-nolatency');
      const { exp } = await seedExperiment(k, 2);
      const empty = await store.experimentArmStats(exp.id);
      expect(empty).toHaveLength(3);
      for (const a of empty) {
        expect(a).toMatchObject({
          n: 0,
          latencyP95: null,
          tokensMean: null,
          latencyN: 0,
          latencySlow: 0,
          latencyThreshold: null,
          tokensN: 0,
          tokensSum: 0,
          tokensSumSq: 0,
          topics: [],
          recent: { hours: 24, ...outcome(0, 0, 0, 0, 0, 0) },
        });
      }

      await recordByArm(k, [[{ success: true, tokens: 5 }], [{ success: true, latency_ms: 90_000 }]]);
      const arms = await store.experimentArmStats(exp.id, { latencyFactor: 1 });
      expect(arms.map((a) => [a.arm, a.n, a.latencyN, a.latencyThreshold, a.latencySlow, a.tokensN, a.tokensSum])).toEqual([
        [0, 1, 0, null, 0, 1, 5],
        [1, 1, 1, null, 0, 0, 0],
        [2, 0, 0, null, 0, 0, 0],
      ]);
    });

    it('topics: the most frequent over all arms each apart, the rest and null pooled, ordered by topic (byte order), null last', async () => {
      const k = key('seq-topics');
      const { exp } = await seedExperiment(k, 1);
      const r = (topic: string | null, success: boolean, rating?: number, error?: string): Row => ({
        success,
        ...(topic === null ? {} : { topic }),
        ...(rating === undefined ? {} : { rating }),
        ...(error === undefined ? {} : { error }),
      });
      await recordByArm(k, [
        [
          r('billing', true, 5),
          r('billing', true, 4),
          r('billing', false),
          r('shipping', true, 3),
          r('shipping', false, 3, 'timeout'),
          r('Zeta', true, 1),
          r('alpha', false, undefined, 'x'),
          r(null, true, 2),
        ],
        [
          r('billing', true, 5),
          r('billing', true, 5),
          r('shipping', false),
          r('returns', true, 4),
          r('returns', false, undefined, 'boom'),
          r('alpha', true, 3),
          r('Zeta', false, 2),
        ],
      ]);
      // Over both arms: billing 5, shipping 3, then returns, alpha and Zeta tied at 2 (byte order:
      // "Zeta" < "alpha" < "returns"). Null topics are never ranked.

      // Default (20): every topic its own entry; an arm lists only the topics it has.
      const all = await store.experimentArmStats(exp.id);
      expect(all[0]!.topics).toEqual([
        { topic: 'Zeta', ...outcome(1, 1, 1, 1, 1, 0) },
        { topic: 'alpha', ...outcome(1, 0, 0, 0, 0, 1) },
        { topic: 'billing', ...outcome(3, 2, 2, 9, 41, 0) },
        { topic: 'shipping', ...outcome(2, 1, 2, 6, 18, 1) },
        { topic: null, ...outcome(1, 1, 1, 2, 4, 0) },
      ]);
      expect(all[1]!.topics).toEqual([
        { topic: 'Zeta', ...outcome(1, 0, 1, 2, 4, 0) },
        { topic: 'alpha', ...outcome(1, 1, 1, 3, 9, 0) },
        { topic: 'billing', ...outcome(2, 2, 2, 10, 50, 0) },
        { topic: 'returns', ...outcome(2, 1, 1, 4, 16, 1) },
        { topic: 'shipping', ...outcome(1, 0, 0, 0, 0, 0) },
      ]);

      // Three apart: billing, shipping, Zeta (ranked over all arms: the variant's shipping (1)
      // stays apart while its returns (2) pools). alpha, returns and null pool into topic null.
      const top3 = await store.experimentArmStats(exp.id, { maxTopics: 3 });
      expect(top3[0]!.topics).toEqual([
        { topic: 'Zeta', ...outcome(1, 1, 1, 1, 1, 0) },
        { topic: 'billing', ...outcome(3, 2, 2, 9, 41, 0) },
        { topic: 'shipping', ...outcome(2, 1, 2, 6, 18, 1) },
        { topic: null, ...outcome(2, 1, 1, 2, 4, 1) },
      ]);
      expect(top3[1]!.topics).toEqual([
        { topic: 'Zeta', ...outcome(1, 0, 1, 2, 4, 0) },
        { topic: 'billing', ...outcome(2, 2, 2, 10, 50, 0) },
        { topic: 'shipping', ...outcome(1, 0, 0, 0, 0, 0) },
        { topic: null, ...outcome(3, 2, 2, 7, 25, 1) },
      ]);

      // One apart: billing; everything else pooled.
      const top1 = await store.experimentArmStats(exp.id, { maxTopics: 1 });
      expect(top1.map((a) => a.topics)).toEqual([
        [
          { topic: 'billing', ...outcome(3, 2, 2, 9, 41, 0) },
          { topic: null, ...outcome(5, 3, 4, 9, 23, 2) },
        ],
        [
          { topic: 'billing', ...outcome(2, 2, 2, 10, 50, 0) },
          { topic: null, ...outcome(5, 2, 3, 9, 29, 1) },
        ],
      ]);

      // However they are cut, the strata add up to the arm's totals.
      for (const arms of [all, top3, top1]) {
        for (const a of arms) {
          const sum = (f: keyof ReturnType<typeof outcome>) => a.topics!.reduce((s, t) => s + t[f], 0);
          expect([sum('n'), sum('successes'), sum('ratingN'), sum('ratingSum'), sum('ratingSumSq'), sum('errors')]).toEqual([
            a.n,
            a.successes,
            a.ratingN,
            a.ratingSum,
            a.ratingSumSq,
            a.errors,
          ]);
        }
      }
    });

    it('recent window: counts only conversations created within the last recentHours hours', async () => {
      const k = key('seq-recent');
      const { exp } = await seedExperiment(k, 1);
      await recordByArm(k, [
        [
          { success: true, rating: 5 },
          { success: false, error: 'e' },
          { success: true, rating: 3 },
          { success: false, rating: 1 },
        ],
        [
          { success: true, rating: 4 },
          { success: true, rating: 5 },
          { success: false, error: 'e' },
        ],
      ]);
      // Conversations cannot be recorded in the past once the experiment runs (they would not
      // count for it): age them in place.
      const age = (hours: number, ids: string[]) =>
        target.query(
          `update public.ai_conversations set created_at = now() - make_interval(hours => $1) where external_id = any ($2::text[])`,
          [hours, ids.map((id) => `${k}-${id}`)],
        );
      await age(48, ['0-0', '0-1', '1-0']);
      await age(12, ['0-2']);

      const day = await store.experimentArmStats(exp.id);
      expect(day.map((a) => a.recent)).toEqual([
        { hours: 24, ...outcome(2, 1, 2, 4, 10, 0) },
        { hours: 24, ...outcome(2, 1, 1, 5, 25, 1) },
      ]);
      // The window leaves the cumulative counts alone.
      expect(day.map((a) => a.n)).toEqual([4, 3]);

      const sixHours = await store.experimentArmStats(exp.id, { recentHours: 6 });
      expect(sixHours.map((a) => a.recent)).toEqual([
        { hours: 6, ...outcome(1, 0, 1, 1, 1, 0) },
        { hours: 6, ...outcome(2, 1, 1, 5, 25, 1) },
      ]);
      const threeDays = await store.experimentArmStats(exp.id, { recentHours: 72 });
      expect(threeDays.map((a) => a.recent)).toEqual([
        { hours: 72, ...outcome(4, 2, 3, 9, 35, 1) },
        { hours: 72, ...outcome(3, 2, 2, 9, 41, 1) },
      ]);
      const halfHour = await store.experimentArmStats(exp.id, { recentHours: 0.5 });
      expect(halfHour.map((a) => a.recent)).toEqual([
        { hours: 0.5, ...outcome(1, 0, 1, 1, 1, 0) },
        { hours: 0.5, ...outcome(2, 1, 1, 5, 25, 1) },
      ]);
    });

    it('refuses bad parameters with a validation error naming the parameter; an unknown experiment is not found', async () => {
      const { exp } = await seedExperiment(key('seq-params'), 1);
      const bad: Array<[Parameters<Store['experimentArmStats']>[1], RegExp]> = [
        [{ latencyFactor: 0 }, /latency_factor must be a finite number greater than 0, got 0/],
        [{ latencyFactor: -1.5 }, /latency_factor must be a finite number greater than 0/],
        [{ latencyFactor: Number.NaN }, /latency_factor must be a finite number greater than 0, got NaN/],
        [{ latencyFactor: Number.POSITIVE_INFINITY }, /latency_factor must be a finite number greater than 0, got Infinity/],
        [{ recentHours: 0 }, /recent_hours must be greater than 0/],
        [{ recentHours: -24 }, /recent_hours must be greater than 0/],
        [{ recentHours: 1e7 }, /recent_hours must be greater than 0 and at most 87600/],
        [{ maxTopics: 0 }, /max_topics must be between 1 and 100, got 0/],
        [{ maxTopics: 101 }, /max_topics must be between 1 and 100, got 101/],
      ];
      for (const [options, message] of bad) {
        const err = await store.experimentArmStats(exp.id, options).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, JSON.stringify(options)).toBeInstanceOf(StoreValidationError);
        expect((err as Error).message, JSON.stringify(options)).toMatch(message);
      }
      // The bounds themselves are accepted.
      await expect(store.experimentArmStats(exp.id, { maxTopics: 1, recentHours: 87_600 })).resolves.toHaveLength(2);
      await expect(store.experimentArmStats(exp.id, { maxTopics: 100, latencyFactor: 1e-9 })).resolves.toHaveLength(2);
      await expect(store.experimentArmStats('00000000-0000-0000-0000-000000000000')).rejects.toBeInstanceOf(StoreNotFoundError);
      await expect(
        store.experimentArmStats('00000000-0000-0000-0000-000000000000', { latencyFactor: 1.5, recentHours: 1, maxTopics: 5 }),
      ).rejects.toBeInstanceOf(StoreNotFoundError);
    });
  });

  describe('promotion and rollback', () => {
    it('promotes atomically, once, and rolls back to the previous version', async () => {
      const k = key('promote');
      const { control, variantIds, exp } = await seedExperiment(k, 2);
      const first = await store.promoteVariant({
        experimentId: exp.id,
        versionId: variantIds[1]!,
        kind: 'auto',
        actor: 'optimizer',
        reason: 'won',
      });
      expect(first).toMatchObject({ created: true, from_version_id: control.id, to_version_id: variantIds[1] });
      const second = await store.promoteVariant({
        experimentId: exp.id,
        versionId: variantIds[1]!,
        kind: 'auto',
        actor: 'optimizer',
        reason: 'won',
      });
      expect(second).toMatchObject({ id: first.id, created: false });
      await expect(
        store.promoteVariant({ experimentId: exp.id, versionId: variantIds[0]!, kind: 'auto', actor: 'x', reason: 'y' }),
      ).rejects.toBeInstanceOf(StoreConflictError);

      const versions = await store.listPromptVersions(k);
      expect(versions.map((v) => [v.id, v.status])).toEqual([
        [control.id, 'archived'],
        [variantIds[0], 'rejected'],
        [variantIds[1], 'active'],
      ]);
      expect(await store.getExperiment(exp.id)).toMatchObject({
        status: 'concluded',
        outcome: 'promoted',
        winner_version_id: variantIds[1],
      });
      expect(await count('ai_promotion_events', 'experiment_id = $1', [exp.id])).toBe(1);

      const rb = await store.rollbackPrompt(k, 'alice', 'support tickets went up');
      expect(rb).toMatchObject({ kind: 'rollback', from_version_id: variantIds[1], to_version_id: control.id, actor: 'alice' });
      expect((await store.getActivePrompt(k)).id).toBe(control.id);
      await expect(store.rollbackPrompt(k, 'alice', 'again')).rejects.toThrow(/no earlier version/);
    });

    it('concludes without promotion, idempotently, and never reopens', async () => {
      const k = key('conclude');
      const { control, variantIds, exp } = await seedExperiment(k);
      const c1 = await store.concludeExperiment({ experimentId: exp.id, outcome: 'kept_control', reason: 'no winner' });
      expect(c1).toMatchObject({ status: 'concluded', outcome: 'kept_control', created: true });
      expect(await store.concludeExperiment({ experimentId: exp.id, outcome: 'kept_control', reason: 'no winner' })).toMatchObject({
        created: false,
      });
      await expect(
        store.promoteVariant({ experimentId: exp.id, versionId: variantIds[0]!, kind: 'approval', actor: 'bob', reason: 'late' }),
      ).rejects.toBeInstanceOf(StoreConflictError);
      expect((await store.getActivePrompt(k)).id).toBe(control.id);
      expect((await store.getPromptVersion(variantIds[0]!)).status).toBe('rejected');
      await expect(store.setExperimentStatus(exp.id, 'paused')).rejects.toBeInstanceOf(StoreConflictError);
      await expect(store.rollbackPrompt(k, 'a', 'b')).rejects.toThrow(/no earlier version/);
    });
  });

  describe('pattern analysis', () => {
    it('finds a weak segment, updates the same insight hourly, resolves it when it goes away', async () => {
      const k = key('analysis');
      const v = await seedPrompt(k);
      const now = Date.now();
      const rows = [];
      for (let i = 0; i < 600; i++) {
        const billing = i % 4 === 0;
        rows.push({
          prompt_key: k,
          version_id: v.id,
          topic: billing ? 'billing' : 'general',
          success: billing ? i % 8 === 0 : i % 10 !== 1, // billing 50%, general 90%
          tokens: billing ? 900 : 300,
          latency_ms: 500,
          rating: billing ? 2 : 4,
          created_at: new Date(now - (i % 50) * 60_000).toISOString(),
        });
      }
      await store.recordConversations(rows);
      const first = await store.analyzePrompt(k, { windowHours: 24 });
      expect(first.overall.n).toBe(600);
      const seg = first.insights.find((i) => i.kind === 'low_success_segment');
      expect(seg).toMatchObject({ segment: 'billing', is_actionable: true, severity: 'high', occurrences: 1 });
      expect(seg!.evidence).toMatchObject({ n: 150, rate: 0.5 });
      expect(first.insights.some((i) => i.kind === 'verbosity')).toBe(true);
      expect(first.actionable).toBeGreaterThan(0);

      const second = await store.analyzePrompt(k, { windowHours: 24 });
      const seg2 = second.insights.find((i) => i.kind === 'low_success_segment');
      expect(seg2).toMatchObject({ id: seg!.id, occurrences: 2 });
      expect(await count('ai_pattern_insights', 'prompt_key = $1 and kind = $2', [k, 'low_success_segment'])).toBe(1);

      // An hour window far in the future sees no traffic: the insights no longer hold.
      const later = await store.analyzePrompt(k, { windowHours: 1, now: new Date(now + 48 * 3_600_000) });
      expect(later.insights).toEqual([]);
      expect(await store.listInsights(k, 'open')).toEqual([]);
      expect((await store.listInsights(k, 'resolved')).length).toBeGreaterThan(0);

      const traffic = await store.promptKeysWithTraffic(new Date(now - 3_600_000 * 2));
      expect(traffic).toEqual(
        expect.arrayContaining([expect.objectContaining({ prompt_key: k, conversations: 600, live_experiment: false })]),
      );
    });
  });
});
