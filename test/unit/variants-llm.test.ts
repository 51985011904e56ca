import { afterEach, describe, it, expect } from 'vitest';
import type { GenerationInput } from '../../src/domain/types';
import {
  LlmError,
  LlmResponseError,
  LlmUnavailableError,
  generateVariants,
  llmStrategy,
  type LlmStrategyOptions,
} from '../../src/variants';
import { closedPort, startFakeOpenAIServer, type FakeOpenAIServer, type FakeOpenAIServerOptions } from '../helpers/fake-openai-server';

const API_KEY = 'sk-test-DO-NOT-LEAK-4f9a1c';
const CONTROL = 'You help {{ user_name }} with {{product}}.\n<!-- locked -->\nNo legal advice.\n<!-- /locked -->';

const INPUT: GenerationInput = {
  promptKey: 'support',
  control: { versionId: 'v7', content: CONTROL },
  insights: [
    {
      promptKey: 'support',
      versionId: 'v7',
      kind: 'low_success_segment',
      segment: 'billing',
      evidence: { successRate: 0.41, n: 120 },
      severity: 'high',
      isActionable: true,
    },
    {
      promptKey: 'support',
      versionId: 'v7',
      kind: 'verbosity',
      segment: null,
      evidence: { tokensFailMean: 812 },
      severity: 'medium',
      isActionable: true,
    },
  ],
  best: [{ topic: 'billing', success: true, rating: 5, inputExcerpt: 'Can I pay yearly?', outputExcerpt: 'Yes, in Settings.' }],
  failures: [{ topic: 'billing', success: false, rating: 1, inputExcerpt: 'Refund my double charge', outputExcerpt: 'I cannot.' }],
  count: 2,
};

const V1 = { content: `${CONTROL}\n\nFor billing questions, give exact menu paths.`, rationale: 'Targets billing.' };
const V2 = { content: `${CONTROL}\n\nBe brief.`, rationale: 'Targets verbosity.' };

let server: FakeOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function withStandIn(
  serverOpts: FakeOpenAIServerOptions,
  strategyOpts: Partial<LlmStrategyOptions> = {},
): Promise<{ standIn: FakeOpenAIServer; strategy: ReturnType<typeof llmStrategy> }> {
  const standIn = await startFakeOpenAIServer(serverOpts);
  server = standIn;
  const strategy = llmStrategy({ baseURL: standIn.baseURL, apiKey: API_KEY, model: 'stand-in-model', maxRetries: 0, ...strategyOpts });
  return { standIn, strategy };
}

/** Everything an error could leak through: message, stack and enumerable fields. */
function leakSurface(err: unknown): string {
  const e = err as Error;
  return `${e.message}\n${e.stack ?? ''}\n${JSON.stringify(e)}`;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('llmStrategy against the OpenAI-compatible stand-in server', () => {
  it('returns the variants and sends a meta-prompt with the control prompt, insights and samples', async () => {
    const { standIn, strategy } = await withStandIn({ reply: { type: 'variants', variants: [V1, V2] } }, { temperature: 0.3 });
    const out = await strategy.generate(INPUT);

    expect(strategy.name).toBe('llm');
    expect(out).toEqual([
      { ...V1, strategy: 'llm' },
      { ...V2, strategy: 'llm' },
    ]);
    expect(standIn.calls).toBe(1);

    const req = standIn.requests[0];
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    const body = req?.body as { model: string; temperature: number; response_format: unknown; messages: Array<{ content: string }> };
    expect(body.model).toBe('stand-in-model');
    expect(body.temperature).toBe(0.3);
    expect(body.response_format).toEqual({ type: 'json_object' });
    const meta = body.messages.map((m) => m.content).join('\n');
    expect(meta).toContain(CONTROL);
    expect(meta).toContain('low_success_segment [billing] (high; successRate=0.41, n=120)');
    expect(meta).toContain('verbosity (medium; tokensFailMean=812)');
    expect(meta).toContain('Template variables to keep: {{user_name}}, {{product}}');
    expect(meta).toContain('Refund my double charge');
    expect(meta).toContain('Can I pay yearly?');
    expect(meta).toContain('Write 2 alternative versions');
  });

  it('tolerates a ```json fenced answer with chatter around it', async () => {
    const { strategy } = await withStandIn({ reply: { type: 'fenced', variants: [V1] } });
    expect(await strategy.generate(INPUT)).toEqual([{ ...V1, strategy: 'llm' }]);
  });

  it('keeps at most count variants', async () => {
    const { strategy } = await withStandIn({ reply: { type: 'variants', variants: [V1, V2, V1] } });
    expect(await strategy.generate({ ...INPUT, count: 1 })).toHaveLength(1);
  });

  it('succeeds after HTTP 500s thanks to the client retries, calling the stand-in K+1 times', async () => {
    const { standIn, strategy } = await withStandIn({ failFirst: 2, reply: { type: 'variants', variants: [V1] } }, { maxRetries: 2 });
    expect(await strategy.generate(INPUT)).toHaveLength(1);
    expect(standIn.calls).toBe(3);
  });

  it('gives up with a retryable LlmUnavailableError when 500s outlast the retries', async () => {
    const { standIn, strategy } = await withStandIn({ failFirst: 10 }, { maxRetries: 1 });
    const err = await caught(strategy.generate(INPUT));
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect(err).toMatchObject({ retryable: true, status: 500 });
    expect((err as Error).message).toContain(`127.0.0.1:${standIn.port}`);
    expect(standIn.calls).toBe(2);
  });

  it('reports an unreachable endpoint (closed port) as LlmUnavailableError without the api key', async () => {
    const port = await closedPort();
    const strategy = llmStrategy({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: API_KEY, model: 'm', maxRetries: 0 });
    const err = await caught(strategy.generate(INPUT));
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect(err).toBeInstanceOf(LlmError);
    expect(err).toMatchObject({ name: 'LlmUnavailableError', retryable: true, host: `127.0.0.1:${port}` });
    expect((err as Error).message).toContain(`LLM endpoint 127.0.0.1:${port} is unreachable`);
    expect(leakSurface(err)).not.toContain(API_KEY);
  });

  it('reports a response slower than the timeout as a retryable LlmUnavailableError', async () => {
    const { strategy } = await withStandIn({ delayMs: 5_000, reply: { type: 'variants', variants: [V1] } }, { timeoutMs: 200 });
    const started = Date.now();
    const err = await caught(strategy.generate(INPUT));
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect(err).toMatchObject({ retryable: true });
    expect((err as Error).message).toMatch(/timed out \(200 ms per attempt/);
  });

  it('reports a rejected key (HTTP 401) as a non-retryable LlmUnavailableError without the key', async () => {
    const { strategy } = await withStandIn({ reply: { type: 'status', status: 401, message: `Incorrect API key provided: ${API_KEY}` } });
    const err = await caught(strategy.generate(INPUT));
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect(err).toMatchObject({ retryable: false, status: 401 });
    expect(leakSurface(err)).not.toContain(API_KEY);
  });

  it.each([
    ['garbage text', 'I would suggest making the prompt friendlier!'],
    ['JSON of the wrong shape', '{"suggestions":["be nicer"]}'],
    ['an empty variants list', '{"variants":[]}'],
    ['a variant without content', '{"variants":[{"rationale":"x"}]}'],
  ])('throws LlmResponseError for %s', async (_name, text) => {
    const { standIn, strategy } = await withStandIn({ reply: { type: 'text', text } });
    const err = await caught(strategy.generate(INPUT));
    expect(err).toBeInstanceOf(LlmResponseError);
    expect(err).toMatchObject({ name: 'LlmResponseError', retryable: true, host: `127.0.0.1:${standIn.port}` });
    expect((err as Error).message).toMatch(/returned an unusable answer/);
    expect(leakSurface(err)).not.toContain(API_KEY);
  });

  it('passes cancellation through as the abort reason (not an LLM failure)', async () => {
    const { strategy } = await withStandIn({ delayMs: 5_000, reply: { type: 'variants', variants: [V1] } });
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 50);
    const err = await caught(strategy.generate(INPUT, controller.signal));
    expect(err).toBe(reason);
    expect(err).not.toBeInstanceOf(LlmError);
  });

  it('generateVariants rejects candidates from the stand-in that drop a variable or a locked block', async () => {
    const dropped = { content: CONTROL.replace('{{product}}', 'our product') + '\nBe brief.', rationale: 'Dropped a variable.' };
    const unlocked = { content: CONTROL.replace('No legal advice.', 'No legal tips.'), rationale: 'Edited the lock.' };
    const { strategy } = await withStandIn({ reply: { type: 'variants', variants: [V1, dropped, unlocked] } });
    const result = await generateVariants(strategy, { ...INPUT, count: 3 }, []);
    expect(result.accepted.map((a) => a.content)).toEqual([V1.content]);
    expect(result.rejected).toEqual([
      { rationale: 'Dropped a variable.', code: 'missing_variable', reason: 'Candidate is missing template variable {{product}}.' },
      { rationale: 'Edited the lock.', code: 'locked_changed', reason: expect.stringMatching(/^Locked section 1 of 1 was changed/) },
    ]);
  });
});
