import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assignmentBucket, pickArm, renderTemplate } from '@prompt-optimization/client';
import { backoffDelay, retryAfterMs } from '../../packages/client/src/backoff';
import { parseSnapshot } from '../../packages/client/src/snapshot';
import vectors from '../../packages/client/vectors/assignment.json';

/**
 * The SDK's pure parts: the assignment hash against the shared vectors (computed by
 * PostgreSQL, also checked on the SQL side by test/store/assignment-vectors.test.ts) and against
 * Node's own md5, the arm rule, templates, backoff and the snapshot check.
 */

const nodeBucket = (e: string, s: string) =>
  parseInt(createHash('md5').update(`${e}:${s}`, 'utf8').digest('hex').slice(0, 8), 16) / 2 ** 32;

describe('assignment: the shared vectors', () => {
  it.each(vectors.buckets.map((v) => [v.experimentId.slice(0, 8), JSON.stringify(v.subjectId).slice(0, 24), v] as const))(
    "bucket of %s:%s is PostgreSQL's",
    (_e, _s, v) => {
      expect(assignmentBucket(v.experimentId, v.subjectId)).toBe(v.bucket);
      expect(parseInt(v.md5.slice(0, 8), 16) / 2 ** 32).toBe(v.bucket);
    },
  );

  it.each(vectors.assignments.map((a) => [a.weights.join(' / '), a] as const))("weights %s: every case gets PostgreSQL's arm", (_w, a) => {
    const arms = a.weights.map((weight, arm) => ({ arm, weight }));
    for (const c of a.cases) {
      const bucket = assignmentBucket(a.experimentId, c.subjectId);
      expect(bucket, c.subjectId).toBe(c.bucket);
      expect(pickArm(arms, bucket)?.arm, `${c.subjectId} (bucket ${bucket})`).toBe(c.arm);
    }
  });

  it('the vectors cover every arm and both sides of every weight boundary', () => {
    for (const a of vectors.assignments) {
      expect(new Set(a.cases.map((c) => c.arm)).size).toBe(a.weights.length);
      let cum = 0;
      for (const w of a.weights.slice(0, -1)) {
        cum += w;
        const below = a.cases.filter((c) => c.bucket < cum).map((c) => cum - c.bucket);
        const above = a.cases.filter((c) => c.bucket >= cum).map((c) => c.bucket - cum);
        expect(Math.min(...below)).toBeLessThan(1e-4);
        expect(Math.min(...above)).toBeLessThan(1e-4);
      }
    }
    expect(vectors.buckets.some((v) => [...v.subjectId].some((ch) => ch.codePointAt(0)! > 0x7f))).toBe(true);
  });
});

describe('assignment: properties', () => {
  // Lone surrogates are left out: no UTF-8 encoding exists for them (PostgreSQL never receives one).
  const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
  const anyChar = fc.string({ unit: 'binary', minLength: 1, maxLength: 1 });
  const subject = fc
    .string({ unit: fc.oneof(fc.constantFrom('a', ':', ' ', 'é', '中', '👍', '\u00a0'), anyChar), maxLength: 200 })
    .filter((s) => !LONE_SURROGATE.test(s));

  it("equals Node's md5 for any experiment id and subject (UTF-8)", () => {
    fc.assert(
      fc.property(fc.uuid(), subject, (e, s) => assignmentBucket(e, s) === nodeBucket(e, s)),
      { numRuns: 2000 },
    );
  });

  it('buckets are in [0, 1) and pickArm picks by the running sum, the last arm taking the remainder', () => {
    fc.assert(
      fc.property(fc.uuid(), subject, (e, s) => {
        const b = assignmentBucket(e, s);
        return b >= 0 && b < 1;
      }),
    );
    const arms = [
      { arm: 0, weight: 0.2 },
      { arm: 1, weight: 0.3 },
      { arm: 2, weight: 0.5 },
    ];
    expect([0, 0.1999, 0.2, 0.4999, 0.5, 0.9999].map((b) => pickArm(arms, b)?.arm)).toEqual([0, 0, 1, 1, 2, 2]);
    // Weights summing to slightly less than 1 (rounded numeric(6,5)): a bucket above the sum goes to the last arm, as in SQL.
    expect(
      pickArm(
        [
          { arm: 0, weight: 0.33333 },
          { arm: 1, weight: 0.33333 },
          { arm: 2, weight: 0.33333 },
        ],
        0.999995,
      )?.arm,
    ).toBe(2);
    expect(pickArm([], 0.5)).toBeUndefined();
  });
});

describe('templates, backoff, snapshot check', () => {
  it('fills {{ name }} placeholders once, leaves unknown ones, ignores inherited keys', () => {
    expect(renderTemplate('Hi {{name}}, {{ name }} and {{  other  }}.', { name: 'Ann', other: 3 })).toBe('Hi Ann, Ann and 3.');
    expect(renderTemplate('Hi {{name}} {{missing}}', { name: '{{missing}}' })).toBe('Hi {{missing}} {{missing}}');
    expect(renderTemplate('{{toString}} {{__proto__}}', {})).toBe('{{toString}} {{__proto__}}');
    expect(renderTemplate('$& {{a}}', { a: '$1$&' })).toBe('$& $1$&');
    expect(renderTemplate('no vars', undefined)).toBe('no vars');
  });

  it('backoff: exponential, capped, with at least half of the delay and jitter in the other half', () => {
    const policy = (r: number) => ({ initialMs: 500, maxMs: 30_000, random: () => r });
    expect([1, 2, 3, 4, 5, 6, 7, 20].map((a) => backoffDelay(a, policy(0)))).toEqual([250, 500, 1000, 2000, 4000, 8000, 15000, 15000]);
    expect([1, 2, 3, 7, 20].map((a) => backoffDelay(a, policy(0.999999)))).toEqual([500, 1000, 2000, 30000, 30000]);
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(4, { initialMs: 500, maxMs: 30_000, random: Math.random })));
    expect(spread.size).toBeGreaterThan(20);
    expect(retryAfterMs('3', 0)).toBe(3000);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });

  it('a snapshot that does not have the expected shape is refused whole', () => {
    const good = { prompts: [{ promptKey: 'k', active: { versionId: 'v', version: 1, content: 'c' }, experiment: null }] };
    expect(parseSnapshot(good).index.get('k')?.active.content).toBe('c');
    const bad: unknown[] = [
      null,
      [],
      { prompts: {} },
      { prompts: [{ promptKey: 1 }] },
      { prompts: [{ promptKey: 'k', active: { versionId: 'v', version: 1.5, content: 'c' } }] },
      { prompts: [{ ...good.prompts[0], experiment: { experimentId: 'e', paused: false, arms: [] } }] },
      {
        prompts: [
          {
            ...good.prompts[0],
            experiment: { experimentId: 'e', paused: false, arms: [{ arm: 0, weight: 2, versionId: 'v', version: 1, content: 'c' }] },
          },
        ],
      },
    ];
    for (const b of bad) expect(() => parseSnapshot(b), JSON.stringify(b)).toThrow(/serving snapshot/);
    // Arms are used in arm order whatever order they arrive in.
    const shuffled = parseSnapshot({
      prompts: [
        {
          ...good.prompts[0],
          experiment: {
            experimentId: 'e',
            paused: false,
            arms: [
              { arm: 1, weight: 0.5, versionId: 'b', version: 2, content: 'B' },
              { arm: 0, weight: 0.5, versionId: 'a', version: 1, content: 'A' },
            ],
          },
        },
      ],
    });
    expect(shuffled.index.get('k')?.experiment?.arms.map((a) => a.arm)).toEqual([0, 1]);
  });
});
