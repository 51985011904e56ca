import type * as NodeCrypto from 'node:crypto';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenMatches } from '../../src/http';
import { ADMIN_TOKEN, INGEST_TOKEN, startTestService, type TestService } from '../helpers/service';
import { FAST_POLICY, driveTraffic, seedPromptWithWeakSegment, waitFor } from '../helpers/traffic';

/**
 * The HTTP API end to end: the real worker service (Temporal worker on the shared dev server,
 * the store on a fresh PostgreSQL database when DATABASE_URL is set, else in-memory PGlite),
 * spoken to with fetch over a real socket. "Nothing written" is checked by counting the rows of
 * every table before and after, directly in the database.
 *
 * Decision (documented, asserted below): every /v1/* request is authenticated before it is
 * routed, so an unknown /v1 path without a valid token is 401 (the route map is not revealed to
 * anonymous callers); with a valid token it is 404. Paths outside /v1 are 404 without a token.
 */

const TABLES = [
  'ai_prompt_versions',
  'ai_ab_experiments',
  'ai_experiment_arms',
  'ai_conversations',
  'ai_pattern_insights',
  'ai_experiment_snapshots',
  'ai_promotion_events',
  'optimization_jobs',
] as const;
const COUNT_SQL = `select ${TABLES.map((t) => `(select count(*)::int from public.${t}) as ${t}`).join(', ')}`;
type Counts = Record<(typeof TABLES)[number], number>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are read per test
interface Reply<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

describe('HTTP API over a real socket', () => {
  let svc: TestService;
  let pg: PgClient | undefined;

  beforeAll(async () => {
    svc = await startTestService();
    if (svc.databaseUrl) {
      pg = await countingClient(svc.databaseUrl);
    }
  });
  afterAll(async () => {
    await pg?.end();
    await svc?.teardown();
  });

  async function countingClient(url: string): Promise<PgClient> {
    const c = new PgClient({ connectionString: url });
    c.on('error', () => undefined); // terminated on purpose by the outage test
    await c.connect();
    return c;
  }

  /** Row counts of every table, straight from the database (pg on PostgreSQL, the PGlite instance otherwise). */
  async function counts(): Promise<Counts> {
    if (pg) return (await pg.query<Counts>(COUNT_SQL)).rows[0]!;
    // PGlite in memory lives inside the service: reach its query surface through the store transport.
    const db = (svc.store.transport as unknown as { db: { query<R>(sql: string): Promise<{ rows: R[] }> } }).db;
    return (await db.query<Counts>(COUNT_SQL)).rows[0]!;
  }

  async function http<T = any>( // eslint-disable-line @typescript-eslint/no-explicit-any
    method: string,
    path: string,
    opts: { token?: string | null; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | Buffer | undefined;
    if (opts.raw !== undefined) body = opts.raw;
    else if (opts.body !== undefined && method !== 'GET' && method !== 'HEAD') body = JSON.stringify(opts.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${svc.baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (metrics)
    }
    return { status: res.status, body: parsed as T, text, headers: res.headers };
  }
  const admin = <T = any>(method: string, path: string, body?: unknown) => http<T>(method, path, { token: ADMIN_TOKEN, body }); // eslint-disable-line @typescript-eslint/no-explicit-any
  const ingest = <T = any>(method: string, path: string, body?: unknown) => http<T>(method, path, { token: INGEST_TOKEN, body }); // eslint-disable-line @typescript-eslint/no-explicit-any

  /** Runs a request that must be refused and asserts that no table changed. */
  async function refusedWithoutWrites(status: number, send: () => Promise<Reply>): Promise<Reply> {
    const before = await counts();
    const res = await send();
    expect(res.status, res.text).toBe(status);
    expect(await counts()).toEqual(before);
    return res;
  }

  async function jobDone(id: number) {
    return waitFor(
      async () => {
        const r = await admin('GET', `/v1/jobs/${id}`);
        return r.body.job.status === 'completed' || r.body.job.status === 'failed' ? r.body.job : undefined;
      },
      { what: `job ${id} finished` },
    );
  }

  // Every route, with the token that opens it.
  const ADMIN_ROUTES: Array<[string, string]> = [
    ['POST', '/v1/jobs'],
    ['GET', '/v1/jobs'],
    ['GET', '/v1/jobs/1'],
    ['GET', '/v1/experiments'],
    ['GET', '/v1/experiments/00000000-0000-4000-8000-000000000000'],
    ['POST', '/v1/experiments/00000000-0000-4000-8000-000000000000/approve'],
    ['POST', '/v1/experiments/00000000-0000-4000-8000-000000000000/stop'],
    ['POST', '/v1/experiments/00000000-0000-4000-8000-000000000000/pause'],
    ['POST', '/v1/experiments/00000000-0000-4000-8000-000000000000/resume'],
    ['POST', '/v1/experiments/00000000-0000-4000-8000-000000000000/restart'],
    ['GET', '/v1/prompts'],
    ['POST', '/v1/prompts'],
    ['GET', '/v1/prompts/some-key'],
    ['POST', '/v1/prompts/some-key/rollback'],
    ['POST', '/v1/policies/validate'],
  ];
  const INGEST_ROUTES: Array<[string, string]> = [
    ['POST', '/v1/assign'],
    ['POST', '/v1/conversations'],
    ['GET', '/v1/serving'],
    ['POST', '/v1/conversations/batch'],
    ['POST', '/v1/feedback'],
  ];

  describe('authentication', () => {
    it('401 without a token, with a wrong token, or with a malformed authorization header, on every route; nothing written', async () => {
      const before = await counts();
      for (const [method, path] of [...ADMIN_ROUTES, ...INGEST_ROUTES]) {
        const cases: Array<Record<string, string>> = [
          {},
          { authorization: `Bearer ${ADMIN_TOKEN}x` },
          { authorization: `Bearer ${INGEST_TOKEN.slice(0, -1)}` },
          { authorization: ADMIN_TOKEN },
          { authorization: `Basic ${Buffer.from(`u:${ADMIN_TOKEN}`).toString('base64')}` },
          { authorization: 'Bearer ' },
        ];
        for (const headers of cases) {
          const res = await http(method, path, { headers, body: { promptKey: 'k', subjectId: 's' } });
          expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
          expect(res.body).toEqual({ error: 'missing or invalid bearer token' });
        }
      }
      expect(await counts()).toEqual(before);
    });

    it('each token opens only its own routes, whatever the spelling of the path', async () => {
      const before = await counts();
      for (const [method, path] of INGEST_ROUTES) {
        for (const p of [path, `${path}/`, path.toUpperCase(), path.replace('/v1/', '/v1/A').replace('/A', '/')]) {
          const res = await http(method, p, { token: ADMIN_TOKEN, body: { promptKey: 'k', subjectId: 's' } });
          expect(res.status, `admin token on ${method} ${p}`).toBe(401);
        }
        const cased = `/v1/${path.slice(4, 5).toUpperCase()}${path.slice(5)}`;
        const res = await http(method, cased, { token: ADMIN_TOKEN, body: { promptKey: 'k', subjectId: 's' } });
        expect(res.status, `admin token on ${method} ${cased}`).toBe(401);
      }
      for (const [method, path] of ADMIN_ROUTES) {
        for (const p of [path, `${path}/`, path.toUpperCase()]) {
          const res = await http(method, p, { token: INGEST_TOKEN, body: {} });
          expect(res.status, `ingest token on ${method} ${p}`).toBe(401);
        }
      }
      expect(await counts()).toEqual(before);
    });

    it('the scheme name is case-insensitive (RFC 9110) and the right token is accepted', async () => {
      expect((await http('GET', '/v1/prompts', { headers: { authorization: `bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
      expect((await http('GET', '/v1/prompts', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    });

    it('unknown routes: 404 with a valid token, 401 under /v1 without one, 404 outside /v1', async () => {
      expect((await admin('GET', '/v1/nope')).status).toBe(404);
      expect((await admin('GET', '/v1/nope')).body).toEqual({ error: 'not found' });
      expect((await admin('DELETE', '/v1/jobs')).status).toBe(404);
      expect((await admin('PUT', '/v1/prompts/x')).status).toBe(404);
      expect((await http('GET', '/v1/nope')).status).toBe(401);
      expect((await http('GET', '/v1/nope', { token: INGEST_TOKEN })).status).toBe(401);
      expect((await http('GET', '/nope')).status).toBe(404);
      expect((await http('POST', '/health')).status).toBe(404);
    });

    it('tokenMatches: true only for the same non-empty token, never throws on different lengths', () => {
      expect(tokenMatches(ADMIN_TOKEN, ADMIN_TOKEN)).toBe(true);
      expect(tokenMatches(`${ADMIN_TOKEN}`.slice(0), ADMIN_TOKEN)).toBe(true);
      expect(tokenMatches(ADMIN_TOKEN.replace(/.$/, 'X'), ADMIN_TOKEN)).toBe(false);
      expect(tokenMatches(`${ADMIN_TOKEN}0`, ADMIN_TOKEN)).toBe(false);
      expect(tokenMatches(ADMIN_TOKEN.slice(0, 4), ADMIN_TOKEN)).toBe(false);
      expect(tokenMatches('x'.repeat(10_000), ADMIN_TOKEN)).toBe(false);
      expect(tokenMatches(undefined, ADMIN_TOKEN)).toBe(false);
      expect(tokenMatches('', ADMIN_TOKEN)).toBe(false);
      expect(tokenMatches(ADMIN_TOKEN, undefined)).toBe(false);
      expect(tokenMatches('', '')).toBe(false);
      expect(tokenMatches(undefined, undefined)).toBe(false);
      expect(tokenMatches('tökén-ünïcødé-0123456789', 'tökén-ünïcødé-0123456789')).toBe(true);
      expect(tokenMatches('tökén-ünïcødé-0123456789', 'tokén-ünïcødé-0123456789')).toBe(false);
    });

    it('tokenMatches compares with crypto.timingSafeEqual on equal-length digests, whatever the input lengths', () => {
      const crypto = createRequire(__filename)('node:crypto') as typeof NodeCrypto;
      const original = crypto.timingSafeEqual;
      const calls: Array<[number, number]> = [];
      crypto.timingSafeEqual = ((a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
        calls.push([a.byteLength, b.byteLength]);
        return original(a, b);
      }) as typeof original;
      syncBuiltinESMExports();
      try {
        for (const presented of ['x', ADMIN_TOKEN, `${ADMIN_TOKEN}-longer`, 'y'.repeat(5000)]) tokenMatches(presented, ADMIN_TOKEN);
      } finally {
        crypto.timingSafeEqual = original;
        syncBuiltinESMExports();
      }
      // One constant-time comparison per call, always of two SHA-256 digests (32 bytes): the
      // presented length changes neither the path taken nor the amount compared.
      expect(calls).toEqual([
        [32, 32],
        [32, 32],
        [32, 32],
        [32, 32],
      ]);
    });
  });

  describe('bodies', () => {
    it('malformed JSON is 400 on admin and ingest routes; nothing written', async () => {
      for (const [path, token] of [
        ['/v1/jobs', ADMIN_TOKEN],
        ['/v1/prompts', ADMIN_TOKEN],
        ['/v1/conversations', INGEST_TOKEN],
        ['/v1/assign', INGEST_TOKEN],
      ] as const) {
        for (const raw of ['{"type":', '{type: 1}', 'null', '"just a string"', '12', '\u0000']) {
          const res = await refusedWithoutWrites(400, () => http('POST', path, { token, raw }));
          expect(res.body.error, `${path} ${raw}`).toMatch(/^body: /);
        }
      }
    });

    it('a body over 100kb is 413, just under is parsed; nothing written', async () => {
      const big = { promptKey: 'big', content: 'x'.repeat(101 * 1024), activate: false };
      const res = await refusedWithoutWrites(413, () => admin('POST', '/v1/prompts', big));
      expect(res.body.error).toMatch(/too large/);
      await refusedWithoutWrites(413, () =>
        http('POST', '/v1/conversations', { token: INGEST_TOKEN, raw: JSON.stringify({ promptKey: 'k', error: 'e'.repeat(200_000) }) }),
      );
      // 99 kb of JSON reaches validation (content is bounded at 50,000 characters there).
      const under = await refusedWithoutWrites(400, () =>
        admin('POST', '/v1/prompts', { promptKey: 'big', content: 'x'.repeat(99 * 1024) }),
      );
      expect(under.body.field).toBe('content');
    });

    it('a body without a JSON content type is not parsed: the schema reports the missing fields', async () => {
      const res = await refusedWithoutWrites(400, () =>
        http('POST', '/v1/prompts', {
          token: ADMIN_TOKEN,
          raw: '{"promptKey":"a","content":"b"}',
          headers: { 'content-type': 'text/plain' },
        }),
      );
      expect(res.body.field).toBe('promptKey');
    });
  });

  describe('prompts', () => {
    it('seeds, lists and reads prompt versions; a second active version is refused (change it by promotion)', async () => {
      const key = 'api-prompts';
      const v1 = await admin('POST', '/v1/prompts', {
        promptKey: key,
        content: 'You help users of {{product}}. Version one.',
        activate: true,
        rationale: 'first',
      });
      expect(v1.status).toBe(201);
      expect(v1.body.version).toMatchObject({
        prompt_key: key,
        version: 1,
        status: 'active',
        strategy: 'manual',
        rationale: 'first',
        created: true,
      });
      const again = await admin('POST', '/v1/prompts', {
        promptKey: key,
        content: 'You help users of {{product}}. Version one.',
        activate: true,
      });
      expect(again.status).toBe(200);
      expect(again.body.version).toMatchObject({ id: v1.body.version.id, created: false });
      const conflict = await refusedWithoutWrites(409, () =>
        admin('POST', '/v1/prompts', { promptKey: key, content: 'You help users of {{product}}. Version two.', activate: true }),
      );
      expect(conflict.body.error).toMatch(/already has an active version/);
      const v2 = await admin('POST', '/v1/prompts', { promptKey: key, content: 'You help users of {{product}}. Version two.' });
      expect(v2.status).toBe(201);
      expect(v2.body.version).toMatchObject({ version: 2, status: 'candidate' });

      const list = await admin('GET', '/v1/prompts');
      expect(list.status).toBe(200);
      expect(list.body.prompts).toContainEqual(
        expect.objectContaining({ prompt_key: key, active_version_id: v1.body.version.id, versions: 2 }),
      );

      const one = await admin('GET', `/v1/prompts/${key}`);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ promptKey: key, insights: [], promotions: [] });
      expect(one.body.versions.map((v: { id: string; status: string }) => [v.id, v.status]).sort()).toEqual(
        [
          [v1.body.version.id, 'active'],
          [v2.body.version.id, 'candidate'],
        ].sort(),
      );
      expect((await admin('GET', '/v1/prompts/no-such-key')).status).toBe(404);

      // Rollback: no such key is not found; a key without an earlier version has nothing to go back to.
      const none = await refusedWithoutWrites(404, () =>
        admin('POST', '/v1/prompts/api-prompts-none/rollback', { actor: 'x', reason: 'y' }),
      );
      expect(none.body.error).toMatch(/no active version/);
      const single = await refusedWithoutWrites(409, () => admin('POST', `/v1/prompts/${key}/rollback`, { actor: 'x', reason: 'y' }));
      expect(single.body.error).toMatch(/no earlier version/);
    });

    it('400 naming the field for invalid bodies and params; nothing written', async () => {
      const cases: Array<[string, string, unknown, string]> = [
        ['POST', '/v1/prompts', { content: 'hello there' }, 'promptKey'],
        ['POST', '/v1/prompts', { promptKey: 'bad key!', content: 'hello there' }, 'promptKey'],
        ['POST', '/v1/prompts', { promptKey: '-starts-with-dash', content: 'hello there' }, 'promptKey'],
        ['POST', '/v1/prompts', { promptKey: 'k'.repeat(129), content: 'hello there' }, 'promptKey'],
        ['POST', '/v1/prompts', { promptKey: 'ok', content: '' }, 'content'],
        ['POST', '/v1/prompts', { promptKey: 'ok', content: 42 }, 'content'],
        ['POST', '/v1/prompts', { promptKey: 'ok', content: 'fine', activate: 'yes' }, 'activate'],
        ['POST', '/v1/prompts', { promptKey: 'ok', content: 'fine', status: 'active' }, 'body'],
        ['POST', '/v1/prompts', [], 'body'],
        ['POST', '/v1/prompts/api-prompts/rollback', { actor: 'a' }, 'reason'],
        ['POST', '/v1/prompts/api-prompts/rollback', { actor: ' ', reason: 'r' }, 'actor'],
        ['POST', '/v1/prompts/bad%20key/rollback', { actor: 'a', reason: 'r' }, 'key'],
        ['GET', '/v1/prompts/bad%20key', undefined, 'key'],
        ['POST', '/v1/policies/validate', { alpha: 2 }, 'alpha'],
        ['POST', '/v1/policies/validate', { alhpa: 0.05 }, 'body'],
        // The default watch (168 h) would end before this ramp does.
        [
          'POST',
          '/v1/policies/validate',
          {
            rollout: {
              steps: [
                { share: 0.5, holdHours: 200 },
                { share: 1, holdHours: 0 },
              ],
            },
          },
          'rollout.watchHours',
        ],
      ];
      for (const [method, path, body, field] of cases) {
        const res = await refusedWithoutWrites(400, () => admin(method, path, body));
        expect(res.body.field, `${method} ${path} ${JSON.stringify(body)}: ${res.text}`).toBe(field);
        expect(res.body.error).toMatch(new RegExp(`^${field}: `));
      }
      const ok = await admin('POST', '/v1/policies/validate', { alpha: 0.01, requireApproval: true });
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ policy: { alpha: 0.01, requireApproval: true } });
    });
  });

  describe('ingest', () => {
    it('assigns and records conversations; the same externalId is recorded once', async () => {
      const key = 'api-ingest';
      const seeded = await admin('POST', '/v1/prompts', {
        promptKey: key,
        content: 'You answer questions about {{product}}.',
        activate: true,
      });
      const versionId = seeded.body.version.id as string;

      const a = await ingest('POST', '/v1/assign', { promptKey: key, subjectId: 'user-1' });
      expect(a.status).toBe(200);
      expect(a.body).toEqual({
        prompt_key: key,
        version_id: versionId,
        version: 1,
        content: 'You answer questions about {{product}}.',
        experiment_id: null,
        arm: null,
        rollout_id: null,
        rollout_arm: null,
      });

      const before = await counts();
      const c = await ingest('POST', '/v1/conversations', {
        promptKey: key,
        versionId,
        success: true,
        subjectId: 'user-1',
        topic: 'billing',
        rating: 5,
        latencyMs: 800,
        tokens: 321,
        externalId: 'conv-1',
        inputExcerpt: 'hi',
        outputExcerpt: 'hello',
      });
      expect(c.status).toBe(201);
      expect(c.body).toEqual({ id: expect.any(Number), created: true, experimentId: null, arm: null });
      expect((await counts()).ai_conversations).toBe(before.ai_conversations + 1);
      const dup = await ingest('POST', '/v1/conversations', { promptKey: key, versionId, success: false, externalId: 'conv-1' });
      expect(dup.status).toBe(200);
      expect(dup.body).toMatchObject({ id: c.body.id, created: false });
      expect((await counts()).ai_conversations).toBe(before.ai_conversations + 1);
      const minimal = await ingest('POST', '/v1/conversations', { promptKey: key, versionId, success: false });
      expect(minimal.status).toBe(201);

      expect((await ingest('POST', '/v1/assign', { promptKey: 'api-ingest-unknown', subjectId: 'u' })).status).toBe(404);
    });

    it('400 naming the field for invalid bodies, 404 for an unknown version; nothing written', async () => {
      const key = 'api-ingest-bad';
      const seeded = await admin('POST', '/v1/prompts', {
        promptKey: key,
        content: 'You answer questions about {{product}}!',
        activate: true,
      });
      const versionId = seeded.body.version.id as string;
      const good = { promptKey: key, versionId, success: true };
      const cases: Array<[string, unknown, string]> = [
        ['/v1/conversations', { ...good, rating: 6 }, 'rating'],
        ['/v1/conversations', { ...good, rating: 0 }, 'rating'],
        ['/v1/conversations', { ...good, rating: 4.5 }, 'rating'],
        ['/v1/conversations', { ...good, rating: '5' }, 'rating'],
        ['/v1/conversations', { ...good, versionId: 'not-a-uuid' }, 'versionId'],
        ['/v1/conversations', { ...good, versionId: 42 }, 'versionId'],
        ['/v1/conversations', { ...good, success: 'true' }, 'success'],
        ['/v1/conversations', { promptKey: key, versionId }, 'success'],
        ['/v1/conversations', { ...good, promptKey: 'has space' }, 'promptKey'],
        ['/v1/conversations', { ...good, latencyMs: -1 }, 'latencyMs'],
        ['/v1/conversations', { ...good, tokens: 1e12 }, 'tokens'],
        ['/v1/conversations', { ...good, error: 'e'.repeat(2001) }, 'error'],
        ['/v1/conversations', { ...good, externalId: '' }, 'externalId'],
        ['/v1/conversations', { ...good, createdAt: '2020-01-01T00:00:00Z' }, 'body'],
        ['/v1/assign', { promptKey: key }, 'subjectId'],
        ['/v1/assign', { promptKey: key, subjectId: '' }, 'subjectId'],
        ['/v1/assign', { promptKey: ['a'], subjectId: 's' }, 'promptKey'],
        ['/v1/assign', { promptKey: key, subjectId: 's', extra: 1 }, 'body'],
      ];
      for (const [path, body, field] of cases) {
        const res = await refusedWithoutWrites(400, () => ingest('POST', path, body));
        expect(res.body.field, `${path} ${JSON.stringify(body).slice(0, 100)}: ${res.text}`).toBe(field);
      }
      const unknown = await refusedWithoutWrites(400, () =>
        ingest('POST', '/v1/conversations', { ...good, versionId: '00000000-0000-4000-8000-000000000000' }),
      );
      expect(unknown.body.error).toMatch(/is not a version of prompt key api-ingest-bad/);
      // A version of another prompt key is refused too.
      const other = await admin('POST', '/v1/prompts', {
        promptKey: `${key}-other`,
        content: 'Another prompt for {{product}}.',
        activate: true,
      });
      await refusedWithoutWrites(400, () => ingest('POST', '/v1/conversations', { ...good, versionId: other.body.version.id }));
    });
  });

  describe('jobs', () => {
    it('creating a job starts its workflow; the row ends completed; /health counters move', async () => {
      const key = 'api-job';
      await seedPromptWithWeakSegment(svc.store, key);
      const health0 = await http('GET', '/health');
      const res = await admin('POST', '/v1/jobs', { type: 'pattern_analysis', params: { promptKey: key }, createdBy: 'erin' });
      expect(res.status).toBe(201);
      const job = res.body.job;
      expect(job).toMatchObject({ type: 'pattern_analysis', params: { promptKey: key }, created_by: 'erin' });
      expect(res.body.workflowId).toBe(`job-${job.id}`);
      expect(res.body.workflowUrl).toBe(`http://localhost:8233/namespaces/${svc.namespace}/workflows/job-${job.id}`);

      const desc = await svc.temporal.client.workflow.getHandle(`job-${job.id}`).describe();
      expect(desc.type).toBe('runJob');
      expect(desc.taskQueue).toBe('prompt-optimization-test');
      const done = await jobDone(job.id);
      expect(done).toMatchObject({ status: 'completed', workflow_id: `job-${job.id}` });
      expect((done.result as { actionable: number }).actionable).toBeGreaterThan(0);
      await svc.temporal.client.workflow.getHandle(`job-${job.id}`).result();
      expect((await svc.temporal.client.workflow.getHandle(`job-${job.id}`).describe()).status.name).toBe('COMPLETED');

      const one = await admin('GET', `/v1/jobs/${job.id}`);
      expect(one.body).toMatchObject({ job: { id: job.id, status: 'completed' }, workflowUrl: res.body.workflowUrl });
      const completed = await admin('GET', '/v1/jobs?status=completed&limit=500');
      expect(completed.body.jobs.map((j: { id: number }) => j.id)).toContain(job.id);
      expect(completed.body.jobs.every((j: { status: string }) => j.status === 'completed')).toBe(true);
      const limited = await admin('GET', '/v1/jobs?limit=1');
      expect(limited.body.jobs).toHaveLength(1);

      const health1 = await http('GET', '/health');
      expect(health1.body.stats.jobsCompleted).toBe(health0.body.stats.jobsCompleted + 1);
      expect(health1.body.stats.patternsAnalyzed).toBe(health0.body.stats.patternsAnalyzed + 1);

      // The same idempotency key gives the same job back and never a second workflow run.
      const k1 = await admin('POST', '/v1/jobs', { type: 'pattern_analysis', params: { promptKey: key }, idempotencyKey: 'api-idem-1' });
      const before = await counts();
      const k2 = await admin('POST', '/v1/jobs', { type: 'pattern_analysis', params: { promptKey: key }, idempotencyKey: 'api-idem-1' });
      expect(k2.body.job.id).toBe(k1.body.job.id);
      expect(await counts()).toEqual(before);
      await jobDone(k1.body.job.id);
    });

    it('a failing job: the row is failed with the reason and jobsFailed moves', async () => {
      const h0 = (await http('GET', '/health')).body.stats.jobsFailed as number;
      const res = await admin('POST', '/v1/jobs', { type: 'variant_generation', params: { promptKey: 'api-job-no-such-prompt' } });
      expect(res.status).toBe(201);
      const done = await jobDone(res.body.job.id);
      expect(done.status).toBe('failed');
      expect(done.error).toMatch(/api-job-no-such-prompt/);
      expect((await http('GET', '/health')).body.stats.jobsFailed).toBe(h0 + 1);
    });

    it('400 naming the field for invalid bodies, params and query; nothing written', async () => {
      const cases: Array<[string, string, unknown, string]> = [
        ['POST', '/v1/jobs', { type: 'bogus', params: {} }, 'type'],
        ['POST', '/v1/jobs', { params: { promptKey: 'k' } }, 'type'],
        ['POST', '/v1/jobs', { type: 'pattern_analysis', params: {} }, 'params'],
        ['POST', '/v1/jobs', { type: 'pattern_analysis', params: { promptKey: 'bad key' } }, 'params'],
        ['POST', '/v1/jobs', { type: 'pattern_analysis', params: { promptKey: 'k', windowHours: 0 } }, 'params'],
        ['POST', '/v1/jobs', { type: 'pattern_analysis', params: { promptKey: 'k', extra: true } }, 'params'],
        ['POST', '/v1/jobs', { type: 'pattern_analysis', params: 'k' }, 'params'],
        ['POST', '/v1/jobs', { type: 'experiment_monitoring', params: { experimentId: 'nope' } }, 'params'],
        ['POST', '/v1/jobs', { type: 'experiment_creation', params: { promptKey: 'k', variantVersionIds: [] } }, 'params'],
        ['POST', '/v1/jobs', { type: 'full_cycle', params: { promptKey: 'k', variantCount: 9 } }, 'params'],
        ['POST', '/v1/jobs', { type: 'full_cycle', params: { promptKey: 'k', policy: { alhpa: 0.1 } } }, 'params'],
        ['POST', '/v1/jobs', { type: 'full_cycle', params: { promptKey: 'k', policy: { alpha: 7 } } }, 'params'],
        ['POST', '/v1/jobs', { type: 'pattern_analysis', params: { promptKey: 'k' }, idempotencyKey: '' }, 'idempotencyKey'],
        ['POST', '/v1/jobs', { type: 'pattern_analysis', params: { promptKey: 'k' }, createdBy: '   ' }, 'createdBy'],
        ['POST', '/v1/jobs', { type: 'pattern_analysis', params: { promptKey: 'k' }, status: 'completed' }, 'body'],
        ['GET', '/v1/jobs?status=done', undefined, 'status'],
        ['GET', '/v1/jobs?limit=0', undefined, 'limit'],
        ['GET', '/v1/jobs?limit=501', undefined, 'limit'],
        ['GET', '/v1/jobs?limit=abc', undefined, 'limit'],
        ['GET', '/v1/jobs?status=running&status=failed', undefined, 'status'],
        ['GET', '/v1/jobs/abc', undefined, 'id'],
        ['GET', '/v1/jobs/0', undefined, 'id'],
        ['GET', '/v1/jobs/1.5', undefined, 'id'],
        ['GET', '/v1/jobs/-3', undefined, 'id'],
      ];
      for (const [method, path, body, field] of cases) {
        const res = await refusedWithoutWrites(400, () => admin(method, path, body));
        expect(res.body.field, `${method} ${path} ${JSON.stringify(body)}: ${res.text}`).toBe(field);
      }
      const pk = await admin('POST', '/v1/jobs', { type: 'pattern_analysis', params: { promptKey: 'bad key' } });
      expect(pk.body.error).toMatch(/params\.promptKey/);
      expect((await admin('GET', '/v1/jobs/99999999')).status).toBe(404);
      expect((await admin('GET', '/v1/jobs/99999999999999999999999')).status).toBe(400);
    });
  });

  describe('experiments', () => {
    async function experimentViaJob(key: string, policy: Record<string, unknown>) {
      const control = await admin('POST', '/v1/prompts', {
        promptKey: key,
        content: `You are the support assistant of {{product}} (${key}).`,
        activate: true,
      });
      expect(control.status).toBe(201);
      const variant = await admin('POST', '/v1/prompts', {
        promptKey: key,
        content: `You are the support assistant of {{product}} (${key}). Answer billing questions with the invoice id.`,
      });
      expect(variant.body.version.status).toBe('candidate');
      const job = await admin('POST', '/v1/jobs', {
        type: 'experiment_creation',
        params: { promptKey: key, variantVersionIds: [variant.body.version.id], policy },
      });
      expect(job.status, job.text).toBe(201);
      const done = await jobDone(job.body.job.id);
      expect(done.status, JSON.stringify(done)).toBe('completed');
      return {
        controlId: control.body.version.id as string,
        variantId: variant.body.version.id as string,
        experimentId: (done.result as { experimentId: string }).experimentId,
      };
    }

    it('lists and reads experiments with the live monitor status; approves a pending promotion', async () => {
      const key = 'api-exp-approve';
      const { controlId, variantId, experimentId } = await experimentViaJob(key, { ...FAST_POLICY, requireApproval: true });

      const list = await admin('GET', '/v1/experiments');
      expect(list.status).toBe(200);
      expect(list.body.experiments.map((e: { id: string }) => e.id)).toContain(experimentId);
      const filtered = await admin('GET', `/v1/experiments?status=running&promptKey=${key}&limit=5`);
      expect(filtered.body.experiments).toHaveLength(1);
      expect(filtered.body.experiments[0]).toMatchObject({ id: experimentId, prompt_key: key, status: 'running' });
      expect((await admin('GET', `/v1/experiments?status=concluded&promptKey=${key}`)).body.experiments).toEqual([]);

      const live = await waitFor(
        async () => {
          const r = await admin('GET', `/v1/experiments/${experimentId}`);
          return r.body.live && r.body.live.checks >= 1 ? r : undefined;
        },
        { what: 'live status' },
      );
      expect(live.status).toBe(200);
      expect(live.body.live).toMatchObject({ experimentId, phase: 'monitoring', pendingWinner: null, outcome: null });
      expect(live.body.experiment).toMatchObject({ id: experimentId, status: 'running', control_version_id: controlId });
      expect(live.body.snapshots.length).toBeGreaterThanOrEqual(1);
      expect(live.body.workflowUrl).toBe(`http://localhost:8233/namespaces/${svc.namespace}/workflows/experiment-${experimentId}`);

      const early = await refusedWithoutWrites(409, () => admin('POST', `/v1/experiments/${experimentId}/approve`, { approver: 'alice' }));
      expect(early.body.error).toMatch(/nothing awaits approval/);
      await refusedWithoutWrites(400, () => admin('POST', `/v1/experiments/${experimentId}/approve`, {}));
      const badApprover = await refusedWithoutWrites(400, () =>
        admin('POST', `/v1/experiments/${experimentId}/approve`, { approver: '  ' }),
      );
      expect(badApprover.body.field).toBe('approver');

      await driveTraffic(svc.store, key, (v) => (v === controlId ? 0.45 : 0.9), { subjects: 600, seed: 5 });
      await waitFor(
        async () => {
          const r = await admin('GET', `/v1/experiments/${experimentId}`);
          return r.body.live?.phase === 'awaiting_approval' ? r : undefined;
        },
        { what: 'awaiting approval' },
      );
      const approved = await admin('POST', `/v1/experiments/${experimentId}/approve`, { approver: 'alice', note: 'ship it' });
      expect(approved.status, approved.text).toBe(200);
      expect(approved.body.promotion).toMatchObject({ kind: 'approval', actor: 'alice', toVersionId: variantId, created: true });
      expect((await svc.store.getActivePrompt(key)).id).toBe(variantId);

      const concluded = await waitFor(
        async () => {
          const r = await admin('GET', `/v1/experiments/${experimentId}`);
          return r.body.experiment.status === 'concluded' ? r : undefined;
        },
        { what: 'concluded' },
      );
      expect(concluded.body.live).toBeNull();
      expect(concluded.body.experiment).toMatchObject({ outcome: 'promoted', winner_version_id: variantId });
      const late = await refusedWithoutWrites(409, () => admin('POST', `/v1/experiments/${experimentId}/approve`, { approver: 'bob' }));
      expect(late.body.error).toMatch(/cannot approve/);
      expect(await svc.store.listPromotionEvents(key)).toHaveLength(1);
      const hist = await admin('GET', `/v1/prompts/${key}`);
      expect(hist.body.promotions).toHaveLength(1);
      expect(hist.body.promotions[0]).toMatchObject({ kind: 'approval', actor: 'alice' });

      // Rollback to the version the promotion replaced: an audit row, control active again.
      const badRollback = await refusedWithoutWrites(400, () => admin('POST', `/v1/prompts/${key}/rollback`, { actor: 'dana' }));
      expect(badRollback.body.field).toBe('reason');
      const rb = await admin('POST', `/v1/prompts/${key}/rollback`, { actor: 'dana', reason: 'support tickets went up' });
      expect(rb.status, rb.text).toBe(200);
      expect(rb.body.event).toMatchObject({ kind: 'rollback', actor: 'dana', from_version_id: variantId, to_version_id: controlId });
      expect((await svc.store.getActivePrompt(key)).id).toBe(controlId);
      expect((await admin('GET', `/v1/prompts/${key}`)).body.promotions).toHaveLength(2);
    });

    it('pauses, resumes and stops a running experiment', async () => {
      const key = 'api-exp-signals';
      const { controlId, experimentId } = await experimentViaJob(key, { ...FAST_POLICY, checkIntervalSeconds: 3600 });

      const paused = await admin('POST', `/v1/experiments/${experimentId}/pause`);
      expect(paused.status).toBe(202);
      expect(paused.body).toEqual({
        accepted: 'pause',
        experimentId,
        workflowUrl: `http://localhost:8233/namespaces/${svc.namespace}/workflows/experiment-${experimentId}`,
      });
      await waitFor(async () => (await admin('GET', `/v1/experiments/${experimentId}`)).body.experiment.status === 'paused', {
        what: 'paused',
      });
      const p = await admin('GET', `/v1/experiments/${experimentId}`);
      expect(p.body.live.phase).toBe('paused');
      expect((await ingest('POST', '/v1/assign', { promptKey: key, subjectId: 'anyone' })).body.version_id).toBe(controlId);
      expect((await admin('GET', `/v1/experiments?status=paused&promptKey=${key}`)).body.experiments).toHaveLength(1);

      const resumed = await admin('POST', `/v1/experiments/${experimentId}/resume`, { ignored: true });
      expect(resumed.status).toBe(202);
      await waitFor(async () => (await admin('GET', `/v1/experiments/${experimentId}`)).body.experiment.status === 'running', {
        what: 'running',
      });

      const badStop = await refusedWithoutWrites(400, () => admin('POST', `/v1/experiments/${experimentId}/stop`, { reason: 5 }));
      expect(badStop.body.field).toBe('reason');
      const stopped = await admin('POST', `/v1/experiments/${experimentId}/stop`, { reason: 'api test', actor: 'frank' });
      expect(stopped.status).toBe(202);
      const c = await waitFor(
        async () => {
          const r = await admin('GET', `/v1/experiments/${experimentId}`);
          return r.body.experiment.status === 'concluded' ? r : undefined;
        },
        { what: 'stopped' },
      );
      expect(c.body.experiment).toMatchObject({ outcome: 'stopped' });
      expect((c.body.experiment.decision as { reason: string }).reason).toBe('api test');
      for (const action of ['pause', 'resume', 'stop']) {
        const late = await refusedWithoutWrites(409, () => admin('POST', `/v1/experiments/${experimentId}/${action}`, {}));
        expect(late.body.error).toMatch(/concluded/);
      }
    });

    it('restarts a live experiment as a new one: same arms, fresh evidence, a new monitor; a retry returns the same twin', async () => {
      const key = 'api-exp-restart';
      const { variantId, experimentId } = await experimentViaJob(key, { ...FAST_POLICY, checkIntervalSeconds: 3600 });
      const noActor = await refusedWithoutWrites(400, () => admin('POST', `/v1/experiments/${experimentId}/restart`, { reason: 'x' }));
      expect(noActor.body.field).toBe('actor');

      const restarted = await admin('POST', `/v1/experiments/${experimentId}/restart`, { actor: 'ops', reason: 'assignment fixed' });
      expect(restarted.status, restarted.text).toBe(201);
      const twin = restarted.body.experiment;
      expect(twin.id).not.toBe(experimentId);
      expect(restarted.body.restartedFrom).toBe(experimentId);
      expect(twin).toMatchObject({ prompt_key: key, status: 'running' });
      expect(twin.arms.map((a: { arm: number; version_id: string }) => [a.arm, a.version_id])[1]).toEqual([1, variantId]);
      expect(twin.policy).toMatchObject({ checkIntervalSeconds: 3600 });

      const old = (await admin('GET', `/v1/experiments/${experimentId}`)).body.experiment;
      expect(old).toMatchObject({ status: 'concluded', outcome: 'stopped' });
      expect(old.decision.reason).toBe('Restarted as a new experiment by ops: assignment fixed');
      const monitor = await svc.temporal.client.workflow.getHandle(`experiment-${twin.id}`).describe();
      expect(monitor.status.name).toBe('RUNNING');

      const again = await admin('POST', `/v1/experiments/${experimentId}/restart`, { actor: 'ops' });
      expect(again.status).toBe(200);
      expect(again.body.experiment.id).toBe(twin.id);
      const live = (await admin('GET', `/v1/experiments?promptKey=${key}&status=running`)).body.experiments;
      expect(live.map((e: { id: string }) => e.id)).toEqual([twin.id]);

      await admin('POST', `/v1/experiments/${twin.id}/stop`, { reason: 'done', actor: 'ops' });
      await waitFor(async () => (await admin('GET', `/v1/experiments/${twin.id}`)).body.experiment.status === 'concluded', {
        what: 'twin stopped',
      });
      const concluded = await refusedWithoutWrites(409, () => admin('POST', `/v1/experiments/${twin.id}/restart`, { actor: 'ops' }));
      expect(concluded.body.error).toMatch(/already concluded/);
    });

    it('400 for a bad experiment id or query, 404 for an unknown one; nothing written', async () => {
      for (const path of ['/v1/experiments/123', '/v1/experiments/not-a-uuid', '/v1/experiments/zzzzzzzz-0000-4000-8000-000000000000']) {
        const res = await refusedWithoutWrites(400, () => admin('GET', path));
        expect(res.body.field).toBe('id');
      }
      for (const action of ['approve', 'stop', 'pause', 'resume', 'restart']) {
        const body = action === 'approve' ? { approver: 'a' } : action === 'restart' ? { actor: 'a' } : {};
        const res = await refusedWithoutWrites(400, () => admin('POST', `/v1/experiments/nope/${action}`, body));
        expect(res.body.field).toBe('id');
        const unknown = await refusedWithoutWrites(404, () =>
          admin('POST', `/v1/experiments/00000000-0000-4000-8000-000000000000/${action}`, body),
        );
        expect(unknown.body.error).toMatch(/not found/);
      }
      expect((await admin('GET', '/v1/experiments/00000000-0000-4000-8000-000000000000')).status).toBe(404);
      for (const [q, field] of [
        ['status=done', 'status'],
        ['promptKey=bad%20key', 'promptKey'],
        ['limit=-1', 'limit'],
      ]) {
        const res = await refusedWithoutWrites(400, () => admin('GET', `/v1/experiments?${q}`));
        expect(res.body.field).toBe(field);
      }
    });
  });

  describe('health and metrics', () => {
    it('GET /health is 200 with exactly the documented shape', async () => {
      const res = await http('GET', '/health');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(Object.keys(res.body).sort()).toEqual(['checks', 'stats', 'status', 'timestamp', 'totals', 'uptime']);
      expect(res.body.status).toBe('healthy');
      expect(res.body.checks).toEqual({ worker: 'ok', store: 'ok', temporal: 'ok' });
      // Database totals beside the per-process counters: the same facts across workers and restarts.
      const totals = res.body.totals;
      expect(Object.keys(totals).sort()).toEqual(['experiments', 'jobs', 'promotions', 'promptKeys', 'promptVersions', 'rollbacks']);
      expect(Object.keys(totals.jobs).sort()).toEqual(['completed', 'failed', 'pending', 'running']);
      expect(Object.keys(totals.experiments).sort()).toEqual(['concluded', 'paused', 'promoted', 'running']);
      const db = pg
        ? (
            await pg.query<{ jobs: number; completed: number; keys: number }>(
              "select count(*)::int as jobs, (count(*) filter (where status = 'completed'))::int as completed, (select count(distinct prompt_key)::int from public.ai_prompt_versions) as keys from public.optimization_jobs",
            )
          ).rows[0]!
        : undefined;
      if (db) {
        expect(totals.jobs.pending + totals.jobs.running + totals.jobs.completed + totals.jobs.failed).toBe(db.jobs);
        expect(totals.jobs.completed).toBe(db.completed);
        expect(totals.promptKeys).toBe(db.keys);
      }
      expect(totals.jobs.completed).toBeGreaterThanOrEqual(res.body.stats.jobsCompleted);
      expect(typeof res.body.uptime).toBe('number');
      expect(res.body.uptime).toBeGreaterThanOrEqual(0);
      expect(Object.keys(res.body.stats).sort()).toEqual([
        'experimentsCompleted',
        'experimentsCreated',
        'jobsCompleted',
        'jobsFailed',
        'patternsAnalyzed',
        'variantsGenerated',
      ]);
      for (const v of Object.values(res.body.stats)) expect(Number.isInteger(v)).toBe(true);
      expect(new Date(res.body.timestamp).toISOString()).toBe(res.body.timestamp);
      expect(Math.abs(Date.parse(res.body.timestamp) - Date.now())).toBeLessThan(10_000);
    });

    it('GET /metrics is Prometheus text with activity and process metrics', async () => {
      const res = await http('GET', '/metrics');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
      expect(res.text).toMatch(/^# HELP pow_activity_executions_total /m);
      expect(res.text).toMatch(/^# TYPE pow_activity_executions_total counter$/m);
      const ok = /^pow_activity_executions_total\{activity="startJob",result="ok"\} (\d+)$/m.exec(res.text);
      expect(ok, 'startJob ran').not.toBeNull();
      expect(Number(ok![1])).toBeGreaterThanOrEqual(1);
      expect(res.text).toMatch(/^pow_activity_executions_total\{activity="analyzePatterns",result="ok"\} [1-9]\d*$/m);
      expect(res.text).toMatch(/^pow_activity_duration_seconds_count\{activity="startJob"\} [1-9]\d*$/m);
      expect(res.text).toMatch(/^pow_process_cpu_user_seconds_total [\d.e+-]+$/m);
      expect(res.text).toMatch(/^pow_process_resident_memory_bytes \d+$/m);
      expect(res.text).toMatch(/^pow_nodejs_heap_size_used_bytes \d+$/m);
      expect(res.text).toMatch(/^pow_http_requests_total\{route="\/jobs",status="201"\} [1-9]\d*$/m);
      expect(res.text).toMatch(/^pow_http_requests_total\{route="unmatched",status="401"\} [1-9]\d*$/m);
    });

    it('GET /health is 503 while the store is unreachable, and healthy again after', async () => {
      if (svc.databaseUrl) {
        const dbName = new URL(svc.databaseUrl).pathname.slice(1);
        const su = new PgClient({ connectionString: process.env.DATABASE_URL });
        await su.connect();
        try {
          await su.query(`alter database ${dbName} with allow_connections false`);
          await su.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [dbName]);
          const res = await http('GET', '/health');
          expect(res.status).toBe(503);
          expect(res.body).toMatchObject({
            status: 'unhealthy',
            reason: 'store unreachable',
            stats: expect.any(Object),
            uptime: expect.any(Number),
          });
          // Writes are refused while the database refuses connections. (PostgreSQL reports this
          // at connect time as SQLSTATE 55000, which the store maps to "conflict": 409, not 503.)
          const w = await http('POST', '/v1/prompts', {
            token: ADMIN_TOKEN,
            body: { promptKey: 'while-down', content: 'never stored here' },
          });
          expect(w.status).toBeGreaterThanOrEqual(400);
          expect(w.body.error).not.toMatch(/postgres:\/\//);
        } finally {
          await su.query(`alter database ${dbName} with allow_connections true`);
          await su.end();
        }
        // Our own counting client was terminated too: reconnect it.
        await pg!.end().catch(() => undefined);
        pg = await countingClient(svc.databaseUrl);
        const back = await waitFor(
          async () => {
            const r = await http('GET', '/health');
            return r.status === 200 ? r : undefined;
          },
          { what: 'healthy again' },
        );
        expect(back.body.status).toBe('healthy');
      } else {
        // PGlite lives in this process: the only way to lose it is to close it.
        await svc.store.close();
        const res = await http('GET', '/health');
        expect(res.status).toBe(503);
        expect(res.body).toMatchObject({ status: 'unhealthy', reason: 'store unreachable' });
      }
    });

    it('GET /health is 503 when the Temporal worker is not running', async () => {
      svc.worker.shutdown();
      await svc.done;
      expect(svc.worker.getState()).toBe('STOPPED');
      const res = await http('GET', '/health');
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'unhealthy', reason: 'temporal worker is STOPPED', stats: expect.any(Object) });
      expect(Object.keys(res.body).sort()).toEqual(['checks', 'reason', 'stats', 'status', 'timestamp', 'totals', 'uptime']);
      expect(res.body.checks).toEqual({ worker: 'temporal worker is STOPPED', store: 'ok', temporal: 'ok' });
    });
  });
});
