import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StoreNotFoundError,
  StoreValidationError,
  type AnalysisResult,
  type ConversationInput,
  type InsightRow,
  type Store,
} from '../../src/store';
import type { MigrationTarget } from '../../src/store/migrate';
import { mulberry32 } from '../../src/stats/simulate';
import { backends } from '../helpers/backends';

/**
 * Pattern analysis (public.analyze_prompt) on both backends: every insight kind is found on data
 * made to show it and not on clean data, evidence is checked against numbers worked out by hand
 * and against an independent computation in TypeScript, and the bookkeeping around insights
 * (fingerprints, resolution, validation, window boundaries) holds.
 */

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Analyses run "as of" NOW (p_now); conversations are recorded before it. */
const NOW = Date.now() - 2 * MIN;

type Row = Omit<ConversationInput, 'prompt_key' | 'version_id' | 'created_at'> & { agoMs?: number };
type Evidence = Record<string, unknown>;

const z = 1.96;
/** Wilson 95% interval, rounded to 4 places like internal._wilson. */
function wilson(s: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const p = s / n;
  const c = p + (z * z) / (2 * n);
  const h = z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  const d = 1 + (z * z) / n;
  return [round(Math.max(0, (c - h) / d), 4), round(Math.min(1, (c + h) / d), 4)];
}
function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const varSamp = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1);
};
/** percentile_cont: interpolate between the order statistics at floor and ceil of p * (n - 1). */
function percentileCont(values: number[], p: number): number {
  const v = [...values].sort((a, b) => a - b);
  const pos = p * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo]! + (v[hi]! - v[lo]!) * (pos - lo);
}
/** round(x::numeric) of a double: the cast keeps 15 significant digits, then rounds half away from zero. */
const pgRound = (x: number) => Math.round(Number(x.toPrecision(15)));
/** Two numbers agree up to the last rounded digit (floating point vs numeric rounding). */
function expectClose(actual: unknown, expected: number, tolerance = 1.01e-4): void {
  expect(typeof actual).toBe('number');
  expect(Math.abs((actual as number) - expected)).toBeLessThanOrEqual(tolerance);
}

/** `n` rows of which the first `successes` succeed. */
function rows(n: number, successes: number, extra: Partial<Row> | ((i: number) => Partial<Row>) = {}): Row[] {
  return Array.from({ length: n }, (_, i) => ({ success: i < successes, ...(typeof extra === 'function' ? extra(i) : extra) }));
}

describe.each(backends)('pattern analysis on $name', (backend) => {
  let store: Store;
  let target: MigrationTarget;
  let cleanup: () => Promise<void>;
  let seq = 0;
  const key = (base: string) => `an-${base}-${++seq}`;

  beforeAll(async () => {
    const opened = await backend.open();
    store = opened.store;
    target = opened.migrationTarget;
    cleanup = opened.cleanup;
  });
  afterAll(async () => cleanup?.());

  async function seedPrompt(promptKey: string) {
    return store.createPromptVersion({ promptKey, content: `You help customers of {{product}} (${promptKey}).`, activate: true });
  }

  /** Records rows for a version; without agoMs they are spread over the 20 hours before NOW. */
  async function record(promptKey: string, versionId: string, list: Row[]): Promise<void> {
    const inputs: ConversationInput[] = list.map(({ agoMs, ...r }, i) => ({
      ...r,
      prompt_key: promptKey,
      version_id: versionId,
      created_at: new Date(NOW - (agoMs ?? 1_000 + ((i * 7_919_117) % (20 * HOUR)))).toISOString(),
    }));
    for (let i = 0; i < inputs.length; i += 10_000) await store.recordConversations(inputs.slice(i, i + 10_000));
  }

  async function seeded(base: string, list: Row[]) {
    const k = key(base);
    const v = await seedPrompt(k);
    await record(k, v.id, list);
    return { k, v };
  }

  function analyze(promptKey: string, opts: Parameters<Store['analyzePrompt']>[1] = {}): Promise<AnalysisResult> {
    return store.analyzePrompt(promptKey, { windowHours: 24, now: new Date(NOW), ...opts });
  }

  const kinds = (r: AnalysisResult) => r.insights.map((i) => `${i.kind}${i.segment ? `:${i.segment}` : ''}`).sort();
  function only(r: AnalysisResult, kind: InsightRow['kind'], segment: string | null = null): InsightRow & { evidence: Evidence } {
    const found = r.insights.filter((i) => i.kind === kind && i.segment === segment);
    expect(found, `${kind} ${segment ?? ''} in ${kinds(r).join(', ')}`).toHaveLength(1);
    return found[0] as InsightRow & { evidence: Evidence };
  }

  async function insightRows(promptKey: string) {
    const { rows: list } = await target.query<{
      id: string;
      status: string;
      occurrences: number;
      evidence: unknown;
      last_seen_at: unknown;
    }>('select id, status, occurrences, evidence, last_seen_at from public.ai_pattern_insights where prompt_key = $1 order by id', [
      promptKey,
    ]);
    return list;
  }

  describe('low_success_segment', () => {
    // billing 40/100, three other topics 90/100 each: worked out by hand.
    const weak = () => [
      ...rows(100, 40, { topic: 'billing', tokens: 300, latency_ms: 500 }),
      ...['shipping', 'returns', 'account'].flatMap((topic) => rows(100, 90, { topic, tokens: 300, latency_ms: 500 })),
    ];

    it('finds the weak topic with hand-checked evidence', async () => {
      const { k, v } = await seeded('seg', weak());
      const r = await analyze(k);
      expect(kinds(r)).toEqual(['low_success_segment:billing']);
      const seg = only(r, 'low_success_segment', 'billing');
      expect(seg).toMatchObject({ severity: 'high', is_actionable: true, status: 'open', occurrences: 1, version_id: v.id, prompt_key: k });
      expect(seg.fingerprint).toBe(createHash('md5').update(`${k}|${v.id}|low_success_segment|billing`).digest('hex'));
      // rate 40/100; rest 270/300; pooled p = 310/400 = 0.775,
      // z = (0.4 - 0.9) / sqrt(0.775 * 0.225 * (1/100 + 1/300)) = -0.5 / 0.048218 = -10.37.
      // Wilson(40, 100): centre 0.419208, half-width 0.097922, denominator 1.038416 -> [0.3094, 0.4980].
      // Wilson(270, 300): centre 0.906403, half-width 0.034547, denominator 1.012805 -> [0.8608, 0.9291].
      expect(seg.evidence).toEqual({
        n: 100,
        successes: 40,
        rate: 0.4,
        rate_ci: [0.3094, 0.498],
        rest_n: 300,
        rest_rate: 0.9,
        rest_ci: [0.8608, 0.9291],
        z: -10.37,
      });
      expect(wilson(40, 100)).toEqual([0.3094, 0.498]);
      expect(wilson(270, 300)).toEqual([0.8608, 0.9291]);
      expect(r.overall).toEqual({
        n: 400,
        successes: 310,
        success_rate: 0.775,
        success_ci: wilson(310, 400),
        mean_rating: null,
        error_rate: 0,
        latency_p95_ms: 500,
      });
      expect(r.actionable).toBe(1);
      expect(r).toMatchObject({ prompt_key: k, version_id: v.id, version: 1 });
    });

    it('finds nothing when every topic does equally well', async () => {
      const { k } = await seeded(
        'seg-clean',
        ['billing', 'shipping', 'returns', 'account'].flatMap((topic) => rows(100, 90, { topic, tokens: 300 })),
      );
      const r = await analyze(k);
      expect(r.insights).toEqual([]);
      expect(r.actionable).toBe(0);
    });

    it.each([
      // [weak successes / n, rest successes / n, severity, actionable]: gap 0.5 -> high, 0.12 -> medium, 0.06 -> low,
      // 0.04 (significant but small) -> low and not actionable.
      { weak: [78, 100], rest: [270, 300], scale: 4, severity: 'medium', actionable: true },
      { weak: [84, 100], rest: [270, 300], scale: 6, severity: 'low', actionable: true },
      { weak: [86, 100], rest: [270, 300], scale: 20, severity: 'low', actionable: false },
    ])(
      'severity $severity (actionable: $actionable) for a smaller gap',
      async ({ weak: [ws, wn], rest: [rs, rn], scale, severity, actionable }) => {
        const { k } = await seeded('seg-sev', [
          ...rows(wn! * scale, ws! * scale, { topic: 'billing' }),
          ...rows(rn! * scale, rs! * scale, (i) => ({ topic: ['shipping', 'returns', 'account'][i % 3] })),
        ]);
        const r = await analyze(k);
        expect(kinds(r)).toEqual(['low_success_segment:billing']);
        const seg = only(r, 'low_success_segment', 'billing');
        expect(seg).toMatchObject({ severity, is_actionable: actionable });
        expect(seg.evidence.z as number).toBeLessThanOrEqual(-3);
      },
    );

    it('ignores segments below min_samples and needs |z| >= 3', async () => {
      // 20/29 vs 270/300: z = -3.35, but 29 conversations are fewer than min_samples (30).
      const small = await seeded('seg-small', [...rows(29, 20, { topic: 'billing' }), ...rows(300, 270, { topic: 'other' })]);
      expect((await analyze(small.k)).insights).toEqual([]);
      expect(kinds(await analyze(small.k, { minSamples: 5 }))).toEqual(['low_success_segment:billing']);
      // 22/29 (76%) vs 90%: z = -2.30, not enough evidence; the same rate on 88/116 gives z = -3.73.
      const weakEvidence = await seeded('seg-noisy', [...rows(29, 22, { topic: 'billing' }), ...rows(300, 270, { topic: 'other' })]);
      expect((await analyze(weakEvidence.k, { minSamples: 5 })).insights).toEqual([]);
      const strong = await seeded('seg-strong', [...rows(116, 88, { topic: 'billing' }), ...rows(300, 270, { topic: 'other' })]);
      expect(only(await analyze(strong.k), 'low_success_segment', 'billing').evidence.z).toBe(-3.73);
    });
  });

  describe('low_rating', () => {
    it('finds a low mean rating with hand-checked evidence; unrated conversations do not count', async () => {
      // 33 each of 1, 2, 3: mean 2, sample sd sqrt(66/98) = 0.82065, se 0.082478;
      // ci 2 -/+ 1.96 se = [1.838, 2.162]; upper 99.7% bound 2.247 < 3.5.
      const { k } = await seeded('rating', [...rows(99, 99, (i) => ({ rating: 1 + (i % 3) })), ...rows(50, 50)]);
      const r = await analyze(k);
      expect(kinds(r)).toEqual(['low_rating']);
      const ins = only(r, 'low_rating');
      expect(ins).toMatchObject({ severity: 'high', is_actionable: true });
      expect(ins.evidence).toEqual({ rated: 99, mean_rating: 2, sd: 0.821, ci: [1.838, 2.162] });
      expect(r.overall.mean_rating).toBe(2);
    });

    it.each([
      { name: 'medium below 3.0', ratings: [2, 3, 3, 3], n: 100, severity: 'medium' },
      { name: 'low below 3.5', ratings: [3, 3, 3, 3, 4], n: 200, severity: 'low' },
      { name: 'none when good', ratings: [4, 5], n: 200, severity: null },
      { name: 'none when 3.3 is not surely below 3.5 (few, spread out)', ratings: [1, 5, 4, 3, 5, 2, 3, 4, 3, 3], n: 30, severity: null },
    ])('$name', async ({ ratings, n, severity }) => {
      const { k } = await seeded(
        'rating-sev',
        rows(n, n, (i) => ({ rating: ratings[i % ratings.length] })),
      );
      const r = await analyze(k);
      if (severity === null) expect(r.insights).toEqual([]);
      else expect(only(r, 'low_rating').severity).toBe(severity);
    });
  });

  describe('verbosity', () => {
    // 60 successes around 500 tokens, 40 failures around `failed` tokens (symmetric spread of 20).
    const data = (failed: number) => [
      ...rows(60, 60, (i) => ({ tokens: 500 + ((i % 5) - 2) * 10 })),
      ...rows(40, 0, (i) => ({ tokens: failed + ((i % 5) - 2) * 10 })),
    ];

    it('finds failures that use far more tokens, with evidence checked against Welch t', async () => {
      const { k } = await seeded('verbose', data(1000));
      const r = await analyze(k);
      expect(kinds(r)).toEqual(['verbosity']);
      const ins = only(r, 'verbosity');
      const s = data(1000)
        .filter((x) => x.success)
        .map((x) => x.tokens!);
      const f = data(1000)
        .filter((x) => !x.success)
        .map((x) => x.tokens!);
      const t = (mean(f) - mean(s)) / Math.sqrt(varSamp(f) / f.length + varSamp(s) / s.length);
      expect(ins).toMatchObject({ severity: 'high', is_actionable: true });
      expect(ins.evidence).toEqual({
        tokens_failed_mean: 1000,
        tokens_success_mean: 500,
        ratio: 2,
        failed_n: 40,
        success_n: 60,
        t: round(t, 2),
      });
    });

    it.each([
      { failed: 500, severity: null },
      { failed: 600, severity: null }, // ratio 1.2 < 1.25
      { failed: 650, severity: 'low' }, // 1.3
      { failed: 750, severity: 'medium' }, // 1.5
      { failed: 850, severity: 'high' }, // 1.7
    ])('ratio $failed/500 -> $severity', async ({ failed, severity }) => {
      const { k } = await seeded('verbose-sev', data(failed));
      const r = await analyze(k);
      if (severity === null) expect(r.insights).toEqual([]);
      else expect(only(r, 'verbosity').severity).toBe(severity);
    });
  });

  describe('latency', () => {
    // 100, 200, ..., 10000 ms: p95 = v[94] + 0.05 (v[95] - v[94]) = 9505; p50 = v[49] + 0.5 (v[50] - v[49]) = 5050.
    const data = () => [...rows(100, 100, (i) => ({ latency_ms: (i + 1) * 100 })), ...rows(20, 20)];

    it('reports the exact p95 and p50 and grades them against the budget', async () => {
      const { k } = await seeded('latency', data());
      const expected = [
        { budget: 10_000, severity: null },
        { budget: 8_000, severity: 'low' },
        { budget: 6_000, severity: 'medium' }, // 9505 > 1.5 x 6000
        { budget: 4_000, severity: 'high' }, // 9505 > 2 x 4000
      ];
      for (const { budget, severity } of expected) {
        const r = await analyze(k, { latencyP95Ms: budget });
        expect(r.overall.latency_p95_ms).toBe(9505);
        if (severity === null) {
          expect(r.insights).toEqual([]);
          continue;
        }
        const ins = only(r, 'latency');
        expect(ins).toMatchObject({ severity, is_actionable: true });
        expect(ins.evidence).toEqual({ p95_ms: 9505, p50_ms: 5050, budget_ms: budget, n: 120 });
      }
    });

    it('matches percentile_cont on random latencies with ties and missing values', async () => {
      const rng = mulberry32(7);
      const list = rows(700, 700, () => ({ latency_ms: rng() < 0.1 ? undefined : Math.round(200 + 3_000 * rng() ** 3) }));
      // A few hundred ties on one value.
      list.push(...rows(300, 300, { latency_ms: 1_234 }));
      const { k, v } = await seeded('latency-random', list);
      const r = await analyze(k, { latencyP95Ms: 100 });
      const values = list.map((x) => x.latency_ms).filter((x): x is number => x !== undefined);
      const { rows: sql } = await target.query<{ p95: number; p50: number }>(
        `select round(percentile_cont(0.95) within group (order by latency_ms)::numeric)::float8 as p95,
                round(percentile_cont(0.5) within group (order by latency_ms)::numeric)::float8 as p50
         from public.ai_conversations where version_id = $1`,
        [v.id],
      );
      expect(r.overall.latency_p95_ms).toBe(pgRound(percentileCont(values, 0.95)));
      expect(r.overall.latency_p95_ms).toBe(sql[0]!.p95);
      expect(only(r, 'latency').evidence).toMatchObject({ p95_ms: sql[0]!.p95, p50_ms: sql[0]!.p50, n: 1000 });
      expect(sql[0]!.p50).toBe(pgRound(percentileCont(values, 0.5)));
    });

    it('has no p95 without latencies', async () => {
      const { k } = await seeded('latency-none', rows(50, 45));
      const r = await analyze(k, { latencyP95Ms: 1 });
      expect(r.overall.latency_p95_ms).toBeNull();
      expect(r.insights).toEqual([]);
    });
  });

  describe('error_rate', () => {
    it('finds an error rate whose Wilson lower bound is above 2%, with hand-checked evidence', async () => {
      // 30/300: Wilson centre 0.106403, half-width 0.034547, denominator 1.012805 -> [0.0709, 0.1392].
      const { k } = await seeded(
        'errors',
        rows(300, 270, (i) => (i >= 270 ? { error: 'upstream timeout' } : {})),
      );
      const r = await analyze(k);
      expect(kinds(r)).toEqual(['error_rate']);
      const ins = only(r, 'error_rate');
      expect(ins).toMatchObject({ severity: 'medium', is_actionable: true });
      expect(ins.evidence).toEqual({ errors: 30, n: 300, rate: 0.1, ci: [0.0709, 0.1392] });
      expect(wilson(30, 300)).toEqual([0.0709, 0.1392]);
      expect(r.overall.error_rate).toBe(0.1);
    });

    it.each([
      { errors: 60, n: 300, severity: 'high' }, // 20%
      { errors: 30, n: 600, severity: 'low' }, // 5%, lower bound 0.035
      { errors: 3, n: 300, severity: null }, // 1%
      { errors: 3, n: 100, severity: null }, // 3%, but the lower bound is 0.010: not surely above 2%
    ])('$errors errors in $n -> $severity', async ({ errors, n, severity }) => {
      const { k } = await seeded(
        'errors-sev',
        rows(n, n - errors, (i) => (i >= n - errors ? { error: 'boom' } : {})),
      );
      const r = await analyze(k);
      if (severity === null) expect(r.insights).toEqual([]);
      else expect(only(r, 'error_rate').severity).toBe(severity);
    });
  });

  describe('regression', () => {
    /** v1 serves `before` (oldest first), then an experiment promotes v2, which serves `after`. */
    async function promoted(before: Row[], after: Row[]) {
      const k = key('regr');
      const v1 = await seedPrompt(k);
      await record(
        k,
        v1.id,
        before.map((r, i) => ({ ...r, agoMs: 48 * HOUR - i * 1_000 })),
      );
      const v2 = await store.createPromptVersion({
        promptKey: k,
        content: `${v1.content}\nBe brief.`,
        parentVersionId: v1.id,
        strategy: 'rules',
      });
      const exp = await store.createExperiment({ promptKey: k, variantVersionIds: [v2.id] });
      await store.promoteVariant({ experimentId: exp.id, versionId: v2.id, kind: 'auto', actor: 'test', reason: 'won' });
      await record(k, v2.id, after);
      return { k, v1, v2 };
    }

    it('finds a promoted version doing worse than the one it replaced, with hand-checked evidence', async () => {
      const { k, v1, v2 } = await promoted(rows(300, 270), rows(300, 180));
      const r = await analyze(k);
      expect(r.version_id).toBe(v2.id);
      expect(kinds(r)).toEqual(['regression']);
      // pooled p = 450/600 = 0.75; z = (0.6 - 0.9) / sqrt(0.75 * 0.25 * 2/300) = -0.3 / 0.035355 = -8.49.
      const ins = only(r, 'regression');
      expect(ins).toMatchObject({ severity: 'high', is_actionable: true, version_id: v2.id });
      expect(ins.evidence).toEqual({ previous_version_id: v1.id, rate: 0.6, previous_rate: 0.9, n: 300, previous_n: 300, z: -8.49 });
    });

    it('finds nothing when the new version does as well', async () => {
      const { k } = await promoted(rows(300, 270), rows(300, 271));
      expect((await analyze(k)).insights).toEqual([]);
    });

    it('grades a small but significant drop as medium', async () => {
      // 0.9 vs 0.83 on 600 each: z = -0.07 / sqrt(0.865 * 0.135 * 2/600) = -3.55; gap < 0.1.
      const { k } = await promoted(rows(600, 540), rows(600, 498));
      const ins = only(await analyze(k), 'regression');
      expect(ins.severity).toBe('medium');
      expect(ins.evidence).toMatchObject({ rate: 0.83, previous_rate: 0.9, z: -3.55 });
    });

    it('compares with the last 4 x n conversations of the previous version only', async () => {
      // v1: 100 old failures, then 200 recent conversations at 90%. v2: 50 at 70% -> window 200.
      const before = [...rows(100, 0), ...rows(200, 180)];
      const { k } = await promoted(before, rows(50, 35));
      const r = await analyze(k);
      expect(only(r, 'regression').evidence).toMatchObject({ n: 50, previous_n: 200, previous_rate: 0.9, rate: 0.7 });
    });

    it('does not compare without a promotion', async () => {
      const { k } = await seeded('regr-none', rows(300, 180));
      expect((await analyze(k)).insights.some((i) => i.kind === 'regression')).toBe(false);
    });
  });

  describe('bookkeeping', () => {
    it('dedupes by fingerprint across runs: one row per (version, kind, segment), occurrences counted', async () => {
      const { k } = await seeded('dedupe', [
        ...rows(100, 40, { topic: 'billing' }),
        ...rows(300, 270, { topic: 'other' }),
        ...rows(40, 0, { error: 'x' }),
      ]);
      const first = await analyze(k);
      expect(kinds(first)).toEqual(['error_rate', 'low_success_segment:billing']);
      const second = await analyze(k);
      const third = await analyze(k);
      for (const kind of ['error_rate', 'low_success_segment'] as const) {
        const a = first.insights.find((i) => i.kind === kind)!;
        const c = third.insights.find((i) => i.kind === kind)!;
        expect(c).toMatchObject({ id: a.id, fingerprint: a.fingerprint, occurrences: 3, first_seen_at: a.first_seen_at, status: 'open' });
      }
      expect(second.insights.map((i) => i.occurrences)).toEqual([2, 2]);
      const stored = await insightRows(k);
      expect(stored).toHaveLength(2);
      expect(stored.every((s) => s.occurrences === 3 && s.status === 'open')).toBe(true);
    });

    it('resolves what no longer holds, keeps what still holds, and reopens what comes back', async () => {
      // Day before: billing weak (and errors). Last day: billing fine, errors still there.
      const k = key('resolve');
      const v = await seedPrompt(k);
      const day = (agoBase: number, billingSuccess: number) =>
        [...rows(100, billingSuccess, { topic: 'billing' }), ...rows(300, 270, { topic: 'other' }), ...rows(40, 0, { error: 'x' })].map(
          (r, i) => ({ ...r, agoMs: agoBase + 1_000 + i * 60_000 }),
        );
      await record(k, v.id, [...day(24 * HOUR, 40), ...day(0, 90)]);

      const yesterday = await analyze(k, { now: new Date(NOW - 24 * HOUR) });
      expect(kinds(yesterday)).toEqual(['error_rate', 'low_success_segment:billing']);
      const seg = only(yesterday, 'low_success_segment', 'billing');
      const err = only(yesterday, 'error_rate');

      const today = await analyze(k);
      expect(kinds(today)).toEqual(['error_rate']);
      expect(only(today, 'error_rate')).toMatchObject({ id: err.id, occurrences: 2, status: 'open' });
      expect((await store.listInsights(k, 'open')).map((i) => i.id)).toEqual([err.id]);
      expect(await store.listInsights(k, 'resolved')).toEqual([
        expect.objectContaining({ id: seg.id, status: 'resolved', occurrences: 1 }),
      ]);

      const again = await analyze(k, { now: new Date(NOW - 24 * HOUR) });
      expect(only(again, 'low_success_segment', 'billing')).toMatchObject({ id: seg.id, status: 'open', occurrences: 2 });
      expect(await store.listInsights(k, 'resolved')).toEqual([]);
    });

    it('rejects bad arguments and writes nothing (not even resolutions)', async () => {
      const { k } = await seeded('invalid', [...rows(100, 40, { topic: 'billing' }), ...rows(300, 270, { topic: 'other' })]);
      await analyze(k);
      const before = await insightRows(k);
      expect(before).toHaveLength(1);
      // A valid call on an empty window would resolve it: none of these may get that far.
      const empty = { now: new Date(NOW + 48 * HOUR) };
      await expect(analyze(k, { ...empty, windowHours: 0 })).rejects.toThrow(/window_hours must be between 1 and 8760/);
      await expect(analyze(k, { ...empty, windowHours: 0 })).rejects.toBeInstanceOf(StoreValidationError);
      await expect(analyze(k, { ...empty, windowHours: 8761 })).rejects.toBeInstanceOf(StoreValidationError);
      await expect(analyze(k, { ...empty, minSamples: 4 })).rejects.toThrow(/min_samples/);
      await expect(analyze('bad key!', empty)).rejects.toThrow(/prompt_key must be/);
      await expect(analyze('bad key!', empty)).rejects.toBeInstanceOf(StoreValidationError);
      await expect(analyze(`${k}-missing`, empty)).rejects.toBeInstanceOf(StoreNotFoundError);
      expect(await insightRows(k)).toEqual(before);
      const { rows: all } = await target.query<{ n: number }>(
        `select count(*)::int as n from public.ai_pattern_insights where prompt_key like 'bad%' or prompt_key = $1`,
        [`${k}-missing`],
      );
      expect(all[0]!.n).toBe(0);
    });

    it('counts [now - window, now): the start is included, the end is not', async () => {
      const k = key('window');
      const v = await seedPrompt(k);
      const until = NOW - 2 * HOUR;
      const since = until - 3 * HOUR;
      const at = (t: number, success: boolean): Row => ({ success, agoMs: NOW - t });
      await record(k, v.id, [
        at(since - 1, false),
        at(since, true),
        at(since + HOUR, true),
        at(until - 1, true),
        at(until, false),
        at(until + 1, false),
      ]);
      const r = await store.analyzePrompt(k, { windowHours: 3, now: new Date(until) });
      expect(r.overall).toMatchObject({ n: 3, successes: 3 });
      expect(new Date(r.window.since).getTime()).toBe(since);
      expect(new Date(r.window.until).getTime()).toBe(until);
      // Without p_now the window ends at the database's now(): all six rows are in the last 24 h.
      const live = await store.analyzePrompt(k, { windowHours: 24 });
      expect(live.overall).toMatchObject({ n: 6, successes: 3 });
    });
  });

  describe('many segments, no real difference', () => {
    const TOPICS = Array.from({ length: 20 }, (_, i) => `topic-${String(i).padStart(2, '0')}`);
    /** 5,000 conversations over 20 topics, every topic at the same true rate (seeded noise). */
    function traffic(seed: number, rateOf: (topic: string) => number): Row[] {
      const rng = mulberry32(seed);
      return Array.from({ length: 5_000 }, (_, i) => {
        const topic = TOPICS[i % TOPICS.length]!;
        const error = rng() < 0.005;
        return {
          topic,
          success: !error && rng() < rateOf(topic),
          error: error ? 'transient' : undefined,
          rating: rng() < 0.3 ? 3 + Math.floor(rng() * 3) : undefined,
          tokens: 300 + Math.floor(rng() * 400),
          latency_ms: 200 + Math.floor(rng() * 1_800),
        };
      });
    }

    it('produces zero insights over 20 topics of equal rate (the |z| >= 3 threshold)', async () => {
      const list = traffic(42, () => 0.8);
      const { k } = await seeded('equal', list);
      const r = await analyze(k);
      expect(r.overall.n).toBe(5_000);
      expect(r.insights).toEqual([]);
      // The noise is real: the observed topic rates do differ.
      const rates = TOPICS.map((t) => {
        const xs = list.filter((x) => x.topic === t);
        return xs.filter((x) => x.success).length / xs.length;
      });
      expect(Math.max(...rates) - Math.min(...rates)).toBeGreaterThan(0.05);
    });

    it('still finds the one topic that is really worse', async () => {
      const { k } = await seeded(
        'one-worse',
        traffic(43, (t) => (t === 'topic-07' ? 0.6 : 0.8)),
      );
      expect(kinds(await analyze(k))).toEqual(['low_success_segment:topic-07']);
    });
  });

  it('agrees with an independent computation on mixed random data (every kind at once)', async () => {
    const rng = mulberry32(2024);
    const topics = ['a', 'b', 'c', 'd', 'weak'];
    const list: Row[] = Array.from({ length: 3_000 }, (_, i) => {
      const topic = i % 17 === 0 ? undefined : topics[i % topics.length];
      const error = rng() < 0.06;
      const success = !error && rng() < (topic === 'weak' ? 0.45 : 0.75);
      return {
        topic,
        success,
        error: error ? 'e' : undefined,
        rating: rng() < 0.5 ? 1 + Math.floor(rng() * 4) : undefined,
        tokens: rng() < 0.05 ? undefined : Math.round((success ? 400 : 700) * (0.5 + rng())),
        latency_ms: rng() < 0.05 ? undefined : Math.round(300 + 4_000 * rng() ** 2),
      };
    });
    const { k } = await seeded('parity', list);
    const r = await analyze(k, { latencyP95Ms: 2_000 });
    expect(kinds(r)).toEqual(['error_rate', 'latency', 'low_rating', 'low_success_segment:weak', 'verbosity']);

    const n = list.length;
    const s = list.filter((x) => x.success).length;
    const e = list.filter((x) => x.error).length;
    const ratings = list.map((x) => x.rating).filter((x): x is number => x !== undefined);
    const tS = list.filter((x) => x.success && x.tokens !== undefined).map((x) => x.tokens!);
    const tF = list.filter((x) => !x.success && x.tokens !== undefined).map((x) => x.tokens!);
    const lat = list.map((x) => x.latency_ms).filter((x): x is number => x !== undefined);
    const weak = list.filter((x) => x.topic === 'weak');
    const ws = weak.filter((x) => x.success).length;

    expect(r.overall).toMatchObject({
      n,
      successes: s,
      success_rate: round(s / n, 4),
      success_ci: wilson(s, n),
      error_rate: round(e / n, 4),
      latency_p95_ms: pgRound(percentileCont(lat, 0.95)),
    });
    expectClose(r.overall.mean_rating, mean(ratings), 1.01e-3);
    const seg = only(r, 'low_success_segment', 'weak').evidence;
    const p = s / n;
    const zSeg = (ws / weak.length - (s - ws) / (n - weak.length)) / Math.sqrt(p * (1 - p) * (1 / weak.length + 1 / (n - weak.length)));
    expect(seg).toMatchObject({
      n: weak.length,
      successes: ws,
      rest_n: n - weak.length,
      rate_ci: wilson(ws, weak.length),
      rest_ci: wilson(s - ws, n - weak.length),
    });
    expectClose(seg.rate, ws / weak.length);
    expectClose(seg.rest_rate, (s - ws) / (n - weak.length));
    expectClose(seg.z, zSeg, 0.0101);

    const rating = only(r, 'low_rating').evidence;
    const sd = Math.sqrt(varSamp(ratings));
    expect(rating.rated).toBe(ratings.length);
    expectClose(rating.mean_rating, mean(ratings), 1.01e-3);
    expectClose(rating.sd, sd, 1.01e-3);
    const ci = rating.ci as number[];
    expectClose(ci[0], mean(ratings) - (1.96 * sd) / Math.sqrt(ratings.length), 1.01e-3);
    expectClose(ci[1], mean(ratings) + (1.96 * sd) / Math.sqrt(ratings.length), 1.01e-3);

    const verb = only(r, 'verbosity').evidence;
    expect(verb).toMatchObject({ failed_n: tF.length, success_n: tS.length });
    expectClose(verb.tokens_failed_mean, mean(tF), 0.0501);
    expectClose(verb.tokens_success_mean, mean(tS), 0.0501);
    expectClose(verb.ratio, mean(tF) / mean(tS), 1.01e-3);
    expectClose(verb.t, (mean(tF) - mean(tS)) / Math.sqrt(varSamp(tF) / tF.length + varSamp(tS) / tS.length), 0.0101);

    expect(only(r, 'latency').evidence).toEqual({
      p95_ms: pgRound(percentileCont(lat, 0.95)),
      p50_ms: pgRound(percentileCont(lat, 0.5)),
      budget_ms: 2_000,
      n,
    });
    expect(only(r, 'error_rate').evidence).toEqual({ errors: e, n, rate: round(e / n, 4), ci: wilson(e, n) });
  });
});
