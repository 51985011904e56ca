import { describe, it, expect } from 'vitest';
import type { GenerationInput, VariantCandidate } from '../../src/domain/types';
import { generateVariants, llmStrategy, promptHash, rulesStrategy, type VariantStrategy } from '../../src/variants';

const CONTROL = 'Help {{user}} politely.';
const INPUT: GenerationInput = {
  promptKey: 'k',
  control: { versionId: 'v1', content: CONTROL },
  insights: [],
  best: [],
  failures: [],
  count: 5,
};

/** A strategy that returns fixed candidates, recording the signal it got. */
function fixed(contents: Array<[string, string]>): VariantStrategy & { signals: Array<AbortSignal | undefined> } {
  const signals: Array<AbortSignal | undefined> = [];
  return {
    name: 'fixed',
    signals,
    async generate(_input, signal): Promise<VariantCandidate[]> {
      signals.push(signal);
      return contents.map(([content, rationale]) => ({ content, rationale, strategy: 'fixed' }));
    },
  };
}

describe('generateVariants', () => {
  it('sorts candidates into accepted (with hash) and rejected (with reason)', async () => {
    const strategy = fixed([
      [`${CONTROL} Be brief.`, 'good'],
      ['Help politely. Be brief.', 'drops the variable'],
      [`${CONTROL} Be nice.`, 'same as an earlier version'],
      [`${CONTROL}  BE BRIEF. `, 'same as the first candidate'],
      [`  ${CONTROL.toUpperCase().replace('USER', 'user')}`, 'same as control'],
      [`${CONTROL} Ask one question.`, 'also good'],
    ]);
    const result = await generateVariants(strategy, INPUT, [`${CONTROL} be nice.`]);

    expect(result.accepted).toEqual([
      { content: `${CONTROL} Be brief.`, rationale: 'good', strategy: 'fixed', normalizedHash: promptHash(`${CONTROL} Be brief.`) },
      {
        content: `${CONTROL} Ask one question.`,
        rationale: 'also good',
        strategy: 'fixed',
        normalizedHash: promptHash(`${CONTROL} Ask one question.`),
      },
    ]);
    expect(result.rejected).toEqual([
      { rationale: 'drops the variable', code: 'missing_variable', reason: 'Candidate is missing template variable {{user}}.' },
      {
        rationale: 'same as an earlier version',
        code: 'duplicate_earlier',
        reason: 'Candidate duplicates earlier version #1 (after normalization).',
      },
      {
        rationale: 'same as the first candidate',
        code: 'duplicate_in_batch',
        reason: 'Candidate duplicates another candidate of the same batch (after normalization).',
      },
      {
        rationale: 'same as control',
        code: 'same_as_control',
        reason: 'Candidate is identical to the control prompt (after normalization).',
      },
    ]);
  });

  it('passes the abort signal and validation limits through', async () => {
    const strategy = fixed([[`${CONTROL} Be brief.`, 'good']]);
    const controller = new AbortController();
    const result = await generateVariants(strategy, INPUT, [], { signal: controller.signal, limits: { maxLength: 20 } });
    expect(strategy.signals).toEqual([controller.signal]);
    expect(result.rejected[0]?.reason).toMatch(/too long/);
  });

  it('accepts every rules variant for a prompt with no insights (forced cycle)', async () => {
    const result = await generateVariants(rulesStrategy, { ...INPUT, count: 3 }, []);
    expect(result.accepted).toHaveLength(3);
    expect(result.rejected).toEqual([]);
  });
});

describe('llmStrategy settings', () => {
  it('builds an llm strategy from its settings', () => {
    expect(llmStrategy({ baseURL: 'http://127.0.0.1:1/v1', apiKey: 'k', model: 'm' }).name).toBe('llm');
  });

  it('refuses a malformed base URL', () => {
    expect(() => llmStrategy({ baseURL: 'not a url', apiKey: 'k', model: 'm' })).toThrow(/not a valid URL/);
  });
});
