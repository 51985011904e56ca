import { DefaultLogger, Runtime } from '@temporalio/worker';
import fc from 'fast-check';
import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, INGEST_TOKEN, startTestService, type TestService } from '../helpers/service';
import { controlAndVariant } from '../helpers/store-fixture';
import { waitFor } from '../helpers/traffic';

/**
 * Property-based fuzzing of every HTTP route of the real service over a real socket: random
 * JSON bodies (right fields with wrong types or values, extra fields, any JSON at all), raw
 * bytes with odd content types and encodings, random path parameters and query strings.
 * Invariants: never a 5xx; a refused request (4xx) writes no row in any table; a GET never
 * writes; the server answers /health afterwards. Seeds are printed by fast-check on failure.
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
  'ai_conversation_feedback',
  'ai_rollouts',
  'ai_rollout_events',
  'ai_rollout_checks',
] as const;
const COUNT_SQL = `select ${TABLES.map((t) => `(select count(*)::int from public.${t}) as ${t}`).join(', ')}`;
type Counts = Record<(typeof TABLES)[number], number>;

// Dozens of fuzzed jobs fail on purpose: keep the SDK's activity-failure warnings out of the output.
Runtime.install({ logger: new DefaultLogger('ERROR') });

const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
const UUID0 = '00000000-0000-4000-8000-000000000000';

// --- arbitraries --------------------------------------------------------------------------------

const anyJson = fc.jsonValue({ maxDepth: 3 });
/** Values that are wrong for almost every field, and some that are wrong in sneaky ways. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  anyJson,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom<unknown>(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\uffff',
    'x'.repeat(300),
    'y'.repeat(60_000),
    -1,
    0,
    -0,
    1.5,
    1e308,
    -1e308,
    2 ** 53 + 1,
    2 ** 31,
    true,
    false,
    null,
    [],
    {},
    [null],
    { $ne: null },
    '../../etc/passwd',
    "'; drop table x; --",
    '00000000-0000-0000-0000-000000000000',
    UUID0.toUpperCase(),
    '2020-01-01T00:00:00Z',
  ),
);
type Obj = Record<string, unknown>;
const text = (max = 50) => fc.string({ maxLength: max });
const nonBlank = (max = 50) => fc.string({ minLength: 1, maxLength: max }).filter((t) => t.trim() !== '');
const uuid = fc.oneof(fc.uuid(), fc.constant(UUID0));
const validKey = (pool: string[]) =>
  fc.oneof(
    fc.constantFrom(...pool),
    fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}$/).map((k) => `z${k}`),
  );
/** Optional fields: each present or absent. */
const rec = (fields: Record<string, fc.Arbitrary<unknown>>, required: string[] = []) =>
  fc.record(fields, { requiredKeys: required }) as fc.Arbitrary<Obj>;

/**
 * Bodies around a valid shape: valid as is, valid with one field replaced by a weird value (or
 * one weird extra key), valid with fields dropped, or any JSON at all.
 */
function bodies(valid: fc.Arbitrary<Obj>, fields: string[]): fc.Arbitrary<unknown> {
  const extraKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'status', 'id', 'createdAt'), fc.string({ maxLength: 8 }));
  return fc.oneof(
    { weight: 3, arbitrary: valid },
    { weight: 4, arbitrary: fc.tuple(valid, fc.constantFrom(...fields), weird).map(([v, k, w]) => ({ ...v, [k]: w })) },
    { weight: 1, arbitrary: fc.tuple(valid, extraKey, weird).map(([v, k, w]) => ({ ...v, [k]: w })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(valid, fc.subarray(fields, { minLength: 1 }))
        .map(([v, drop]) => Object.fromEntries(Object.entries(v).filter(([k]) => !drop.includes(k)))),
    },
    { weight: 1, arbitrary: anyJson },
  );
}

const validPolicy = rec({
  metric: fc.constantFrom('success', 'rating'),
  alpha: fc.double({ min: 0.001, max: 0.5, noNaN: true }),
  expectedEffect: fc.double({ min: 0.01, max: 5, noNaN: true }),
  minSamplesPerArm: fc.integer({ min: 1, max: 1000 }),
  minSuccessesPerArm: fc.integer({ min: 0, max: 100 }),
  checkIntervalSeconds: fc.integer({ min: 1, max: 86_400 }),
  maxDurationHours: fc.double({ min: 0.1, max: 1000, noNaN: true }),
  minDurationHours: fc.double({ min: 0, max: 1000, noNaN: true }),
  recentWindowHours: fc.double({ min: 0.1, max: 720, noNaN: true }),
  topicAdjustment: fc.boolean(),
  requireApproval: fc.boolean(),
  guardrails: rec({
    errorRateMargin: fc.double({ min: 0, max: 1, noNaN: true }),
    latencyP95Margin: fc.double({ min: 0, max: 100, noNaN: true }),
  }),
});
const policy = bodies(validPolicy, [
  'metric',
  'alpha',
  'expectedEffect',
  'minSamplesPerArm',
  'checkIntervalSeconds',
  'maxDurationHours',
  'minDurationHours',
  'recentWindowHours',
  'topicAdjustment',
  'requireApproval',
  'guardrails',
]);

// Jobs name prompt keys nobody creates: their workflows fail fast and write nothing but the job row.
const jobKey = validKey(['fuzz-job-a', 'fuzz-job-b']).map((k) => (k.startsWith('z') ? `fuzz-job-${k}` : k));
const validJob = fc
  .oneof(
    fc.record({
      type: fc.constant('pattern_analysis'),
      params: rec({ promptKey: jobKey, windowHours: fc.integer({ min: 1, max: 8760 }) }, ['promptKey']),
    }),
    fc.record({
      type: fc.constant('variant_generation'),
      params: rec({ promptKey: jobKey, variantCount: fc.integer({ min: 1, max: 5 }), strategy: fc.constantFrom('rules', 'llm') }, [
        'promptKey',
      ]),
    }),
    fc.record({
      type: fc.constant('full_cycle'),
      params: rec({ promptKey: jobKey, variantCount: fc.integer({ min: 1, max: 5 }), force: fc.boolean(), policy: validPolicy }, [
        'promptKey',
      ]),
    }),
    fc.record({
      type: fc.constant('experiment_creation'),
      params: rec(
        {
          promptKey: jobKey,
          variantVersionIds: fc.array(fc.uuid(), { minLength: 1, maxLength: 3 }),
          metric: fc.constantFrom('success', 'rating'),
        },
        ['promptKey', 'variantVersionIds'],
      ),
    }),
    fc.record({ type: fc.constant('experiment_monitoring'), params: rec({ experimentId: fc.uuid() }, ['experimentId']) }),
  )
  .chain((job) =>
    fc
      .tuple(
        bodies(fc.constant(job.params), [...Object.keys(job.params), 'policy', 'weights']),
        rec({ idempotencyKey: nonBlank(30), createdBy: nonBlank(30) }),
      )
      .map(([params, extra]) => ({ type: job.type, params, ...extra })),
  );
const jobBody = bodies(validJob, ['type', 'params', 'idempotencyKey', 'createdBy']);

const promptBody = bodies(
  rec({ promptKey: validKey(['fuzz-prompt-a', 'fuzz-prompt-b']), content: nonBlank(200), activate: fc.boolean(), rationale: text() }, [
    'promptKey',
    'content',
  ]),
  ['promptKey', 'content', 'activate', 'rationale'],
);
const rollbackBody = bodies(rec({ actor: nonBlank(), reason: nonBlank() }, ['actor', 'reason']), ['actor', 'reason']);
const actionBody = bodies(rec({ approver: nonBlank(), note: text(), reason: text(), actor: nonBlank() }), [
  'approver',
  'note',
  'reason',
  'actor',
]);
const assignBody = bodies(rec({ promptKey: validKey(['fuzz-seeded']), subjectId: nonBlank(200) }, ['promptKey', 'subjectId']), [
  'promptKey',
  'subjectId',
]);
const conversationBody = (versionId: string) =>
  bodies(
    rec(
      {
        promptKey: fc.constant('fuzz-seeded'),
        versionId: fc.oneof({ weight: 4, arbitrary: fc.constant(versionId) }, { weight: 1, arbitrary: uuid }),
        success: fc.boolean(),
        subjectId: nonBlank(),
        topic: text(),
        rating: fc.integer({ min: 1, max: 5 }),
        latencyMs: fc.integer({ min: 0, max: 86_400_000 }),
        tokens: fc.integer({ min: 0, max: 10_000_000 }),
        error: text(),
        externalId: nonBlank(),
        inputExcerpt: text(),
        outputExcerpt: text(),
      },
      ['promptKey', 'versionId', 'success'],
    ),
    ['promptKey', 'versionId', 'success', 'subjectId', 'topic', 'rating', 'latencyMs', 'tokens', 'error', 'externalId', 'inputExcerpt'],
  );

// Host-app SDK routes: batches of rows around the conversation shape (plus createdAt, externalId
// required), feedback items around { externalId, success, rating }, one at a time or as items.
const batchRow = (versionId: string) =>
  bodies(
    rec(
      {
        promptKey: fc.constant('fuzz-seeded'),
        versionId: fc.oneof({ weight: 4, arbitrary: fc.constant(versionId) }, { weight: 1, arbitrary: uuid }),
        success: fc.boolean(),
        externalId: nonBlank(),
        subjectId: nonBlank(),
        rating: fc.integer({ min: 1, max: 5 }),
        topic: text(),
        createdAt: fc
          .date({ min: new Date('2020-01-01'), max: new Date(Date.now() + 3_600_000), noInvalidDate: true })
          .map((d) => d.toISOString()),
      },
      ['promptKey', 'versionId', 'success', 'externalId'],
    ),
    ['promptKey', 'versionId', 'success', 'externalId', 'createdAt', 'rating'],
  );
const batchBody = (versionId: string) =>
  bodies(rec({ rows: fc.array(batchRow(versionId), { minLength: 0, maxLength: 8 }) }, ['rows']), ['rows']);
const feedbackItem = bodies(
  rec(
    {
      externalId: fc.oneof(fc.constantFrom('fuzz-fb-1', 'fuzz-fb-2', 'fuzz-fb-old'), nonBlank()),
      success: fc.boolean(),
      rating: fc.integer({ min: 1, max: 5 }),
    },
    ['externalId'],
  ),
  ['externalId', 'success', 'rating'],
);
const feedbackBody = fc.oneof(feedbackItem, bodies(rec({ items: fc.array(feedbackItem, { maxLength: 6 }) }, ['items']), ['items']));

/** Path segments: plain, percent-encoded anything, broken percent-encoding, dots. */
const segment = fc.oneof(
  fc.uuid(),
  fc.integer({ min: -5, max: 2 ** 40 }).map(String),
  fc.stringMatching(/^[a-z0-9-]{1,12}$/),
  fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => encodeURIComponent(s)),
  fc.constantFrom(
    '%',
    '%E0',
    '%zz',
    '%E0%A4%A',
    '%00',
    '%2F',
    '%2e%2e',
    '..',
    '.',
    '1e3',
    '0x10',
    ' 1',
    '1%20',
    'NaN',
    'Infinity',
    '-0',
    '9'.repeat(40),
  ),
);
const queryString = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom('status', 'limit', 'promptKey', 'limit[]', 'status[a]', '__proto__'), fc.stringMatching(/^[a-z]{1,6}$/)),
      fc.oneof(
        fc.constantFrom(
          'running',
          'completed',
          'paused',
          'concluded',
          '1',
          '500',
          '501',
          '0',
          '-1',
          '1.5',
          'abc',
          '',
          '%',
          '%zz',
          '%E0',
          'a%00b',
        ),
        fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => encodeURIComponent(s)),
      ),
    ),
    { maxLength: 4 },
  )
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

// --- the test -----------------------------------------------------------------------------------

describe('fuzzing the HTTP API', () => {
  let svc: TestService;
  let pg: PgClient | undefined;
  let seededVersionId: string;
  const stats = { requests: 0, byStatus: new Map<number, number>() };
  /** Status classes seen per route (the path with parameters replaced), to show the fuzz reached both sides. */
  const seen = new Map<string, Set<string>>();
  const routeOf = (method: string, path: string) => {
    const p = path.split('?')[0]!.replace(/^\/v1\/(jobs|experiments|prompts|rollouts)\/[^/]+/, '/v1/$1/:x');
    return `${method} ${/^\/v1\/(jobs|experiments|prompts|policies|assign|conversations|serving|feedback|rollouts)\b/.test(p) ? p : '(other)'}`;
  };

  beforeAll(async () => {
    svc = await startTestService();
    if (svc.databaseUrl) {
      pg = new PgClient({ connectionString: svc.databaseUrl });
      await pg.connect();
    }
    seededVersionId = (
      await svc.store.createPromptVersion({ promptKey: 'fuzz-seeded', content: 'You help users of {{product}}.', activate: true })
    ).id;
  });
  afterAll(async () => {
    console.info(`fuzz: ${stats.requests} requests, by status: ${JSON.stringify(Object.fromEntries([...stats.byStatus].sort()))}`);
    console.info(`fuzz: status classes by route: ${JSON.stringify(Object.fromEntries([...seen].map(([k, v]) => [k, [...v].sort()])))}`);
    await pg?.end();
    await svc?.teardown();
  });

  async function counts(): Promise<Counts> {
    if (pg) return (await pg.query<Counts>(COUNT_SQL)).rows[0]!;
    const db = (svc.store.transport as unknown as { db: { query<R>(sql: string): Promise<{ rows: R[] }> } }).db;
    return (await db.query<Counts>(COUNT_SQL)).rows[0]!;
  }

  /**
   * Sends one request and checks the invariants: no 5xx, a JSON error for a 4xx, and no row
   * written by a refused request (or by any GET).
   */
  async function check(
    method: string,
    path: string,
    opts: { token: string; body?: string | Buffer; headers?: Record<string, string> },
  ): Promise<number> {
    const before = await counts();
    const headers: Record<string, string> = { authorization: `Bearer ${opts.token}`, ...opts.headers };
    if (opts.body !== undefined && !('content-type' in headers)) headers['content-type'] = 'application/json';
    const res = await fetch(`${svc.baseUrl}${path}`, { method, headers, body: opts.body });
    const text = await res.text();
    stats.requests++;
    stats.byStatus.set(res.status, (stats.byStatus.get(res.status) ?? 0) + 1);
    const r = routeOf(method, path);
    seen.set(r, (seen.get(r) ?? new Set()).add(`${String(res.status)[0]}xx`));
    const what = `${method} ${path} ${typeof opts.body === 'string' ? opts.body.slice(0, 300) : ''} -> ${res.status} ${text.slice(0, 300)}`;
    expect(res.status, what).toBeLessThan(500);
    expect(res.status, what).toBeGreaterThanOrEqual(200);
    if (res.status >= 400) {
      expect(typeof (JSON.parse(text) as { error?: unknown }).error, what).toBe('string');
    }
    if (res.status >= 400 || method === 'GET') expect(await counts(), `rows written by ${what}`).toEqual(before);
    return res.status;
  }

  const post = (path: string, token: string, value: unknown) => check('POST', path, { token, body: JSON.stringify(value) });
  const property = <T>(arb: fc.Arbitrary<T>, fn: (v: T) => Promise<unknown>, numRuns = RUNS) =>
    fc.assert(
      fc.asyncProperty(arb, async (v) => {
        await fn(v);
      }),
      { numRuns },
    );

  it('POST /v1/jobs', async () => {
    await property(jobBody, (b) => post('/v1/jobs', ADMIN_TOKEN, b));
    // Valid jobs started workflows: let them all finish so no background write lands in a later count.
    await waitFor(
      async () => {
        const busy = [
          ...(await svc.store.listJobs({ status: 'pending', limit: 500 })),
          ...(await svc.store.listJobs({ status: 'running', limit: 500 })),
        ];
        return busy.length === 0;
      },
      { timeoutMs: 45_000, what: 'fuzzed jobs to finish' },
    );
  });

  it('POST /v1/prompts and /v1/prompts/:key/rollback', async () => {
    await property(promptBody, (b) => post('/v1/prompts', ADMIN_TOKEN, b));
    await property(
      fc.tuple(fc.oneof(segment, fc.constantFrom('fuzz-prompt-a', 'fuzz-seeded')), rollbackBody),
      ([key, b]) => post(`/v1/prompts/${key}/rollback`, ADMIN_TOKEN, b),
      Math.ceil((RUNS * 2) / 3),
    );
  });

  it('POST /v1/experiments/:id/{approve,stop,pause,resume} and /v1/policies/validate', async () => {
    await property(
      fc.tuple(fc.constantFrom('approve', 'stop', 'pause', 'resume'), fc.oneof(uuid, segment), actionBody),
      ([action, id, b]) => post(`/v1/experiments/${id}/${action}`, ADMIN_TOKEN, b),
    );
    await property(policy, (b) => post('/v1/policies/validate', ADMIN_TOKEN, b), Math.ceil((RUNS * 2) / 3));
  });

  /** Promotes a variant of a new prompt key into a five-step rollout and returns the rollout's id. */
  async function liveRollout(promptKey: string): Promise<string> {
    const { variant } = await controlAndVariant(svc.store, promptKey, { control: 'Be helpful.', variant: 'Be brief.' });
    const exp = await svc.store.createExperiment({ promptKey, variantVersionIds: [variant.id] });
    const steps = [0.25, 0.5, 0.75, 0.9, 1].map((share) => ({ share, holdHours: 1000 }));
    const plan = { steps, holdbackShare: 0.05, watchHours: 8760, margin: 0 };
    const ev = await svc.store.promoteVariant({
      experimentId: exp.id,
      versionId: variant.id,
      kind: 'manual',
      actor: 'f',
      reason: 'fuzz',
      rollout: plan,
    });
    return ev.rollout!.id;
  }

  it('POST /v1/rollouts/:id/{advance,hold,resume,finish,rollback} and GET /v1/rollouts', async () => {
    // Live rollouts to steer (no watch is started for them, so nothing writes in the background).
    // The fuzzed bodies may finish or roll back the first one, so the accepted side gets its own.
    const fuzzed = await liveRollout('fuzz-rollout');
    const steered = await liveRollout('fuzz-rollout-steered');
    const steerBody = fc.oneof(actionBody, fc.record({ actor: nonBlank(), fromStep: fc.oneof(fc.integer({ min: -2, max: 12 }), weird) }));
    await property(
      fc.tuple(fc.constantFrom('advance', 'hold', 'resume', 'finish', 'rollback'), fc.oneof(fc.constant(fuzzed), uuid, segment), steerBody),
      ([action, id, b]) => post(`/v1/rollouts/${id}/${action}`, ADMIN_TOKEN, b),
    );
    // And the accepted side of the same routes (fuzzed bodies are nearly always refused).
    expect(await post(`/v1/rollouts/${steered}/hold`, ADMIN_TOKEN, { actor: 'fuzz' })).toBe(200);
    expect(await post(`/v1/rollouts/${steered}/advance`, ADMIN_TOKEN, { actor: 'fuzz', reason: 'ok' })).toBe(200);
    await property(queryString, (q) => check('GET', `/v1/rollouts?${q}`, { token: ADMIN_TOKEN }), Math.ceil(RUNS / 3));
    await property(fc.oneof(uuid, segment), (id) => check('GET', `/v1/rollouts/${id}`, { token: ADMIN_TOKEN }), Math.ceil(RUNS / 3));
  });

  it('POST /v1/assign and /v1/conversations', async () => {
    await property(assignBody, (b) => post('/v1/assign', INGEST_TOKEN, b));
    const conversation = conversationBody(seededVersionId);
    await property(conversation, (b) => post('/v1/conversations', INGEST_TOKEN, b), RUNS + 50);
  });

  it('POST /v1/conversations/batch, POST /v1/feedback and GET /v1/serving', async () => {
    await svc.store.recordConversationBatch([
      { prompt_key: 'fuzz-seeded', version_id: seededVersionId, success: true, external_id: 'fuzz-fb-1' },
      { prompt_key: 'fuzz-seeded', version_id: seededVersionId, success: false, external_id: 'fuzz-fb-2' },
      {
        prompt_key: 'fuzz-seeded',
        version_id: seededVersionId,
        success: true,
        external_id: 'fuzz-fb-old',
        created_at: new Date(Date.now() - 30 * 86_400_000).toISOString(),
      },
    ]);
    await property(batchBody(seededVersionId), (b) => post('/v1/conversations/batch', INGEST_TOKEN, b));
    await property(feedbackBody, (b) => post('/v1/feedback', INGEST_TOKEN, b));
    const servingQuery = fc.oneof(
      queryString,
      fc.array(fc.oneof(fc.constantFrom('fuzz-seeded', 'nope', ''), segment), { maxLength: 4 }).map((ks) => `promptKeys=${ks.join(',')}`),
    );
    await property(servingQuery, (q) => check('GET', `/v1/serving?${q}`, { token: INGEST_TOKEN }), Math.ceil(RUNS / 2));
  });

  it('raw bodies: any bytes, content types and encodings', async () => {
    const route = fc.constantFrom<[string, string]>(
      ['/v1/jobs', ADMIN_TOKEN],
      ['/v1/prompts', ADMIN_TOKEN],
      ['/v1/prompts/fuzz-seeded/rollback', ADMIN_TOKEN],
      [`/v1/experiments/${UUID0}/stop`, ADMIN_TOKEN],
      ['/v1/policies/validate', ADMIN_TOKEN],
      ['/v1/assign', INGEST_TOKEN],
      ['/v1/conversations', INGEST_TOKEN],
      ['/v1/conversations/batch', INGEST_TOKEN],
      ['/v1/feedback', INGEST_TOKEN],
    );
    const raw = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      anyJson.map((v) => JSON.stringify(v)),
      fc.constantFrom(
        '{',
        '{"a":1,}',
        '[1,2',
        '{"promptKey":"fuzz-seeded","subjectId":"s"}garbage',
        '\ufeff{}',
        'nul\u0000l',
        '{"a":"\\u0000"}',
        '{"a":"\\ud800"}',
      ),
    );
    const contentType = fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/json; charset=bogus',
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/vnd.api+json',
      'multipart/form-data; boundary=x',
      'garbage',
    );
    const encoding = fc.constantFrom(undefined, 'identity', 'gzip', 'deflate', 'br', 'bogus');
    await property(
      fc.tuple(route, raw, contentType, encoding),
      ([[path, token], b, ct, enc]) =>
        check('POST', path, { token, body: b, headers: { 'content-type': ct, ...(enc ? { 'content-encoding': enc } : {}) } }),
      RUNS + 50,
    );
  });

  it('GET path parameters and query strings', async () => {
    const paths = fc.oneof(
      segment.map((s) => `/v1/jobs/${s}`),
      segment.map((s) => `/v1/experiments/${s}`),
      segment.map((s) => `/v1/prompts/${s}`),
      fc.tuple(segment, segment).map(([a, b]) => `/v1/${a}/${b}`),
    );
    await property(paths, (p) => check('GET', p, { token: ADMIN_TOKEN }));
    const withQuery = fc
      .tuple(
        fc.constantFrom('/v1/jobs', '/v1/experiments', '/v1/prompts', `/v1/experiments/${UUID0}`, '/v1/jobs/1', '/v1/prompts/fuzz-seeded'),
        queryString,
      )
      .map(([p, q]) => `${p}?${q}`);
    await property(withQuery, (p) => check('GET', p, { token: ADMIN_TOKEN }));
  });

  it('hostile characters and prototype keys anywhere: 400 naming the field, nothing written', async () => {
    // Refused in every string: NUL and the other controls, a lone CR, bidi embeddings/overrides/isolates, half surrogates.
    const everywhere = [
      '\u0000',
      '\u0001',
      '\u0008',
      '\u000b',
      '\u001b',
      '\u007f',
      '\u0085',
      '\u009b',
      '\r',
      '\u202a',
      '\u202b',
      '\u202d',
      '\u202e',
      '\u2066',
      '\u2067',
      '\u2068',
      '\u2069',
      '\ud800',
      '\udfff',
    ];
    // Also refused where a field is one line (names, ids, topics).
    const oneLine = [...everywhere, '\n', '\t'];
    const UUID1 = '11111111-1111-4111-8111-111111111111';
    const routes: Array<{ path: string; token: string; base: Obj; single: string[]; multi: string[] }> = [
      {
        path: '/v1/conversations',
        token: INGEST_TOKEN,
        base: { promptKey: 'fuzz-seeded', versionId: seededVersionId, success: true },
        single: ['subjectId', 'topic', 'externalId'],
        multi: ['error', 'inputExcerpt', 'outputExcerpt'],
      },
      { path: '/v1/assign', token: INGEST_TOKEN, base: { promptKey: 'fuzz-seeded', subjectId: 's' }, single: ['subjectId'], multi: [] },
      {
        path: '/v1/prompts',
        token: ADMIN_TOKEN,
        base: { promptKey: 'fuzz-hygiene', content: 'You help.' },
        single: [],
        multi: ['content', 'rationale'],
      },
      {
        path: '/v1/prompts/fuzz-seeded/rollback',
        token: ADMIN_TOKEN,
        base: { actor: 'a', reason: 'r' },
        single: ['actor'],
        multi: ['reason'],
      },
      {
        path: '/v1/jobs',
        token: ADMIN_TOKEN,
        base: { type: 'pattern_analysis', params: { promptKey: 'fuzz-job-a' } },
        single: ['createdBy', 'idempotencyKey'],
        multi: [],
      },
      { path: `/v1/experiments/${UUID1}/stop`, token: ADMIN_TOKEN, base: {}, single: ['actor'], multi: ['reason'] },
      { path: `/v1/reviews/${UUID1}/accept`, token: ADMIN_TOKEN, base: { reviewer: 'r' }, single: ['reviewer'], multi: ['note'] },
    ];
    const placed = fc
      .constantFrom(...routes)
      .chain((r) =>
        fc
          .oneof(
            ...(r.single.length ? [fc.tuple(fc.constantFrom(...r.single), fc.constantFrom(...oneLine))] : []),
            ...(r.multi.length ? [fc.tuple(fc.constantFrom(...r.multi), fc.constantFrom(...everywhere))] : []),
          )
          .chain(([field, ch]) => fc.tuple(text(8), text(8)).map(([a, b]) => ({ r, field, value: `${a}${ch}${b}`, ch }))),
      );
    /** POSTs JSON; asserts a 400 that names `field` and that no row was written. */
    async function refused(p: string, token: string, body: string, field: string): Promise<string> {
      const before = await counts();
      const r = await fetch(`${svc.baseUrl}${p}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body,
      });
      const answer = (await r.json()) as { error: string; field?: string };
      expect({ status: r.status, field: answer.field }, `${p} ${body}`).toEqual({ status: 400, field });
      expect(await counts(), `rows written by ${p} ${body}`).toEqual(before);
      return answer.error;
    }
    await property(
      placed,
      async ({ r, field, value, ch }) => {
        const error = await refused(r.path, r.token, JSON.stringify({ ...r.base, [field]: value }), field);
        const cp = `U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
        expect(error, JSON.stringify(ch)).toMatch(
          new RegExp(`^${field}: (a key )?contains .*\\(${cp.replace('+', '\\+')} at index \\d+\\)$`),
        );
      },
      RUNS,
    );
    // One of each, checking the answer names the field and the code point (and not the text around it).
    const res = await fetch(`${svc.baseUrl}/v1/conversations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ promptKey: 'fuzz-seeded', versionId: seededVersionId, success: true, topic: 'billing\u202Esecret' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'topic: contains a bidirectional control character (U+202E at index 7)', field: 'topic' });

    // Prototype keys, at any depth of a job's params and policy and of a policy on its own: spliced into the JSON text.
    const key = fc.constantFrom('__proto__', 'constructor', 'prototype');
    const injected = fc.tuple(key, fc.constantFrom('{"x":1}', '{"polluted":true}', '1', 'null', '[]')).chain(([k, v]) =>
      fc.constantFrom(
        { path: '/v1/jobs', body: `{"type":"full_cycle","params":{"${k}":${v},"promptKey":"fuzz-job-a"}}`, field: `params.${k}` },
        {
          path: '/v1/jobs',
          body: `{"type":"full_cycle","params":{"promptKey":"fuzz-job-a","policy":{"alpha":0.05,"${k}":${v}}}}`,
          field: `params.policy.${k}`,
        },
        {
          path: '/v1/jobs',
          body: `{"type":"full_cycle","params":{"promptKey":"fuzz-job-a","policy":{"guardrails":{"${k}":${v}}}}}`,
          field: `params.policy.guardrails.${k}`,
        },
        { path: '/v1/jobs', body: `{"${k}":${v},"type":"pattern_analysis","params":{"promptKey":"fuzz-job-a"}}`, field: k },
        { path: '/v1/policies/validate', body: `{"alpha":0.05,"${k}":${v}}`, field: k },
        { path: '/v1/policies/validate', body: `{"guardrails":{"${k}":${v}}}`, field: `guardrails.${k}` },
        {
          path: '/v1/conversations',
          body: `{"promptKey":"fuzz-seeded","versionId":"${seededVersionId}","success":true,"${k}":${v}}`,
          field: k,
        },
      ),
    );
    await property(
      injected,
      async ({ path: p, body, field }) => {
        const error = await refused(p, p === '/v1/conversations' ? INGEST_TOKEN : ADMIN_TOKEN, body, field);
        expect(error).toBe(`${field}: the key "${field.split('.').pop()}" is not allowed`);
      },
      Math.ceil(RUNS / 2),
    );

    // Batches: a hostile row is that row's error (its field named, nothing of it stored); a hostile key around the rows refuses the batch.
    const batchBefore = await counts();
    const ok = { promptKey: 'fuzz-seeded', versionId: seededVersionId, success: true };
    const batchRes = await fetch(`${svc.baseUrl}/v1/conversations/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'content-type': 'application/json' },
      body: `{"rows":[${JSON.stringify({ ...ok, externalId: 'hyg-1', topic: 'bi\u2066di' })},{"__proto__":{"x":1},"promptKey":"fuzz-seeded"},${JSON.stringify({ ...ok, externalId: 'hyg-2' })}]}`,
    });
    const batch = (await batchRes.json()) as { created: number; results: Array<{ index: number; status: string; field?: string }> };
    expect(batchRes.status).toBe(200);
    expect(batch.results.map((r) => [r.index, r.status, r.field ?? null])).toEqual([
      [0, 'error', 'topic'],
      [1, 'error', '__proto__'],
      [2, 'created', null],
    ]);
    expect((await counts()).ai_conversations).toBe(batchBefore.ai_conversations + 1);
    expect(
      await refused(
        '/v1/conversations/batch',
        INGEST_TOKEN,
        `{"__proto__":{"x":1},"rows":[${JSON.stringify({ ...ok, externalId: 'hyg-3' })}]}`,
        '__proto__',
      ),
    ).toMatch(/not allowed/);

    // Path ids are strictly decimal or UUID; query strings get the same hygiene.
    for (const p of [
      '/v1/jobs/0x1',
      '/v1/jobs/1e0',
      '/v1/jobs/%201',
      '/v1/jobs/01',
      '/v1/jobs/1.0',
      '/v1/jobs/%00',
      '/v1/jobs?limit=0x10',
      '/v1/jobs?limit=1e2',
      '/v1/experiments?status=a%00b',
    ]) {
      expect(await check('GET', p, { token: ADMIN_TOKEN }), p).toBe(400);
    }
  });

  it('the server is still up and healthy', async () => {
    const res = await fetch(`${svc.baseUrl}/health`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('healthy');
    expect(stats.requests).toBeGreaterThan(RUNS * 8);
    // The generators reach both accepted and refused requests on the routes that can accept random input.
    for (const r of [
      'POST /v1/jobs',
      'POST /v1/prompts',
      'POST /v1/policies/validate',
      'POST /v1/assign',
      'POST /v1/conversations',
      'GET /v1/jobs',
      'GET /v1/experiments',
      'POST /v1/conversations/batch',
      'POST /v1/feedback',
      'GET /v1/serving',
    ]) {
      expect([...(seen.get(r) ?? [])].sort(), r).toEqual(['2xx', '4xx']);
    }
  });
});
