/** Public types of the SDK and the JSON it exchanges with the worker's ingest API. */
import type { PromptClientError } from './errors.js';
import type { TemplateVariables } from './template.js';

// --- GET /v1/serving -------------------------------------------------------------------------

export interface ServingVersion {
  versionId: string;
  version: number;
  content: string;
}

export interface ServingArm extends ServingVersion {
  arm: number;
  weight: number;
}

export interface ServingExperiment {
  experimentId: string;
  status: 'running' | 'paused';
  paused: boolean;
  arms: ServingArm[];
}

export interface ServingPrompt {
  promptKey: string;
  active: ServingVersion;
  experiment: ServingExperiment | null;
}

/** The body of GET /v1/serving. */
export interface ServingSnapshot {
  prompts: ServingPrompt[];
}

// --- getPrompt --------------------------------------------------------------------------------

/**
 * live: from a snapshot the latest refresh confirmed; cache: the last good snapshot, kept while
 * refreshes fail; fallback: the caller's text (nothing fetched yet, unknown key, or too stale).
 */
export type PromptSource = 'live' | 'cache' | 'fallback';

export type FallbackReason = 'not_ready' | 'unknown_prompt_key' | 'stale';

export interface ServedPrompt {
  promptKey: string;
  /** The prompt text, variables filled in. Empty only when no fallback was given for a fallback. */
  content: string;
  /** Null for a fallback: there is no version to log the conversation against. */
  versionId: string | null;
  version: number | null;
  experimentId: string | null;
  arm: number | null;
  source: PromptSource;
  /** Why the fallback was served (only when source is 'fallback'). */
  fallbackReason?: FallbackReason;
}

export interface GetPromptOptions {
  /** Served when the snapshot cannot serve this key (overrides the client's `fallbacks`). */
  fallback?: string;
  /** Values for `{{ name }}` placeholders. */
  variables?: TemplateVariables;
}

// --- logging ----------------------------------------------------------------------------------

/** The fields of POST /v1/conversations, plus when it happened (default: when it was logged). */
export interface ConversationLog {
  promptKey: string;
  versionId: string;
  success: boolean;
  subjectId?: string;
  topic?: string;
  rating?: number;
  latencyMs?: number;
  tokens?: number;
  error?: string;
  /** Generated (a random UUID) when absent; makes retries safe and late feedback possible. */
  externalId?: string;
  inputExcerpt?: string;
  outputExcerpt?: string;
  createdAt?: Date | string;
}

export interface Feedback {
  success?: boolean;
  rating?: number;
}

/** A row as sent in POST /v1/conversations/batch. */
export interface WireConversation extends Omit<ConversationLog, 'createdAt' | 'externalId'> {
  externalId: string;
  createdAt: string;
}

export interface WireFeedback extends Feedback {
  externalId: string;
}

export interface BatchRowResult {
  index: number;
  status: 'created' | 'duplicate' | 'error';
  externalId?: string;
  error?: string;
  field?: string;
}

export interface FeedbackItemResult {
  index: number;
  status: 'updated' | 'unchanged' | 'not_found' | 'window_closed' | 'error';
  externalId?: string;
  error?: string;
  field?: string;
}

// --- the client -------------------------------------------------------------------------------

export interface PromptClientOptions {
  /** The worker's base URL, e.g. https://optimizer.internal:8081 */
  baseUrl: string;
  /** INGEST_API_TOKEN of the worker. */
  ingestToken: string;
  /** Refresh of the snapshot (with its ETag: an unchanged one costs a 304). Default 10 s, at least 1 s. */
  refreshIntervalMs?: number;
  /**
   * Timers for the refresh and the delivery (default true). Set false where timers do not outlive
   * a request (edge functions): getPrompt then starts a due refresh itself, logConversation a
   * due delivery, and the app awaits flush() at the end of a request (e.g. in waitUntil).
   */
  backgroundTimers?: boolean;
  /** Older than this (since the last successful refresh), the snapshot is not served: the fallback is. Default: no limit. */
  maxStalenessMs?: number;
  /** Fallback text per prompt key, for when nothing was fetched yet or the key is unknown. */
  fallbacks?: Readonly<Record<string, string>>;
  /** Only these prompt keys are fetched (default: all). */
  promptKeys?: readonly string[];
  /** Conversations (and, separately, feedback items) kept for delivery at most; more are dropped and counted. Default 10,000. */
  maxQueue?: number;
  /** Rows per POST /v1/conversations/batch (1-500). Default 250. */
  batchSize?: number;
  /** Delivery interval; a full batch goes at once. Default 2 s. */
  flushIntervalMs?: number;
  /** Timeout of one HTTP request. Default 5 s. */
  requestTimeoutMs?: number;
  /** First and largest delay between retries of a failed delivery. Defaults 500 ms and 30 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long feedback for a conversation the worker does not know yet is retried (it may still be in another instance's queue). Default 10 min. */
  feedbackRetryMs?: number;
  /** Problems of the background work (refresh, delivery, rows refused or dropped). Default: console.warn. */
  onError?: (err: PromptClientError) => void;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

export interface FlushResult {
  /** Everything queued when flush was called has been delivered (or refused by the worker). */
  ok: boolean;
  /** Conversations and feedback items still waiting. */
  pending: number;
  pendingFeedback: number;
  /** Why delivery stopped, when ok is false. */
  error?: PromptClientError;
}

export interface ClientStats {
  ready: boolean;
  /** Since the last successful refresh (200 or 304); null before the first. */
  snapshotAgeMs: number | null;
  lastRefreshOk: boolean;
  refreshes: number;
  refreshFailures: number;
  served: Record<PromptSource, number>;
  queued: number;
  inFlight: number;
  delivered: number;
  duplicates: number;
  rejected: number;
  dropped: number;
  feedbackQueued: number;
  feedbackDelivered: number;
  feedbackMerged: number;
  feedbackRejected: number;
  feedbackDropped: number;
  lastError: string | null;
}
