import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision } from '../../src/domain/types';
import { StoreConflictError, StoreNotFoundError, StoreValidationError, type Store } from '../../src/store';
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
