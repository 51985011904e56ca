import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreConflictError, StoreNotFoundError, StoreValidationError, type Store } from '../../src/store';
import type { MigrationTarget } from '../../src/store/migrate';
import { backends } from '../helpers/backends';

/**
 * The variant-review functions (migration 20261201001000) on every backend: requests are
 * idempotent, decisions are final, rejection retires the version, expiry leaves it a candidate,
 * and no version waiting for review can get into an experiment, whoever asks.
 */
describe.each(backends)('variant reviews on $name', (backend) => {
  let store: Store;
  let target: MigrationTarget;
  let cleanup: () => Promise<void>;
  let seq = 0;
  const deadline = new Date(Date.now() + 3_600_000);

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

  /** A key with an active control and `n` candidate variants. */
  async function seed(n = 2) {
    const k = `review-${++seq}`;
    const control = await store.createPromptVersion({ promptKey: k, content: 'You help with {{product}}.', activate: true });
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      ids.push(
        (
          await store.createPromptVersion({
            promptKey: k,
            content: `${control.content}\nRule ${i}.`,
            parentVersionId: control.id,
            strategy: 'llm',
            rationale: `r${i}`,
          })
        ).id,
      );
    }
    return { k, control, ids, workflowId: `job-${k}` };
  }

  it('opens one pending review per version, with the texts a reviewer needs, and finds them again on retry', async () => {
    const { k, control, ids, workflowId } = await seed();
    const rows = await store.requestVariantReviews({ promptKey: k, versionIds: ids, workflowId, deadline });
    expect(rows.map((r) => [r.version_id, r.status, r.workflow_id])).toEqual(ids.map((id) => [id, 'pending', workflowId]));
    expect(rows[0]).toMatchObject({
      prompt_key: k,
      content: 'You help with {{product}}.\nRule 0.',
      rationale: 'r0',
      strategy: 'llm',
      version: 2,
      version_status: 'candidate',
      parent_version_id: control.id,
      parent_content: control.content,
      decided_by: null,
      decided_at: null,
    });
    expect(Date.parse(rows[0]!.deadline)).toBe(deadline.getTime());
    const again = await store.requestVariantReviews({ promptKey: k, versionIds: [...ids].reverse(), workflowId, deadline });
    expect(again.map((r) => r.id)).toEqual(rows.map((r) => r.id).reverse());
    expect(await count('ai_variant_reviews', 'prompt_key = $1', [k])).toBe(2);
  });

  it('refuses bad requests and writes nothing', async () => {
    const { k, control, ids, workflowId } = await seed(1);
    const before = await count('ai_variant_reviews');
    const bad: Array<[Parameters<Store['requestVariantReviews']>[0], RegExp]> = [
      [{ promptKey: k, versionIds: [], workflowId, deadline }, /1 to 15 versions/],
      [{ promptKey: k, versionIds: [ids[0]!, ids[0]!], workflowId, deadline }, /must not repeat/],
      [{ promptKey: k, versionIds: [control.id], workflowId, deadline }, /not a candidate version/],
      [{ promptKey: 'other-key', versionIds: ids, workflowId, deadline }, /not a candidate version/],
      [{ promptKey: k, versionIds: ids, workflowId: '', deadline }, /workflow_id/],
      [{ promptKey: k, versionIds: ids, workflowId: 'x'.repeat(201), deadline }, /workflow_id/],
      [{ promptKey: 'bad key!', versionIds: ids, workflowId, deadline }, /prompt_key/],
    ];
    for (const [input, message] of bad) {
      const err = await store.requestVariantReviews(input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreValidationError);
      expect((err as Error).message).toMatch(message);
    }
    expect(await count('ai_variant_reviews')).toBe(before);
  });

  it('no version waiting for review can be put into an experiment, even by a direct call', async () => {
    const { k, ids, workflowId } = await seed(1);
    await store.requestVariantReviews({ promptKey: k, versionIds: ids, workflowId, deadline });
    const err = await store.createExperiment({ promptKey: k, variantVersionIds: ids }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreConflictError);
    expect((err as Error).message).toMatch(/waiting for review/);
    expect(await count('ai_ab_experiments', 'prompt_key = $1', [k])).toBe(0);
    expect(await count('ai_experiment_arms a join public.ai_prompt_versions v on v.id = a.version_id', 'v.prompt_key = $1', [k])).toBe(0);
  });

  it('accepting is final and repeatable; rejecting retires the version; accepted versions can run', async () => {
    const { k, ids, workflowId } = await seed(2);
    const [a, b] = ids as [string, string];
    await store.requestVariantReviews({ promptKey: k, versionIds: ids, workflowId, deadline });

    const accepted = await store.decideVariantReview({
      versionId: a,
      workflowId,
      decision: 'accepted',
      reviewer: 'alice',
      note: 'reads well',
    });
    expect(accepted).toMatchObject({
      status: 'accepted',
      decided_by: 'alice',
      note: 'reads well',
      created: true,
      version_status: 'candidate',
    });
    expect(accepted.decided_at).not.toBeNull();
    const again = await store.decideVariantReview({ versionId: a, workflowId, decision: 'accepted', reviewer: 'alice' });
    expect(again).toMatchObject({ id: accepted.id, created: false, note: 'reads well' });
    const flip = await store
      .decideVariantReview({ versionId: a, workflowId, decision: 'rejected', reviewer: 'bob' })
      .catch((e: unknown) => e);
    expect(flip).toBeInstanceOf(StoreConflictError);
    expect((flip as Error).message).toMatch(/already accepted/);

    const rejected = await store.decideVariantReview({ versionId: b, workflowId, decision: 'rejected', reviewer: 'bob' });
    expect(rejected).toMatchObject({ status: 'rejected', decided_by: 'bob', version_status: 'rejected', created: true });
    expect((await store.getPromptVersion(b)).status).toBe('rejected');
    await expect(store.createExperiment({ promptKey: k, variantVersionIds: [b] })).rejects.toThrow(/not a candidate/);
    const exp = await store.createExperiment({ promptKey: k, variantVersionIds: [a] });
    expect(exp.arms.map((arm) => arm.version_id)).toContain(a);
  });

  it('refuses bad decisions and unknown reviews, changing nothing', async () => {
    const { k, ids, workflowId } = await seed(1);
    const id = ids[0]!;
    await store.requestVariantReviews({ promptKey: k, versionIds: ids, workflowId, deadline });
    await expect(store.decideVariantReview({ versionId: id, workflowId, decision: 'maybe' as never, reviewer: 'a' })).rejects.toThrow(
      /accepted or rejected/,
    );
    await expect(store.decideVariantReview({ versionId: id, workflowId, decision: 'accepted', reviewer: '  ' })).rejects.toThrow(
      /reviewer/,
    );
    await expect(
      store.decideVariantReview({ versionId: id, workflowId, decision: 'accepted', reviewer: 'a', note: 'n'.repeat(2001) }),
    ).rejects.toThrow(/note/);
    await expect(
      store.decideVariantReview({ versionId: id, workflowId: 'job-other', decision: 'accepted', reviewer: 'a' }),
    ).rejects.toBeInstanceOf(StoreNotFoundError);
    expect((await store.listVariantReviews({ versionId: id }))[0]).toMatchObject({ status: 'pending', decided_by: null });
  });

  it('expiry ends what is pending, leaves the versions candidates, and refuses later decisions', async () => {
    const { k, ids, workflowId } = await seed(2);
    await store.requestVariantReviews({ promptKey: k, versionIds: ids, workflowId, deadline });
    await store.decideVariantReview({ versionId: ids[0]!, workflowId, decision: 'accepted', reviewer: 'alice' });
    const expired = await store.expireVariantReviews(workflowId);
    expect(expired.map((r) => [r.version_id, r.status, r.decided_by])).toEqual([[ids[1], 'expired', null]]);
    expect(expired[0]!.decided_at).not.toBeNull();
    expect(await store.expireVariantReviews(workflowId)).toEqual([]);
    expect((await store.getPromptVersion(ids[1]!)).status).toBe('candidate');
    await expect(store.decideVariantReview({ versionId: ids[1]!, workflowId, decision: 'accepted', reviewer: 'late' })).rejects.toThrow(
      /already expired/,
    );
    // A later cycle proposing the same version asks again.
    const later = await store.requestVariantReviews({ promptKey: k, versionIds: [ids[1]!], workflowId: `${workflowId}-2`, deadline });
    expect(later[0]).toMatchObject({ status: 'pending' });
  });

  it('lists by status, key and version, newest first; null lists every status', async () => {
    const { k, ids, workflowId } = await seed(2);
    await store.requestVariantReviews({ promptKey: k, versionIds: ids, workflowId, deadline });
    await store.decideVariantReview({ versionId: ids[0]!, workflowId, decision: 'rejected', reviewer: 'carol' });
    expect((await store.listVariantReviews({ promptKey: k })).map((r) => r.version_id)).toEqual([ids[1]]);
    expect((await store.listVariantReviews({ promptKey: k, status: 'rejected' })).map((r) => r.decided_by)).toEqual(['carol']);
    expect((await store.listVariantReviews({ promptKey: k, status: null })).map((r) => r.version_id).sort()).toEqual([...ids].sort());
    expect((await store.listVariantReviews({ versionId: ids[1]!, status: null })).map((r) => r.workflow_id)).toEqual([workflowId]);
    expect(await store.listVariantReviews({ promptKey: k, status: null, limit: 1 })).toHaveLength(1);
    await expect(store.listVariantReviews({ status: 'nope' as never })).rejects.toThrow(/status must be/);
    await expect(store.listVariantReviews({ limit: 0 })).rejects.toThrow(/limit/);
    await expect(store.listVariantReviews({ promptKey: 'bad key!' })).rejects.toThrow(/prompt_key/);
  });
});
