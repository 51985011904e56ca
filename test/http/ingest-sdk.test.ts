import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, INGEST_TOKEN, startTestService, type TestService } from '../helpers/service';

/**
 * The host-app SDK's routes over a real socket on the real service: GET /v1/serving with its
 * ETag, POST /v1/conversations/batch (one result per row) and POST /v1/feedback (late outcomes).
 * Rows are counted in the database itself.
 */

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
  headers: Headers;
}

describe('host-app SDK routes over a real socket', () => {
  let svc: TestService;
  let pg: PgClient | undefined;
  let versionId: string;
  let seq = 0;
  const ext = (base: string) => `${base}-${++seq}-${Date.now()}`;

  beforeAll(async () => {
    svc = await startTestService({ FEEDBACK_WINDOW: '2d' });
    if (svc.databaseUrl) {
      pg = new PgClient({ connectionString: svc.databaseUrl });
      await pg.connect();
    }
    versionId = (await svc.store.createPromptVersion({ promptKey: 'sdk-api', content: 'You help users of {{product}}.', activate: true }))
      .id;
  });
  afterAll(async () => {
    await pg?.end();
    await svc?.teardown();
  });

  async function sql<R>(text: string, params: unknown[] = []): Promise<R[]> {
    if (pg) return (await pg.query(text, params)).rows as R[];
    const db = (svc.store.transport as unknown as { db: { query<T>(s: string, p?: unknown[]): Promise<{ rows: T[] }> } }).db;
    return (await db.query<R>(text, params)).rows;
  }
  const conversations = async (where = 'true', params: unknown[] = []) =>
    (await sql<{ n: number }>(`select count(*)::int as n from public.ai_conversations where ${where}`, params))[0]!.n;

  async function call(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const headers: Record<string, string> = { authorization: `Bearer ${opts.token ?? INGEST_TOKEN}`, ...opts.headers };
    const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${svc.baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  }

  describe('GET /v1/serving', () => {
    it('serves the snapshot with an ETag; If-None-Match gets 304 until something changes', async () => {
      const first = await call('GET', '/v1/serving');
      expect(first.status).toBe(200);
      const etag = first.headers.get('etag')!;
      expect(etag).toMatch(/^"[\w-]{32}"$/);
      expect(first.headers.get('cache-control')).toMatch(/no-cache|no-store/);
      expect(first.body.prompts).toContainEqual({
        promptKey: 'sdk-api',
        active: { versionId, version: 1, content: 'You help users of {{product}}.' },
        experiment: null,
      });

      for (const header of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
        const again = await call('GET', '/v1/serving', { headers: { 'if-none-match': header } });
        expect(again.status, header).toBe(304);
        expect(again.text).toBe('');
        expect(again.headers.get('etag')).toBe(etag);
      }
      expect((await call('GET', '/v1/serving', { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);

      // A new experiment changes what is served: a new ETag, the old one gets the full body.
      const v2 = await svc.store.createPromptVersion({ promptKey: 'sdk-api', content: 'You help users of {{product}}, briefly.' });
      const exp = await svc.store.createExperiment({ promptKey: 'sdk-api', variantVersionIds: [v2.id], weights: [0.4, 0.6] });
      const changed = await call('GET', '/v1/serving', { headers: { 'if-none-match': etag } });
      expect(changed.status).toBe(200);
      expect(changed.headers.get('etag')).not.toBe(etag);
      const entry = changed.body.prompts.find((p: { promptKey: string }) => p.promptKey === 'sdk-api');
      expect(entry.experiment).toMatchObject({
        experimentId: exp.id,
        paused: false,
        arms: [
          { arm: 0, weight: 0.4 },
          { arm: 1, weight: 0.6, versionId: v2.id },
        ],
      });
      await svc.store.concludeExperiment({ experimentId: exp.id, outcome: 'stopped', reason: 'test over' });
    });

    it('filters by promptKeys (comma-separated or repeated); a bad key is 400 naming the field', async () => {
      await svc.store.createPromptVersion({ promptKey: 'sdk-api-other', content: 'Other.', activate: true });
      const keys = (r: Reply) => r.body.prompts.map((p: { promptKey: string }) => p.promptKey);
      expect(keys(await call('GET', '/v1/serving?promptKeys=sdk-api-other'))).toEqual(['sdk-api-other']);
      expect(keys(await call('GET', '/v1/serving?promptKeys=sdk-api,sdk-api-other,unknown'))).toEqual(['sdk-api', 'sdk-api-other']);
      expect(keys(await call('GET', '/v1/serving?promptKeys=sdk-api&promptKeys=sdk-api-other'))).toEqual(['sdk-api', 'sdk-api-other']);
      const bad = await call('GET', `/v1/serving?promptKeys=${encodeURIComponent('ok,bad key!')}`);
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ field: 'promptKeys.1' });
    });

    it('is closed to the admin token and to no token', async () => {
      expect((await call('GET', '/v1/serving', { token: ADMIN_TOKEN })).status).toBe(401);
      expect((await fetch(`${svc.baseUrl}/v1/serving`)).status).toBe(401);
    });
  });

  describe('POST /v1/conversations/batch', () => {
    it('one result per row: stored, duplicate, or the field that is wrong; good rows are stored, bad ones change nothing', async () => {
      const id = ext('batch');
      const row = (i: number, extra: Record<string, unknown> = {}) => ({
        promptKey: 'sdk-api',
        versionId,
        success: true,
        subjectId: `u${i}`,
        externalId: `${id}-${i}`,
        ...extra,
      });
      const before = await conversations();
      const res = await call('POST', '/v1/conversations/batch', {
        body: {
          rows: [
            row(0, { topic: 'billing', rating: 4, latencyMs: 120, tokens: 300, createdAt: new Date(Date.now() - 60_000).toISOString() }),
            row(1, { rating: 6 }),
            row(2, { externalId: undefined }),
            row(3, { versionId: '00000000-0000-4000-8000-000000000000' }),
            row(4, { surprise: true }),
            row(0),
            row(5, { createdAt: '2999-01-01T00:00:00Z' }),
            'not a row',
            row(6, { createdAt: 'yesterday' }),
            row(7, { topic: 'nul\u0000byte' }),
          ],
        },
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ received: 10, created: 1, duplicates: 1, errors: 8 });
      expect(res.body.results.map((r: { index: number; status: string; field?: string }) => [r.index, r.status, r.field ?? null])).toEqual([
        [0, 'created', null],
        [1, 'error', 'rating'],
        [2, 'error', 'externalId'],
        [3, 'error', 'versionId'],
        [4, 'error', 'surprise'],
        [5, 'duplicate', null],
        [6, 'error', 'createdAt'],
        [7, 'error', 'item'],
        [8, 'error', 'createdAt'],
        [9, 'error', 'topic'],
      ]);
      expect(res.body.results[3].error).toMatch(/^versionId .* is not a version of prompt key sdk-api$/);
      expect(res.body.results[0]).toMatchObject({ externalId: `${id}-0`, id: expect.any(Number), experimentId: null, arm: null });
      expect((await conversations()) - before).toBe(1);
      const [stored] = await sql<{ topic: string; rating: number; latency_ms: number; created_at: Date }>(
        'select topic, rating, latency_ms, created_at from public.ai_conversations where external_id = $1',
        [`${id}-0`],
      );
      expect(stored).toMatchObject({ topic: 'billing', rating: 4, latency_ms: 120 });
      expect(Date.now() - new Date(stored!.created_at).getTime()).toBeGreaterThan(50_000);
    });

    it('the whole request is refused (400, nothing written) only when it is not a batch: no rows array, empty, over 500 rows', async () => {
      const before = await conversations();
      const many = Array.from({ length: 501 }, (_, i) => ({
        promptKey: 'sdk-api',
        versionId,
        success: true,
        externalId: `${ext('many')}-${i}`,
      }));
      for (const body of [{}, { rows: [] }, { rows: many }, { rows: {} }, [1, 2], { rows: [], extra: 1 }]) {
        const res = await call('POST', '/v1/conversations/batch', { body });
        expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
        expect(res.body).toMatchObject({ field: expect.any(String), error: expect.any(String) });
      }
      expect((await call('POST', '/v1/conversations/batch', { raw: '{"rows": [' })).status).toBe(400);
      expect(await conversations()).toBe(before);
    });

    it('takes bodies up to 1 MB (500 rows with excerpts), refuses larger ones with 413', async () => {
      const id = ext('big');
      const rows = Array.from({ length: 500 }, (_, i) => ({
        promptKey: 'sdk-api',
        versionId,
        success: i % 2 === 0,
        externalId: `${id}-${i}`,
        inputExcerpt: 'x'.repeat(1500),
      }));
      const ok = await call('POST', '/v1/conversations/batch', { body: { rows } });
      expect(ok.status, ok.text.slice(0, 200)).toBe(200);
      expect(ok.body).toMatchObject({ created: 500, errors: 0 });
      const huge = rows.map((r) => ({ ...r, inputExcerpt: 'y'.repeat(2000), outputExcerpt: 'z'.repeat(2000) }));
      const refused = await call('POST', '/v1/conversations/batch', { body: { rows: huge } });
      expect(refused.status).toBe(413);
      expect(refused.body.error).toMatch(/too large \(limit 1mb\)/);
      expect(await conversations('external_id like $1', [`${id}-%`])).toBe(500);
    });
  });

  describe('POST /v1/feedback', () => {
    async function logged(createdAt?: string): Promise<string> {
      const externalId = ext('fb');
      const res = await call('POST', '/v1/conversations/batch', {
        body: { rows: [{ promptKey: 'sdk-api', versionId, success: true, externalId, ...(createdAt ? { createdAt } : {}) }] },
      });
      expect(res.body.created).toBe(1);
      return externalId;
    }
    const history = async (externalId: string) =>
      (await sql<{ n: number }>('select count(*)::int as n from public.ai_conversation_feedback where external_id = $1', [externalId]))[0]!
        .n;

    it('one item: 200 updated, then 200 unchanged (idempotent); 404 unknown; 409 outside the window (FEEDBACK_WINDOW=2d); 400 naming the field', async () => {
      const id = await logged();
      const up = await call('POST', '/v1/feedback', { body: { externalId: id, success: false, rating: 1 } });
      expect(up.status, up.text).toBe(200);
      expect(up.body).toMatchObject({ status: 'updated', externalId: id, success: false, rating: 1, changedAt: expect.any(String) });
      const same = await call('POST', '/v1/feedback', { body: { externalId: id, success: false, rating: 1 } });
      expect(same.body).toMatchObject({ status: 'unchanged', changedAt: up.body.changedAt });
      expect(await history(id)).toBe(1);
      expect(
        (
          await sql<{ success: boolean; rating: number }>('select success, rating from public.ai_conversations where external_id = $1', [
            id,
          ])
        )[0],
      ).toEqual({ success: false, rating: 1 });

      expect((await call('POST', '/v1/feedback', { body: { externalId: 'nobody-logged-this', success: true } })).status).toBe(404);
      const old = await logged(new Date(Date.now() - 3 * 86_400_000).toISOString());
      const closed = await call('POST', '/v1/feedback', { body: { externalId: old, success: false } });
      expect(closed.status).toBe(409);
      expect(closed.body.error).toMatch(/older than the feedback window \(48 h\)/);
      for (const [body, field] of [
        [{ externalId: id }, 'success'],
        [{ externalId: id, rating: 0 }, 'rating'],
        [{ success: true }, 'externalId'],
        [{ externalId: id, success: 'yes' }, 'success'],
      ] as const) {
        const res = await call('POST', '/v1/feedback', { body });
        expect(res.status, JSON.stringify(body)).toBe(400);
        expect(res.body.field).toBe(field);
      }
      expect(await history(id)).toBe(1);
      expect(await history(old)).toBe(0);
    });

    it('{ items: [...] }: one result per item, in order', async () => {
      const a = await logged();
      const b = await logged();
      const res = await call('POST', '/v1/feedback', {
        body: {
          items: [
            { externalId: a, rating: 5 },
            { externalId: 'ghost', success: true },
            { externalId: b },
            { externalId: b, success: false },
            3,
          ],
        },
      });
      expect(res.status, res.text).toBe(200);
      expect(res.body.results.map((r: { status: string }) => r.status)).toEqual(['updated', 'not_found', 'error', 'updated', 'error']);
      expect(res.body.results[2]).toMatchObject({ field: 'success', error: expect.stringMatching(/needs success or rating/) });
      expect(res.body.updated).toBe(2);
      expect((await call('POST', '/v1/feedback', { body: { items: [] } })).status).toBe(400);
    });
  });
});
