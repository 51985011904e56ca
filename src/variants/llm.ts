/**
 * Variant generation by an OpenAI-compatible chat endpoint. Retries with backoff are left to the
 * `openai` client (`maxRetries`); this module turns its failures into our typed errors. The
 * activity heartbeats while a slow model thinks (withHeartbeat), so this module knows nothing of Temporal.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { GenerationInput, VariantCandidate } from '../domain/types';
import { LlmResponseError, LlmUnavailableError } from './errors';
import { parseLlmVariants } from './llm-response';
import { buildMetaPrompt } from './meta-prompt';
import type { VariantStrategy } from './strategy';
import { truncate } from './text';

export interface LlmStrategyOptions {
  baseURL: string;
  apiKey: string;
  model: string;
  /** Per attempt, in ms. Default 60,000. */
  timeoutMs?: number;
  /** Retries by the openai client (with its exponential backoff). Default 2. */
  maxRetries?: number;
  /** Default 0.7: some spread is the point when asking for several different variants. */
  temperature?: number;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_TEMPERATURE = 0.7;

/** `host[:port]` only: never the path, query or userinfo, which may hold secrets. */
function hostOf(baseURL: string): string {
  try {
    return new URL(baseURL).host;
  } catch {
    throw new Error('LLM base URL is not a valid URL.');
  }
}

/** Belt and braces: a proxy or server could echo the key back inside an error text. */
function redact(text: string, apiKey: string): string {
  return apiKey.length >= 4 ? text.split(apiKey).join('***') : text;
}

/** Maps an openai client failure to our typed errors; cancellation is passed through as is. */
function toLlmError(err: unknown, host: string, opts: Required<Pick<LlmStrategyOptions, 'apiKey' | 'timeoutMs' | 'maxRetries'>>): unknown {
  if (err instanceof APIUserAbortError) return err;
  const attempts = `${opts.maxRetries + 1} attempt${opts.maxRetries === 0 ? '' : 's'}`;
  if (err instanceof APIConnectionTimeoutError) {
    return new LlmUnavailableError(`LLM endpoint ${host} timed out (${opts.timeoutMs} ms per attempt, ${attempts}).`, host, {
      retryable: true,
    });
  }
  if (err instanceof APIConnectionError) {
    const cause = err.cause instanceof Error ? err.cause.message : err.message;
    return new LlmUnavailableError(redact(`LLM endpoint ${host} is unreachable after ${attempts}: ${cause}`, opts.apiKey), host, {
      retryable: true,
    });
  }
  if (err instanceof APIError && typeof err.status === 'number') {
    const status = err.status;
    if (status === 401 || status === 403) {
      return new LlmUnavailableError(`LLM endpoint ${host} rejected the API key (HTTP ${status}).`, host, {
        retryable: false,
        status,
      });
    }
    const retryable = status >= 500 || status === 408 || status === 409 || status === 429;
    const detail = redact(truncate(err.message, 200), opts.apiKey);
    return new LlmUnavailableError(
      `LLM endpoint ${host} answered HTTP ${status}${retryable ? ` after ${attempts}` : ''}: ${detail}`,
      host,
      { retryable, status },
    );
  }
  return err;
}

export function llmStrategy(opts: LlmStrategyOptions): VariantStrategy {
  const host = hostOf(opts.baseURL);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxRetries = opts.maxRetries ?? DEFAULT_MAX_RETRIES;
  const client = new OpenAI({ baseURL: opts.baseURL, apiKey: opts.apiKey, timeout: timeoutMs, maxRetries });

  return {
    name: 'llm',
    async generate(input: GenerationInput, signal?: AbortSignal): Promise<VariantCandidate[]> {
      if (input.count <= 0) return [];
      let text: string;
      try {
        const completion = await client.chat.completions.create(
          {
            model: opts.model,
            messages: buildMetaPrompt(input),
            response_format: { type: 'json_object' },
            temperature: opts.temperature ?? DEFAULT_TEMPERATURE,
          },
          { signal },
        );
        text = completion.choices[0]?.message?.content ?? '';
      } catch (err) {
        // Cancelled (e.g. the Temporal activity was): surface the canceller's reason, so the
        // worker sees its own cancellation rather than an LLM failure.
        if (signal?.aborted) throw signal.reason ?? err;
        throw toLlmError(err, host, { apiKey: opts.apiKey, timeoutMs, maxRetries });
      }

      const parsed = parseLlmVariants(text);
      if (!parsed.ok) {
        const excerpt = redact(truncate(text, 200), opts.apiKey);
        throw new LlmResponseError(`LLM endpoint ${host} returned an unusable answer: ${parsed.problem}.`, host, excerpt);
      }
      return parsed.value.variants.slice(0, input.count).map((v) => ({
        content: v.content,
        rationale: v.rationale.trim() === '' ? 'No rationale given by the model.' : v.rationale.trim(),
        strategy: 'llm',
      }));
    },
  };
}
