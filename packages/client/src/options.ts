/** The client's options, checked once with defaults filled in; a bad option throws at creation. */
import { PromptClientError } from './errors.js';
import type { PromptClientOptions } from './types.js';

export const DEFAULTS = {
  refreshIntervalMs: 10_000,
  maxStalenessMs: Number.POSITIVE_INFINITY,
  maxQueue: 10_000,
  batchSize: 250,
  flushIntervalMs: 2_000,
  requestTimeoutMs: 5_000,
  initialBackoffMs: 500,
  maxBackoffMs: 30_000,
  feedbackRetryMs: 600_000,
} as const;

/** The worker refuses batches above 500 rows and bodies above 1 MB; stay under both. */
export const MAX_BATCH_ROWS = 500;
export const MAX_BATCH_BYTES = 900_000;

export interface ResolvedOptions extends Required<Omit<PromptClientOptions, 'promptKeys' | 'fallbacks' | 'onError'>> {
  promptKeys: readonly string[] | undefined;
  fallbacks: Readonly<Record<string, string>>;
  onError: NonNullable<PromptClientOptions['onError']>;
}

const PROMPT_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

function invalid(message: string): never {
  throw new PromptClientError('config', `createPromptClient: ${message}`);
}

function integer(name: string, value: number | undefined, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Number.POSITIVE_INFINITY && max === Number.POSITIVE_INFINITY) return value;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    invalid(`${name} must be an integer from ${min} to ${max}`);
  return value;
}

function baseUrl(value: unknown): string {
  if (typeof value !== 'string') invalid('baseUrl is required');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    invalid('baseUrl must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') invalid('baseUrl must be an absolute http(s) URL');
  return value;
}

function defaultOnError(err: PromptClientError): void {
  console.warn(`[@prompt-optimization/client] ${err.code}: ${err.message}`);
}

export function resolveOptions(o: PromptClientOptions): ResolvedOptions {
  if (!o || typeof o !== 'object') invalid('options are required');
  if (typeof o.ingestToken !== 'string' || o.ingestToken.length === 0) invalid('ingestToken is required');
  if (o.backgroundTimers !== undefined && typeof o.backgroundTimers !== 'boolean') invalid('backgroundTimers must be true or false');
  const promptKeys = o.promptKeys === undefined ? undefined : [...o.promptKeys];
  for (const k of promptKeys ?? [])
    if (typeof k !== 'string' || !PROMPT_KEY_RE.test(k)) invalid(`promptKeys: ${JSON.stringify(k)} is not a prompt key`);
  const fetchFn = o.fetch ?? (globalThis.fetch as typeof fetch | undefined);
  if (typeof fetchFn !== 'function') invalid('no fetch in this runtime: pass options.fetch');
  const initialBackoffMs = integer('initialBackoffMs', o.initialBackoffMs, 1, 3_600_000, DEFAULTS.initialBackoffMs);
  return {
    baseUrl: baseUrl(o.baseUrl),
    ingestToken: o.ingestToken,
    refreshIntervalMs: integer('refreshIntervalMs', o.refreshIntervalMs, 1_000, 86_400_000, DEFAULTS.refreshIntervalMs),
    backgroundTimers: o.backgroundTimers ?? true,
    maxStalenessMs: integer('maxStalenessMs', o.maxStalenessMs, 1, Number.POSITIVE_INFINITY, DEFAULTS.maxStalenessMs),
    maxQueue: integer('maxQueue', o.maxQueue, 1, 10_000_000, DEFAULTS.maxQueue),
    batchSize: integer('batchSize', o.batchSize, 1, MAX_BATCH_ROWS, DEFAULTS.batchSize),
    flushIntervalMs: integer('flushIntervalMs', o.flushIntervalMs, 1, 3_600_000, DEFAULTS.flushIntervalMs),
    requestTimeoutMs: integer('requestTimeoutMs', o.requestTimeoutMs, 1, 600_000, DEFAULTS.requestTimeoutMs),
    initialBackoffMs,
    maxBackoffMs: integer('maxBackoffMs', o.maxBackoffMs, initialBackoffMs, 86_400_000, Math.max(DEFAULTS.maxBackoffMs, initialBackoffMs)),
    feedbackRetryMs: integer('feedbackRetryMs', o.feedbackRetryMs, 0, 86_400_000, DEFAULTS.feedbackRetryMs),
    promptKeys,
    fallbacks: { ...(o.fallbacks ?? {}) },
    onError: o.onError ?? defaultOnError,
    // Called as a plain function: browsers and edge runtimes refuse fetch called as a method of another object.
    fetch: ((input, init) => fetchFn(input, init)) as typeof fetch,
  };
}
