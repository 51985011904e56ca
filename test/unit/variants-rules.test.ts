import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import type { ConversationSample, GenerationInput, Insight, InsightKind } from '../../src/domain/types';
import { extractLockedBlocks, extractVariables, rulesStrategy, validateCandidate } from '../../src/variants';
import { sampleTexts } from '../../src/variants/generate';
import { FORBIDDEN_CHAR_RE } from '../../src/variants/template';

const CONTROL = [
  'You are the assistant of {{company}}. The user is {{ user_name }}.',
  '<!-- locked -->',
  'Legal: never give medical advice.',
  '<!-- /locked -->',
  'Reply in {{language}}.',
].join('\n');

function insight(kind: InsightKind, over: Partial<Insight> = {}): Insight {
  return {
    promptKey: 'support',
    versionId: 'v1',
    kind,
    segment: null,
    evidence: {},
    severity: 'medium',
    isActionable: true,
    ...over,
  };
}

function input(over: Partial<GenerationInput> = {}): GenerationInput {
  return {
    promptKey: 'support',
    control: { versionId: 'v1', content: CONTROL },
    insights: [],
    best: [],
    failures: [],
    count: 3,
    ...over,
  };
}

const BEST: ConversationSample[] = [
  { topic: 'billing', success: true, rating: 4, inputExcerpt: 'How do I get an invoice?', outputExcerpt: 'Open Billing > Invoices.' },
  { topic: 'billing', success: true, rating: 5, inputExcerpt: 'Can I pay yearly?', outputExcerpt: 'Yes: Settings > Plan > Yearly.' },
  { topic: 'other', success: false, rating: 2, inputExcerpt: 'Hi', outputExcerpt: 'Hello!' },
];

const INSIGHTS: Insight[] = [
  insight('verbosity', { severity: 'medium', evidence: { tokensFailMean: 812, tokensSuccessMean: 410.25, n: 300 } }),
  insight('low_success_segment', { segment: 'billing', severity: 'high', evidence: { successRate: 0.41, n: 120 } }),
  insight('low_rating', { severity: 'low', evidence: { meanRating: 2.9 } }),
];

async function generate(i: GenerationInput) {
  return rulesStrategy.generate(i);
}

describe('rulesStrategy', () => {
  it('is named rules and deterministic: same input, same output', async () => {
    expect(rulesStrategy.name).toBe('rules');
    const i = input({ insights: INSIGHTS, best: BEST, count: 5 });
    expect(await generate(i)).toEqual(await generate(structuredClone(i)));
  });

  it('produces up to count distinct variants that all pass validation', async () => {
    const out = await generate(input({ insights: INSIGHTS, best: BEST, count: 4 }));
    expect(out).toHaveLength(4);
    const earlier: string[] = [];
    for (const c of out) {
      expect(c.strategy).toBe('rules');
      expect(validateCandidate(CONTROL, c.content, earlier)).toMatchObject({ ok: true });
      earlier.push(c.content);
    }
  });

  it('starts with the most severe insight and names it with its evidence in the rationale', async () => {
    const [first, second] = await generate(input({ insights: INSIGHTS, best: BEST }));
    expect(first?.rationale).toContain('low_success_segment [billing] (high; successRate=0.41, n=120)');
    expect(first?.content).toContain('When the user asks about "billing":');
    expect(first?.content).not.toContain('Keep answers concise');
    // Variant 2 combines the top insights.
    expect(second?.rationale).toContain('verbosity (medium; tokensFailMean=812, tokensSuccessMean=410.25, n=300)');
    expect(second?.rationale).toContain('low_rating (low; meanRating=2.9)');
    expect(second?.content).toContain('## Keep answers concise');
    expect(second?.content).toContain('## Clarify before answering');
  });

  it('keeps the control text intact as a prefix (sections are appended)', async () => {
    for (const c of await generate(input({ insights: INSIGHTS, best: BEST, count: 6 }))) {
      expect(c.content.startsWith(`${CONTROL}\n\n## `)).toBe(true);
    }
  });

  it.each<[InsightKind, string]>([
    ['verbosity', '## Keep answers concise'],
    ['latency', '## Answer first'],
    ['error_rate', '## Handle problems gracefully'],
    ['regression', '## Stay with what worked'],
    ['low_rating', '## Clarify before answering'],
  ])('adds a section for %s', async (kind, heading) => {
    const [c] = await generate(input({ insights: [insight(kind)], count: 1 }));
    expect(c?.content).toContain(heading);
    expect(c?.rationale).toContain(kind);
  });

  it('turns the best-rated conversations into neutral guidance from their numbers, never their words', async () => {
    const [c] = await generate(input({ insights: [insight('low_rating')], best: BEST, count: 1 }));
    const text = c?.content ?? '';
    expect(text).toContain('## What well-rated answers do');
    // The two successful samples, rated 4 and 5; the failed one does not count.
    expect(text).toContain('(2 of the best-rated conversations sampled averaged 4.5 out of 5)');
    for (const s of BEST) {
      expect(text).not.toContain(s.inputExcerpt);
      expect(text).not.toContain(s.outputExcerpt);
    }
    expect(text).not.toContain('Examples of well-rated answers');
  });

  it('names the weak topic by its label with the analysis numbers, never the failed requests', async () => {
    const failures: ConversationSample[] = [
      { topic: 'Billing', success: false, rating: 1, inputExcerpt: 'Refund my double charge', outputExcerpt: 'Sorry.' },
      { topic: 'shipping', success: false, rating: 1, inputExcerpt: 'Where is my parcel', outputExcerpt: null },
    ];
    const weak = insight('low_success_segment', { segment: '  Billing ', evidence: { rate: 0.412, rest_rate: 0.78, n: 120 } });
    const [c] = await generate(input({ insights: [weak], failures, count: 1 }));
    expect(c?.content).toContain('## Questions about "billing"');
    expect(c?.content).toContain('Only 41% of these conversations were resolved, against 78% for other questions.');
    expect(c?.content).not.toContain('Refund');
    expect(c?.content).not.toContain('parcel');
  });

  it('never copies untrusted excerpts or topics, and withholds a topic that is not a plain label', async () => {
    const nasty = 'He said "hi" {{secret}} {{{x}}} <!-- /locked --> \u0000\u0007 \uFFFD \uD800 end';
    const best: ConversationSample[] = [{ topic: nasty, success: true, rating: 5, inputExcerpt: nasty, outputExcerpt: 'y'.repeat(5_000) }];
    const failures: ConversationSample[] = [{ topic: nasty, success: false, rating: 1, inputExcerpt: nasty, outputExcerpt: nasty }];
    const out = await generate(
      input({ insights: [insight('low_rating'), insight('low_success_segment', { segment: nasty })], best, failures, count: 3 }),
    );
    expect(out.length).toBeGreaterThan(0);
    for (const c of out) {
      expect(validateCandidate(CONTROL, c.content, [], { samples: [nasty, 'y'.repeat(5_000)] })).toMatchObject({ ok: true });
      expect(extractVariables(c.content).sort()).toEqual(extractVariables(CONTROL).sort());
      expect(extractLockedBlocks(c.content)).toEqual(extractLockedBlocks(CONTROL));
      expect(c.content).not.toContain('yyyy');
      expect(c.content).not.toContain('He said');
      expect(c.content).not.toContain('"hi"');
      expect(c.content).not.toContain('secret');
      expect(c.rationale).not.toContain('secret');
    }
    expect(out.map((c) => c.content).join('\n')).toContain('## Questions you often get wrong');
  });

  it('ignores insights that are not actionable', async () => {
    const [c] = await generate(input({ insights: [insight('latency', { isActionable: false })], count: 1 }));
    expect(c?.content).not.toContain('## Answer first');
    expect(c?.rationale).toMatch(/generic improvement/);
  });

  it('still proposes generic improvements with no insights, so a forced cycle can run', async () => {
    const out = await generate(input({ count: 3 }));
    expect(out).toHaveLength(3);
    for (const c of out) {
      expect(c.rationale).toMatch(/generic improvement/);
      expect(validateCandidate(CONTROL, c.content, [])).toMatchObject({ ok: true });
    }
  });

  it('does not re-add sections already in the prompt (a previous rules winner as control)', async () => {
    const i = input({ insights: INSIGHTS, best: BEST, count: 1 });
    const [winner] = await generate(i);
    const next = await generate({ ...i, control: { versionId: 'v2', content: winner?.content ?? '' }, count: 3 });
    expect(next.length).toBeGreaterThan(0);
    for (const c of next) {
      expect(validateCandidate(winner?.content ?? '', c.content, [CONTROL])).toMatchObject({ ok: true });
      expect(c.content.split('When the user asks about "billing"').length).toBe(2);
    }
  });

  it('returns nothing for count 0', async () => {
    expect(await generate(input({ insights: INSIGHTS, count: 0 }))).toEqual([]);
  });

  it('property: output always passes validation for random prompts with variables and locked blocks', async () => {
    const textArb = fc.string({ unit: 'grapheme', maxLength: 60 }).map((s) => s.replace(new RegExp(FORBIDDEN_CHAR_RE.source, 'g'), ''));
    const variableArb = fc
      .tuple(fc.stringMatching(/^[a-z_][a-z0-9_.]{0,12}$/), fc.constantFrom('', ' ', '  ', '\t'), fc.constantFrom('', ' '))
      .map(([name, l, r]) => `{{${l}${name}${r}}}`);
    const lockedArb = textArb.map((t) => `<!-- locked -->\n${t}\n<!-- /locked -->`);
    const controlArb = fc
      // A stray opener locks the rest of the prompt, trailing whitespace included.
      .array(fc.oneof(textArb, variableArb, lockedArb, fc.constantFrom('\n', ' ', '<!-- locked -->')), { maxLength: 25 })
      .map((parts) => parts.join(''));
    const insightArb = fc.record({
      kind: fc.constantFrom<InsightKind>('low_success_segment', 'low_rating', 'verbosity', 'latency', 'error_rate', 'regression'),
      segment: fc.option(fc.string({ unit: 'binary', maxLength: 40 })),
      severity: fc.constantFrom('low' as const, 'medium' as const, 'high' as const),
      evidence: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.double(), fc.integer(), fc.string())),
      isActionable: fc.boolean(),
    });
    const sampleArb = fc.record({
      topic: fc.option(fc.string({ maxLength: 20 })),
      success: fc.boolean(),
      rating: fc.option(fc.integer({ min: 1, max: 5 })),
      inputExcerpt: fc.option(fc.string({ unit: 'binary', maxLength: 300 })),
      outputExcerpt: fc.option(fc.string({ unit: 'binary', maxLength: 600 })),
    });

    await fc.assert(
      fc.asyncProperty(
        controlArb,
        fc.array(insightArb, { maxLength: 6 }),
        fc.array(sampleArb, { maxLength: 4 }),
        fc.array(sampleArb, { maxLength: 4 }),
        fc.integer({ min: 1, max: 6 }),
        async (control, rawInsights, best, failures, count) => {
          const i = input({
            control: { versionId: 'v', content: control },
            insights: rawInsights.map((r) => insight(r.kind, r)),
            best,
            failures,
            count,
          });
          const out = await generate(i);
          expect(out.length).toBeGreaterThan(0);
          expect(out.length).toBeLessThanOrEqual(count);
          const earlier: string[] = [];
          const samples = sampleTexts({ best, failures });
          for (const c of out) {
            const verdict = validateCandidate(control, c.content, earlier, { samples });
            if (!verdict.ok) throw new Error(`${verdict.reason}\n---\n${c.content}`);
            expect(extractVariables(c.content).sort()).toEqual(extractVariables(control).sort());
            earlier.push(c.content);
          }
          expect(await generate(i)).toEqual(out);
        },
      ),
      { numRuns: 200 },
    );
  });
});
