import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreValidationError, type ConversationInput, type Store } from '../../src/store';
import type { MigrationTarget } from '../../src/store/migrate';
import { backends } from '../helpers/backends';

/**
 * The server side of the host-app SDK on every backend (PGlite and PostgreSQL run the same SQL):
 * the serving snapshot, conversations in batches with one result per row, and late feedback that
 * the analysis and the experiment statistics then see.
 */
describe.each(backends)('host-app SDK functions on $name', (backend) => {
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

  async function seedExperiment(promptKey: string, weights: number[]) {
    const control = await store.createPromptVersion({ promptKey, content: `Control of ${promptKey} for {{product}}.`, activate: true });
    const variants = [];
    for (let i = 1; i < weights.length; i++) {
      variants.push(
        await store.createPromptVersion({ promptKey, content: `${control.content}\nVariant ${i}.`, parentVersionId: control.id }),
      );
    }
    const exp = await store.createExperiment({ promptKey, variantVersionIds: variants.map((v) => v.id), weights });
    return { control, variants, exp };
  }

  describe('serving_snapshot', () => {
    it('lists active versions and live experiments with arms, weights and content; deterministic', async () => {
      const plain = key('serve-plain');
      const v1 = await store.createPromptVersion({ promptKey: plain, content: 'Plain prompt {{x}}.', activate: true });
      await store.createPromptVersion({ promptKey: plain, content: 'A candidate nobody serves.' });
      const candidateOnly = key('serve-candidate-only');
      await store.createPromptVersion({ promptKey: candidateOnly, content: 'Not active yet.' });
      const exp = key('serve-exp');
      const { control, variants, exp: e } = await seedExperiment(exp, [0.2, 0.3, 0.5]);

      const snap = await store.servingSnapshot([plain, exp, candidateOnly, 'no-such-key']);
      expect(snap.prompts.map((p) => p.promptKey)).toEqual([plain, exp].sort());
      const p = snap.prompts.find((x) => x.promptKey === plain)!;
      expect(p).toEqual({ promptKey: plain, active: { versionId: v1.id, version: 1, content: 'Plain prompt {{x}}.' }, experiment: null });
      const x = snap.prompts.find((y) => y.promptKey === exp)!;
      expect(x.active).toEqual({ versionId: control.id, version: 1, content: control.content });
      expect(x.experiment).toEqual({
        kind: 'experiment',
        experimentId: e.id,
        status: 'running',
        paused: false,
        arms: [
          { arm: 0, versionId: control.id, version: 1, weight: 0.2, content: control.content },
          { arm: 1, versionId: variants[0]!.id, version: 2, weight: 0.3, content: variants[0]!.content },
          { arm: 2, versionId: variants[1]!.id, version: 3, weight: 0.5, content: variants[1]!.content },
        ],
      });
      // Same state, same document (the HTTP layer's ETag depends on it).
      expect(JSON.stringify(await store.servingSnapshot([plain, exp]))).toBe(JSON.stringify(await store.servingSnapshot([exp, plain])));
      const all = await store.servingSnapshot();
      expect(all.prompts.map((q) => q.promptKey)).toEqual(expect.arrayContaining([plain, exp]));
      expect(all.prompts.map((q) => q.promptKey)).not.toContain(candidateOnly);
      expect(await store.servingSnapshot([])).toEqual({ prompts: [] });
    });

    it('shows a paused experiment as paused, and a concluded one not at all', async () => {
      const k = key('serve-pause');
      const { exp } = await seedExperiment(k, [0.5, 0.5]);
      await store.setExperimentStatus(exp.id, 'paused');
      expect((await store.servingSnapshot([k])).prompts[0]!.experiment).toMatchObject({
        experimentId: exp.id,
        status: 'paused',
        paused: true,
      });
      await store.concludeExperiment({ experimentId: exp.id, outcome: 'stopped', reason: 'test' });
      expect((await store.servingSnapshot([k])).prompts[0]!.experiment).toBeNull();
    });

    it('refuses bad keys and too many keys', async () => {
      await expect(store.servingSnapshot(['ok', 'bad key!'])).rejects.toThrow(/prompt_key must be/);
      await expect(store.servingSnapshot(Array.from({ length: 1001 }, (_, i) => `k${i}`))).rejects.toBeInstanceOf(StoreValidationError);
    });
  });

  describe('record_conversation_batch', () => {
    it('gives one result per row in order, writes the good rows only, and dedupes by external_id', async () => {
      const k = key('batch');
      const other = key('batch-other');
      const v = await store.createPromptVersion({ promptKey: k, content: 'Batch prompt.', activate: true });
      const foreign = await store.createPromptVersion({ promptKey: other, content: 'Other prompt.', activate: true });
      const before = await count('ai_conversations');
      const row = (i: number, extra: Partial<ConversationInput> = {}): ConversationInput => ({
        prompt_key: k,
        version_id: v.id,
        success: i % 2 === 0,
        subject_id: `u${i}`,
        external_id: `${k}-${i}`,
        ...extra,
      });
      const res = await store.recordConversationBatch([
        row(0),
        row(1, { rating: 9 }),
        row(2),
        row(3, { version_id: foreign.id }),
        row(0),
        row(4, { external_id: undefined }),
        row(5, { created_at: '2999-01-01T00:00:00Z' }),
        'not an object' as never,
        row(6, { topic: 'billing', latency_ms: 120, tokens: 300, rating: 4 }),
      ]);
      expect(res).toMatchObject({ received: 9, created: 3, duplicates: 1, errors: 5 });
      expect(res.results.map((r) => [r.index, r.status])).toEqual([
        [0, 'created'],
        [1, 'error'],
        [2, 'created'],
        [3, 'error'],
        [4, 'duplicate'],
        [5, 'error'],
        [6, 'error'],
        [7, 'error'],
        [8, 'created'],
      ]);
      const errors = res.results.filter((r) => r.status === 'error').map((r) => (r as { error: string }).error);
      expect(errors).toEqual([
        expect.stringMatching(/^rating must be/),
        expect.stringMatching(/is not a version of prompt key/),
        expect.stringMatching(/^external_id is required/),
        expect.stringMatching(/future/),
        expect.stringMatching(/JSON object/),
      ]);
      expect(res.results[4]).toMatchObject({ status: 'duplicate', id: (res.results[0] as { id: number }).id, external_id: `${k}-0` });
      expect((await count('ai_conversations')) - before).toBe(3);
      expect(await count('ai_conversations', 'external_id = $1 and topic = $2 and rating = 4', [`${k}-6`, 'billing'])).toBe(1);

      // The same batch again (a retry after a lost answer): nothing new, every good row a duplicate.
      const again = await store.recordConversationBatch([row(0), row(2), row(6)]);
      expect(again).toMatchObject({ created: 0, duplicates: 3, errors: 0 });
      expect((await count('ai_conversations')) - before).toBe(3);
    });

    it('attributes rows to the experiment arm exactly as record_conversation does', async () => {
      const k = key('batch-arm');
      const { exp } = await seedExperiment(k, [0.5, 0.5]);
      const rows: ConversationInput[] = [];
      for (let i = 0; i < 40; i++) {
        const a = await store.assignPrompt(k, `s${i}`);
        rows.push({ prompt_key: k, version_id: a.version_id, subject_id: `s${i}`, success: true, external_id: `${k}-${i}` });
      }
      const res = await store.recordConversationBatch(rows);
      expect(res.created).toBe(40);
      for (let i = 0; i < 40; i++) {
        const a = await store.assignPrompt(k, `s${i}`);
        expect(res.results[i]).toMatchObject({ status: 'created', experiment_id: exp.id, arm: a.arm });
      }
      const stats = await store.experimentArmStats(exp.id);
      expect(stats.reduce((n, s) => n + s.n, 0)).toBe(40);
    });

    it('refuses a malformed call as a whole and writes nothing', async () => {
      const k = key('batch-bad');
      const v = await store.createPromptVersion({ promptKey: k, content: 'p', activate: true });
      const before = await count('ai_conversations');
      const rows = Array.from({ length: 501 }, (_, i) => ({ prompt_key: k, version_id: v.id, success: true, external_id: `${k}-${i}` }));
      await expect(store.recordConversationBatch(rows)).rejects.toThrow(/1 to 500/);
      await expect(store.recordConversationBatch([])).rejects.toThrow(/1 to 500/);
      await expect(store.recordConversationBatch({ rows } as never)).rejects.toThrow(/JSON array/);
      expect(await count('ai_conversations')).toBe(before);
    });

    // Real parallel connections exist on PostgreSQL only (PGlite is one connection): defined there, not skipped here.
    if (backend.name === 'postgres')
      it('stores each external_id once when the same rows arrive concurrently', async () => {
        const k = key('batch-race');
        const v = await store.createPromptVersion({ promptKey: k, content: 'race', activate: true });
        const rows = Array.from({ length: 200 }, (_, i) => ({ prompt_key: k, version_id: v.id, success: true, external_id: `${k}-${i}` }));
        const results = await Promise.all([0, 1, 2, 3].map((j) => store.recordConversationBatch(j % 2 ? [...rows].reverse() : rows)));
        expect(results.reduce((n, r) => n + r.created, 0)).toBe(200);
        expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(600);
        expect(await count('ai_conversations', 'prompt_key = $1', [k])).toBe(200);
      });
  });

  describe('record_feedback', () => {
    async function logged(k: string, n: number, extra: (i: number) => Partial<ConversationInput> = () => ({})) {
      const v = await store.createPromptVersion({ promptKey: k, content: `Feedback prompt ${k}.`, activate: true });
      const rows = Array.from({ length: n }, (_, i) => ({
        prompt_key: k,
        version_id: v.id,
        success: true,
        subject_id: `u${i}`,
        external_id: `${k}-${i}`,
        ...extra(i),
      }));
      expect((await store.recordConversationBatch(rows)).created).toBe(n);
      return v;
    }

    it('updates the outcome, records each change once, and is idempotent', async () => {
      const k = key('fb');
      await logged(k, 3);
      const first = await store.recordFeedback([
        { external_id: `${k}-0`, success: false, rating: 1 },
        { external_id: `${k}-1`, rating: 5 },
        { external_id: `${k}-missing`, success: true },
      ]);
      expect(first).toMatchObject({ received: 3, updated: 2 });
      expect(first.results).toEqual([
        expect.objectContaining({
          index: 0,
          status: 'updated',
          success: false,
          rating: 1,
          previous_success: true,
          previous_rating: null,
          changed_at: expect.any(String),
        }),
        expect.objectContaining({ index: 1, status: 'updated', success: true, rating: 5 }),
        expect.objectContaining({ index: 2, status: 'not_found', external_id: `${k}-missing` }),
      ]);
      const again = await store.recordFeedback([{ external_id: `${k}-0`, success: false, rating: 1 }]);
      expect(again.results[0]).toMatchObject({ status: 'unchanged', changed_at: first.results[0]!.changed_at });
      expect(await count('ai_conversation_feedback', 'external_id like $1', [`${k}-%`])).toBe(2);

      // A thumbs-up after the thumbs-down: the latest wins, both changes are in the history.
      await store.recordFeedback([{ external_id: `${k}-0`, success: true }]);
      const { rows } = await target.query<{ success: boolean; rating: number | null }>(
        'select success, rating from public.ai_conversations where external_id = $1',
        [`${k}-0`],
      );
      expect(rows[0]).toEqual({ success: true, rating: 1 });
      const history = await target.query<{ previous_success: boolean; success: boolean }>(
        'select previous_success, success from public.ai_conversation_feedback where external_id = $1 order by id',
        [`${k}-0`],
      );
      expect(history.rows).toEqual([
        { previous_success: true, success: false },
        { previous_success: false, success: true },
      ]);
    });

    it('leaves conversations older than the window alone', async () => {
      const k = key('fb-window');
      const eightDaysAgo = new Date(Date.now() - 8 * 86_400_000).toISOString();
      const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000).toISOString();
      await logged(k, 2, (i) => ({ created_at: i === 0 ? eightDaysAgo : twoHoursAgo }));
      const res = await store.recordFeedback([
        { external_id: `${k}-0`, success: false },
        { external_id: `${k}-1`, success: false },
      ]);
      expect(res.results.map((r) => r.status)).toEqual(['window_closed', 'updated']);
      // A one-hour window closes on the second one too.
      const narrow = await store.recordFeedback([{ external_id: `${k}-1`, success: true }], { windowSeconds: 3_600 });
      expect(narrow.results[0]).toMatchObject({ status: 'window_closed', success: false });
      expect(await count('ai_conversations', 'external_id = $1 and success', [`${k}-0`])).toBe(1);
    });

    it('reports bad items one by one and refuses a malformed call', async () => {
      const k = key('fb-bad');
      await logged(k, 1);
      const res = await store.recordFeedback([
        { external_id: `${k}-0` },
        { external_id: `${k}-0`, rating: 6 },
        { external_id: '', success: true },
        { external_id: `${k}-0`, success: 'no' as never },
        7 as never,
        { external_id: `${k}-0`, rating: 3 },
      ]);
      expect(res.results.map((r) => r.status)).toEqual(['error', 'error', 'error', 'error', 'error', 'updated']);
      expect(res.results.slice(0, 5).map((r) => r.error)).toEqual([
        'feedback needs success or rating',
        'rating must be an integer from 1 to 5',
        'external_id must be 1-200 characters',
        'success must be true or false',
        'each feedback item must be a JSON object',
      ]);
      await expect(store.recordFeedback([])).rejects.toThrow(/1 to 500/);
      await expect(store.recordFeedback([{ external_id: 'x', success: true }], { windowSeconds: 10 })).rejects.toThrow(/window_seconds/);
      await expect(store.recordFeedback({} as never)).rejects.toBeInstanceOf(StoreValidationError);
    });

    it('the analysis and the experiment statistics use the latest outcome', async () => {
      const k = key('fb-stats');
      const { exp } = await seedExperiment(k, [0.5, 0.5]);
      const rows: ConversationInput[] = [];
      for (let i = 0; i < 80; i++) {
        const a = await store.assignPrompt(k, `s${i}`);
        rows.push({
          prompt_key: k,
          version_id: a.version_id,
          subject_id: `s${i}`,
          success: true,
          rating: 5,
          topic: 'general',
          external_id: `${k}-${i}`,
        });
      }
      await store.recordConversationBatch(rows);
      const controlRows = rows.filter((r) => r.version_id === exp.arms[0]!.version_id);
      const before = await store.experimentArmStats(exp.id);
      expect(before[0]).toMatchObject({ n: controlRows.length, successes: controlRows.length, ratingSum: 5 * controlRows.length });
      const analysisBefore = await store.analyzePrompt(k, { minSamples: 5 });
      expect(analysisBefore.overall).toMatchObject({ n: controlRows.length, successes: controlRows.length });

      // Half of the control's conversations turn out to have failed, rated 1, minutes later.
      const flipped = controlRows.filter((_, i) => i % 2 === 0);
      const res = await store.recordFeedback(flipped.map((r) => ({ external_id: r.external_id!, success: false, rating: 1 })));
      expect(res.updated).toBe(flipped.length);

      const after = await store.experimentArmStats(exp.id);
      expect(after[0]).toMatchObject({
        n: controlRows.length,
        successes: controlRows.length - flipped.length,
        ratingSum: 5 * (controlRows.length - flipped.length) + flipped.length,
      });
      expect(after[1]).toEqual(before[1]);
      const analysisAfter = await store.analyzePrompt(k, { minSamples: 5 });
      expect(analysisAfter.overall).toMatchObject({ n: controlRows.length, successes: controlRows.length - flipped.length });
    });
  });
});
