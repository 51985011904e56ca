import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewParams, reviewsTable } from '../../src/starter/reviews';
import type { VariantReviewRow } from '../../src/store';
import { ADMIN_TOKEN, startTestService, type TestService } from '../helpers/service';
import { runStarter } from '../helpers/starter';
import { FAST_POLICY, seedPromptWithWeakSegment, waitFor } from '../helpers/traffic';

/**
 * Review before exposure from the starter CLI (a real child process) against the real worker:
 * a cycle asked to wait for review, the pending variant listed, accepted, and the cycle going on.
 */
describe('starter CLI: review before exposure', () => {
  let svc: TestService;

  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => svc?.teardown());

  const cli = (args: string[]) => runStarter(args, { WORKER_URL: svc.baseUrl, ADMIN_API_TOKEN: ADMIN_TOKEN });

  it('cycle --review waits; reviews lists the variant; review:accept lets the cycle create its experiment', async () => {
    const k = `cli-review-${Date.now().toString(36)}`;
    await seedPromptWithWeakSegment(svc.store, k);
    const started = await cli([
      '--json',
      'cycle',
      k,
      '--variants',
      '1',
      '--review',
      '--review-timeout',
      '2',
      '--policy',
      JSON.stringify(FAST_POLICY),
    ]);
    expect(started.code, started.stderr).toBe(0);
    const job = (JSON.parse(started.stdout) as { job: { id: number; params: Record<string, unknown> } }).job;
    expect(job.params).toMatchObject({ promptKey: k, review: true, reviewTimeoutHours: 2 });

    const pending = await waitFor(
      async () => {
        const r = await cli(['--json', 'reviews', '--prompt-key', k]);
        const { reviews } = JSON.parse(r.stdout) as { reviews: VariantReviewRow[] };
        return reviews.length === 1 ? reviews[0] : undefined;
      },
      { what: 'a pending review' },
    );
    expect(await svc.store.listExperiments({ promptKey: k })).toEqual([]);
    const listed = await cli(['reviews', '--prompt-key', k]);
    expect(listed.stdout).toMatch(new RegExp(`^${pending.version_id}\\s+${k}\\s+v2\\s+rules\\s+pending`, 'm'));

    const accepted = await cli(['review:accept', pending.version_id, '--reviewer', 'alice', '--note', 'checked the diff']);
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(accepted.stdout).toContain(`accepted by alice: ${k} v2 (${pending.version_id}); every variant of the cycle is decided`);
    const flip = await cli(['review:reject', pending.version_id, '--reviewer', 'bob']);
    expect(flip.code).toBe(1);
    expect(flip.stderr).toMatch(/already accepted \(HTTP 409\)/);
    const usage = await cli(['review:accept', 'not-a-uuid', '--reviewer', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/must be a version id/);

    const exp = await waitFor(async () => (await svc.store.listExperiments({ promptKey: k, status: 'running' }))[0], {
      what: 'experiment after review',
    });
    expect(exp.arms.map((a) => a.version_id)).toContain(pending.version_id);
    const decided = await cli(['reviews', '--prompt-key', k, '--status', 'accepted']);
    expect(decided.stdout).toMatch(/accepted\s+\S+ ago\s+-\s+alice$/m);
    await svc.temporal.client.workflow.getHandle(`job-${job.id}`).terminate('test done');
  });
});

describe('review output and parameters', () => {
  const row = (over: Partial<VariantReviewRow>): VariantReviewRow => ({
    id: 'r',
    prompt_key: 'support',
    version_id: '5b1e0c2a-0000-4000-8000-000000000000',
    workflow_id: 'job-1',
    status: 'pending',
    requested_at: '2026-12-01T10:00:00Z',
    deadline: '2026-12-04T10:00:00Z',
    decided_by: null,
    note: null,
    decided_at: null,
    version: 3,
    content: 'x',
    rationale: null,
    strategy: 'llm',
    version_status: 'candidate',
    parent_version_id: null,
    parent_content: null,
    ...over,
  });

  it('lists full version ids, the deadline of pending reviews and who decided the others', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    expect(reviewsTable([row({}), row({ status: 'rejected', decided_by: 'bob', version: 4 })], now).split('\n')).toEqual([
      'version id                            prompt   ver  strategy  status    requested  deadline                      decided by',
      '5b1e0c2a-0000-4000-8000-000000000000  support  v3   llm       pending   2h ago     2026-12-04 10:00:00Z (in 3d)  -',
      '5b1e0c2a-0000-4000-8000-000000000000  support  v4   llm       rejected  2h ago     -                             bob',
    ]);
    expect(reviewsTable([], now)).toBe('no reviews');
  });

  it('passes only the review options given', () => {
    expect(reviewParams({})).toEqual({});
    expect(reviewParams({ review: false })).toEqual({ review: false });
    expect(reviewParams({ review: true, reviewTimeout: 5 })).toEqual({ review: true, reviewTimeoutHours: 5 });
  });
});
