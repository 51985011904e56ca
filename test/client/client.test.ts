import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPromptClient, NotReadyError, type PromptClientError, type PromptClientOptions } from '@prompt-optimization/client';
import { INGEST_TOKEN, startTestService, type TestService } from '../helpers/service';
import { waitFor } from '../helpers/traffic';

/**
 * The SDK against the real worker service (HTTP, store, Temporal): serving from the snapshot,
 * ETag refreshes, fallbacks, the cache through failures, batched delivery counted in the
 * database, feedback merged or late, the bounded queue and backoff. Failures are injected by
 * wrapping the real fetch (a request that fails, or one whose answer is lost after the worker
 * processed it); everything else is the real thing.
 */

interface Sent {
  method: string;
  path: string;
  status: number | 'failed';
  at: number;
}

/** The real fetch, recorded, with switchable faults. */
function faultyFetch() {
  const sent: Sent[] = [];
  const state = {
    sent,
    /** 'down': requests fail before reaching the worker; 'lose-answer': they reach it, the answer is lost. */
    mode: 'ok' as 'ok' | 'down' | 'lose-answer',
    /** A synthetic status for POSTs (e.g. 503 with Retry-After), instead of sending. */
    synthetic: null as null | { status: number; headers?: Record<string, string> },
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input));
      const record: Sent = { method: init?.method ?? 'GET', path: url.pathname + url.search, status: 'failed', at: Date.now() };
      sent.push(record);
      if (state.mode === 'down') throw new TypeError('fetch failed (injected: worker unreachable)');
      if (state.synthetic && record.method === 'POST') {
        record.status = state.synthetic.status;
        return new Response(JSON.stringify({ error: 'injected' }), { status: state.synthetic.status, headers: state.synthetic.headers });
      }
      const res = await fetch(input, init);
      record.status = res.status;
      if (state.mode === 'lose-answer' && record.method === 'POST') {
        await res.text();
        throw new TypeError('fetch failed (injected: answer lost)');
      }
      return res;
    }) as typeof fetch,
  };
  return state;
}

describe('the SDK against the real worker service', () => {
  let svc: TestService;
  let pg: PgClient | undefined;
  let control: { id: string; content: string };
  let variant: { id: string };
  let experimentId: string;
  const errors: PromptClientError[] = [];
  const clients: Array<{ close(o?: { timeoutMs?: number }): Promise<unknown> }> = [];

  beforeAll(async () => {
    svc = await startTestService();
    if (svc.databaseUrl) {
      pg = new PgClient({ connectionString: svc.databaseUrl });
      await pg.connect();
    }
    control = await svc.store.createPromptVersion({
      promptKey: 'sdk-chat',
      content: 'You help {{user}} with {{product}}.',
      activate: true,
    });
    variant = await svc.store.createPromptVersion({
      promptKey: 'sdk-chat',
      content: 'You help {{user}} with {{product}}. Be brief.',
      parentVersionId: control.id,
    });
    experimentId = (await svc.store.createExperiment({ promptKey: 'sdk-chat', variantVersionIds: [variant.id], weights: [0.5, 0.5] })).id;
    await svc.store.createPromptVersion({ promptKey: 'sdk-plain', content: 'Plain.', activate: true });
  });
  afterAll(async () => {
    for (const c of clients) await c.close({ timeoutMs: 1_000 });
    await pg?.end();
    await svc?.teardown();
  });

  function client(opts: Partial<PromptClientOptions> = {}) {
    const c = createPromptClient({ baseUrl: svc.baseUrl, ingestToken: INGEST_TOKEN, onError: (e) => errors.push(e), ...opts });
    clients.push(c);
    return c;
  }

  async function sql<R>(text: string, params: unknown[] = []): Promise<R[]> {
    if (pg) return (await pg.query(text, params)).rows as R[];
    const db = (svc.store.transport as unknown as { db: { query<T>(s: string, p?: unknown[]): Promise<{ rows: T[] }> } }).db;
    return (await db.query<R>(text, params)).rows;
  }
  const stored = async (externalIds: string[]) =>
    (
      await sql<{ n: number }>('select count(*)::int as n from public.ai_conversations where external_id = any($1::text[])', [externalIds])
    )[0]!.n;

  it('serves locally: the assignment of /v1/assign, variables filled in; refreshes cost a 304 while nothing changes', async () => {
    const f = faultyFetch();
    const c = client({ fetch: f.fetch });
    await c.ready({ timeoutMs: 10_000 });
    for (let i = 0; i < 40; i++) {
      const local = c.getPrompt('sdk-chat', `user-${i}`, { variables: { user: 'Ann', product: 'Acme' } });
      const res = await fetch(`${svc.baseUrl}/v1/assign`, {
        method: 'POST',
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ promptKey: 'sdk-chat', subjectId: `user-${i}` }),
      });
      const remote = (await res.json()) as { version_id: string; arm: number; experiment_id: string; content: string };
      expect(local).toMatchObject({
        promptKey: 'sdk-chat',
        versionId: remote.version_id,
        arm: remote.arm,
        experimentId: remote.experiment_id,
        source: 'live',
      });
      expect(local.content).toBe(remote.content.replace('{{user}}', 'Ann').replace('{{product}}', 'Acme'));
    }
    expect(await c.refresh()).toBe(true);
    expect(await c.refresh()).toBe(true);
    expect(f.sent.filter((s) => s.path === '/v1/serving').map((s) => s.status)).toEqual([200, 304, 304]);
    expect(c.stats()).toMatchObject({ ready: true, lastRefreshOk: true, refreshes: 3, refreshFailures: 0 });
  });

  it('never throws on the hot path; fallbacks before the first snapshot, for unknown keys, and past maxStalenessMs', async () => {
    const nowhere = createPromptClient({
      baseUrl: 'http://127.0.0.1:9',
      ingestToken: 'x',
      fallbacks: { 'sdk-chat': 'Default for {{user}}.' },
      onError: () => undefined,
      initialBackoffMs: 50,
    });
    clients.push(nowhere);
    expect(nowhere.getPrompt('sdk-chat', 'u1', { variables: { user: 'Bo' } })).toEqual({
      promptKey: 'sdk-chat',
      content: 'Default for Bo.',
      versionId: null,
      version: null,
      experimentId: null,
      arm: null,
      source: 'fallback',
      fallbackReason: 'not_ready',
    });
    expect(nowhere.getPrompt('other', 'u1', { fallback: 'inline' }).content).toBe('inline');
    expect(nowhere.getPrompt('other', 'u1').content).toBe('');
    expect(() => nowhere.getPrompt(null as never, undefined as never, null as never)).not.toThrow();
    const started = Date.now();
    const err = await nowhere.ready({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotReadyError);
    expect((err as NotReadyError).code).toBe('not_ready');
    expect(Date.now() - started).toBeLessThan(2_000);

    const f = faultyFetch();
    const c = client({ fetch: f.fetch, maxStalenessMs: 1_500, refreshIntervalMs: 1_000, fallbacks: { 'sdk-chat': 'Stale fallback.' } });
    await c.ready();
    expect(c.getPrompt('no-such-key', 'u1', { fallback: 'fb' })).toMatchObject({
      source: 'fallback',
      fallbackReason: 'unknown_prompt_key',
      content: 'fb',
    });
    const before = c.getPrompt('sdk-chat', 'stable-subject');
    f.mode = 'down';
    await waitFor(async () => (await c.refresh()) === false, { what: 'a failed refresh' });
    // The last good snapshot keeps serving, with the same assignment, marked as cache.
    expect(c.getPrompt('sdk-chat', 'stable-subject')).toEqual({ ...before, source: 'cache' });
    await waitFor(async () => c.getPrompt('sdk-chat', 'stable-subject').source === 'fallback', {
      timeoutMs: 5_000,
      what: 'staleness fallback',
    });
    expect(c.getPrompt('sdk-chat', 'stable-subject')).toMatchObject({
      content: 'Stale fallback.',
      fallbackReason: 'stale',
      versionId: null,
    });
    f.mode = 'ok';
    expect(await c.refresh()).toBe(true);
    expect(c.getPrompt('sdk-chat', 'stable-subject')).toEqual(before);
  });

  it('logs in batches: every row stored once, with its createdAt; a retried batch whose answer was lost is not stored twice', async () => {
    const f = faultyFetch();
    const c = client({ fetch: f.fetch, batchSize: 100, flushIntervalMs: 60_000 });
    await c.ready();
    const ids: string[] = [];
    const loggedAt = new Date(Date.now() - 30_000);
    for (let i = 0; i < 250; i++) {
      const served = c.getPrompt('sdk-chat', `batch-user-${i}`);
      ids.push(
        c.logConversation({
          promptKey: 'sdk-chat',
          versionId: served.versionId!,
          success: i % 3 !== 0,
          subjectId: `batch-user-${i}`,
          topic: 'billing',
          latencyMs: 200 + i,
          createdAt: i === 0 ? loggedAt : undefined,
        }),
      );
    }
    expect(new Set(ids).size).toBe(250);
    expect(ids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Two full batches went at once (batchSize); the rest waits for the interval or a flush.
    await waitFor(async () => c.stats().delivered === 200, { timeoutMs: 10_000, what: 'two full batches' });
    expect(c.stats().queued).toBe(50);
    f.mode = 'lose-answer';
    const failed = await c.flush();
    expect(failed).toMatchObject({ ok: false, pending: 50 });
    expect(failed.error?.code).toBe('network');
    f.mode = 'ok';
    expect(await c.flush()).toMatchObject({ ok: true, pending: 0 });
    expect(c.stats()).toMatchObject({ delivered: 250, duplicates: 50, rejected: 0, dropped: 0, queued: 0 });
    expect(await stored(ids)).toBe(250);
    const posts = f.sent.filter((s) => s.path === '/v1/conversations/batch');
    expect(posts.map((p) => p.status)).toEqual([200, 200, 200, 200]);
    const [first] = await sql<{ created_at: Date; experiment_id: string | null }>(
      'select created_at, experiment_id from public.ai_conversations where external_id = $1',
      [ids[0]],
    );
    expect(new Date(first!.created_at).getTime()).toBe(loggedAt.getTime());
    const attributed = await sql<{ n: number }>(
      'select count(*)::int as n from public.ai_conversations where external_id = any($1::text[]) and experiment_id = $2',
      [ids.slice(1), experimentId],
    );
    expect(attributed[0]!.n).toBe(249);
  });

  it('feedback: merged into a row still queued, sent late for a delivered one (with history), retried while the worker does not know the id', async () => {
    const c = client({ batchSize: 500, flushIntervalMs: 60_000, feedbackRetryMs: 400, initialBackoffMs: 50, maxBackoffMs: 100 });
    await c.ready();
    const v = c.getPrompt('sdk-plain', 'fb-user');
    const early = c.logConversation({ promptKey: 'sdk-plain', versionId: v.versionId!, success: true });
    c.recordFeedback(early, { success: false, rating: 2 });
    expect(c.stats()).toMatchObject({ feedbackMerged: 1, feedbackQueued: 0 });
    const late = c.logConversation({ promptKey: 'sdk-plain', versionId: v.versionId!, success: true, rating: 5 });
    await c.flush();
    c.recordFeedback(late, { success: false });
    c.recordFeedback('never-logged-anywhere', { rating: 1 });
    c.recordFeedback(late, { rating: 9 });
    expect(await c.flush()).toMatchObject({ ok: true });
    const rows = await sql<{ external_id: string; success: boolean; rating: number | null }>(
      'select c.external_id, c.success, c.rating from unnest($1::text[]) with ordinality as x(id, ord) join public.ai_conversations c on c.external_id = x.id order by x.ord',
      [[early, late]],
    );
    expect(rows).toEqual([
      { external_id: early, success: false, rating: 2 },
      { external_id: late, success: false, rating: 5 },
    ]);
    const history = await sql<{ external_id: string }>(
      'select external_id from public.ai_conversation_feedback where external_id = any($1::text[])',
      [[early, late]],
    );
    expect(history.map((h) => h.external_id)).toEqual([late]);
    // The unknown id is retried for feedbackRetryMs, then counted as refused and reported.
    await waitFor(async () => c.stats().feedbackRejected === 2, { timeoutMs: 5_000, what: 'unknown feedback given up' });
    expect(c.stats()).toMatchObject({ feedbackDelivered: 1, feedbackQueued: 0 });
    expect(errors.some((e) => e.code === 'rejected' && e.details?.some((d) => d.startsWith('never-logged-anywhere: not_found')))).toBe(
      true,
    );
    expect(errors.some((e) => e.code === 'rejected' && /recordFeedback: rating must be/.test(e.message))).toBe(true);
  });

  it('rows the worker refuses are counted and reported with their reason; the good rows of the batch are stored', async () => {
    const c = client({ flushIntervalMs: 60_000 });
    await c.ready();
    const v = c.getPrompt('sdk-plain', 'r');
    const before = errors.length;
    const good = c.logConversation({ promptKey: 'sdk-plain', versionId: v.versionId!, success: true });
    const bad = c.logConversation({ promptKey: 'sdk-plain', versionId: v.versionId!, success: true, rating: 9 });
    const wrongKey = c.logConversation({ promptKey: 'sdk-chat', versionId: v.versionId!, success: true });
    c.logConversation({ promptKey: 'sdk-plain', versionId: undefined as never, success: true });
    await c.flush();
    expect(c.stats()).toMatchObject({ delivered: 1, rejected: 3 });
    expect(await stored([good, bad, wrongKey])).toBe(1);
    const reported = errors.slice(before).filter((e) => e.code === 'rejected');
    expect(reported.map((e) => e.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/versionId is required/), 'the worker refused 2 conversation(s)']),
    );
    expect(reported.find((e) => e.details?.length === 2)?.details).toEqual([
      expect.stringMatching(new RegExp(`^${bad}: rating`)),
      expect.stringMatching(new RegExp(`^${wrongKey}: versionId .* is not a version`)),
    ]);
  });

  it('a bounded queue: overflow is counted as dropped and reported; backoff grows between retries and honours Retry-After', async () => {
    const f = faultyFetch();
    const c = client({ fetch: f.fetch, maxQueue: 5, batchSize: 5, flushIntervalMs: 60_000, initialBackoffMs: 100, maxBackoffMs: 1_600 });
    await c.ready();
    const v = c.getPrompt('sdk-plain', 'q');
    f.mode = 'down';
    const before = errors.length;
    const ids = Array.from({ length: 8 }, () => c.logConversation({ promptKey: 'sdk-plain', versionId: v.versionId!, success: true }));
    expect(c.stats()).toMatchObject({ dropped: 3 });
    expect(errors.slice(before).some((e) => e.code === 'dropped')).toBe(true);
    // Retries on the timer: the gaps grow (at least half of 100, 200, 400, 800 ms).
    await waitFor(async () => f.sent.filter((s) => s.path === '/v1/conversations/batch').length >= 5, {
      timeoutMs: 10_000,
      what: 'five attempts',
    });
    const at = f.sent.filter((s) => s.path === '/v1/conversations/batch').map((s) => s.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    gaps.forEach((g, i) => expect(g, `gap ${i + 1} of ${JSON.stringify(gaps)}`).toBeGreaterThanOrEqual(50 * 2 ** i - 5));
    // The worker says 503, retry after 2 s: the next attempt waits that long.
    f.mode = 'ok';
    f.synthetic = { status: 503, headers: { 'retry-after': '2' } };
    await c.flush();
    const t503 = Date.now();
    f.synthetic = null;
    await waitFor(async () => c.stats().delivered === 5, { timeoutMs: 10_000, what: 'delivery after Retry-After' });
    expect(Date.now() - t503).toBeGreaterThanOrEqual(1_900);
    expect(await stored(ids)).toBe(5);
    expect(c.stats()).toMatchObject({ delivered: 5, dropped: 3, queued: 0 });
  });

  it('close() delivers what is queued; what cannot be delivered in time is counted as dropped, and nothing is accepted after', async () => {
    const c = client({ flushIntervalMs: 60_000 });
    await c.ready();
    const v = c.getPrompt('sdk-plain', 'c');
    const ids = Array.from({ length: 30 }, () => c.logConversation({ promptKey: 'sdk-plain', versionId: v.versionId!, success: false }));
    expect(await c.close()).toMatchObject({ ok: true });
    expect(await stored(ids)).toBe(30);
    c.logConversation({ promptKey: 'sdk-plain', versionId: v.versionId!, success: false });
    expect(c.stats()).toMatchObject({ delivered: 30, dropped: 1 });
    expect(c.getPrompt('sdk-plain', 'c').versionId).toBe(v.versionId);

    const f = faultyFetch();
    const d = client({ fetch: f.fetch, flushIntervalMs: 60_000 });
    await d.ready();
    f.mode = 'down';
    for (let i = 0; i < 7; i++) d.logConversation({ promptKey: 'sdk-plain', versionId: v.versionId!, success: true });
    const res = await d.close({ timeoutMs: 500 });
    expect(res.ok).toBe(false);
    expect(d.stats()).toMatchObject({ dropped: 7, queued: 0, delivered: 0 });
  });
});
