/**
 * createPromptClient: the host app's side of the optimizer. Prompts are served from a local copy
 * of GET /v1/serving, assigned locally exactly as the SQL assign_prompt does, so getPrompt is a
 * synchronous lookup that never waits on the network and never throws. Outcomes and late
 * feedback are queued and delivered in batches in the background.
 */
import { assignmentBucket, pickArm, validSubject } from './assignment.js';
import type { BackoffPolicy } from './backoff.js';
import { NotReadyError, PromptClientError } from './errors.js';
import { newExternalId } from './ids.js';
import { resolveOptions, type ResolvedOptions } from './options.js';
import { Outbox } from './outbox.js';
import { SnapshotCache } from './snapshot-cache.js';
import { renderTemplate } from './template.js';
import { Transport } from './transport.js';
import type {
  ClientStats,
  ConversationLog,
  FallbackReason,
  Feedback,
  FlushResult,
  GetPromptOptions,
  PromptClientOptions,
  PromptSource,
  ServedPrompt,
  ServingSnapshot,
  ServingVersion,
  WireConversation,
} from './types.js';

const CONVERSATION_FIELDS = [
  'promptKey',
  'versionId',
  'success',
  'subjectId',
  'topic',
  'rating',
  'latencyMs',
  'tokens',
  'error',
  'inputExcerpt',
  'outputExcerpt',
] as const;

export class PromptClient {
  private readonly options: ResolvedOptions;
  private readonly cache: SnapshotCache;
  private readonly outbox: Outbox;
  private readonly served: Record<PromptSource, number> = { live: 0, cache: 0, fallback: 0 };
  private rejectedLocally = 0;
  private feedbackRejectedLocally = 0;
  private closing: Promise<FlushResult> | undefined;

  constructor(options: PromptClientOptions) {
    this.options = resolveOptions(options);
    const o = this.options;
    const transport = new Transport({ baseUrl: o.baseUrl, token: o.ingestToken, timeoutMs: o.requestTimeoutMs, fetch: o.fetch });
    const backoff: BackoffPolicy = { initialMs: o.initialBackoffMs, maxMs: o.maxBackoffMs, random: Math.random };
    const onError = (err: PromptClientError) => this.report(err);
    const now = () => Date.now();
    this.cache = new SnapshotCache({
      transport,
      refreshIntervalMs: o.refreshIntervalMs,
      timers: o.backgroundTimers,
      promptKeys: o.promptKeys,
      backoff,
      onError,
      now,
    });
    this.outbox = new Outbox({
      transport,
      maxQueue: o.maxQueue,
      batchSize: o.batchSize,
      flushIntervalMs: o.flushIntervalMs,
      feedbackRetryMs: o.feedbackRetryMs,
      timers: o.backgroundTimers,
      backoff,
      onError,
      now,
    });
    this.cache.start();
  }

  /** Resolves once a snapshot is held; rejects with NotReadyError after timeoutMs (the client keeps trying and serves fallbacks meanwhile). */
  ready(opts: { timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 5_000;
    if (this.cache.index) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new NotReadyError(timeoutMs, this.cache.lastError ?? undefined));
      }, timeoutMs);
      const off = this.cache.onSettled((ok) => {
        if (!ok) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  /** Synchronous and local: the version this subject is served now. Never throws, never waits. */
  getPrompt(promptKey: string, subjectId: string, opts?: GetPromptOptions): ServedPrompt {
    const o = opts ?? {};
    try {
      this.cache.poke();
      return this.count(this.serve(promptKey, subjectId, o));
    } catch {
      return this.count(this.fallback(String(promptKey), 'not_ready', {}));
    }
  }

  /** Queues the outcome of a conversation; returns its externalId (generated when absent). Never throws. */
  logConversation(row: ConversationLog): string {
    const externalId = typeof row?.externalId === 'string' ? row.externalId : newExternalId();
    try {
      const problem = rowProblem(row, externalId);
      if (problem) return this.refuse('conversation', externalId, problem);
      const wire: Record<string, unknown> = { externalId, createdAt: timestamp(row.createdAt) };
      for (const f of CONVERSATION_FIELDS) if (row[f] !== undefined && row[f] !== null) wire[f] = row[f];
      this.outbox.addRow(wire as unknown as WireConversation);
    } catch (err) {
      this.refuse('conversation', externalId, (err as Error).message);
    }
    return externalId;
  }

  /** A late outcome (thumbs up/down, a rating) for a logged conversation. Queued; never throws. */
  recordFeedback(externalId: string, feedback: Feedback): void {
    try {
      const problem = feedbackProblem(externalId, feedback);
      if (problem) {
        this.refuse('feedback', String(externalId), problem);
        return;
      }
      this.outbox.addFeedback({
        externalId,
        ...(feedback.success !== undefined ? { success: feedback.success } : {}),
        ...(feedback.rating !== undefined ? { rating: feedback.rating } : {}),
      });
    } catch (err) {
      this.refuse('feedback', String(externalId), (err as Error).message);
    }
  }

  /** Delivers everything queued now. Resolves (never rejects) with what is still pending. */
  flush(): Promise<FlushResult> {
    return this.outbox.flush();
  }

  /** Fetches the snapshot now (normally the background refresh does); true when it is current. */
  refresh(): Promise<boolean> {
    return this.cache.refresh();
  }

  /** Stops the refresh, delivers the queue (for at most timeoutMs, default 10 s) and counts the rest as dropped. */
  close(opts: { timeoutMs?: number } = {}): Promise<FlushResult> {
    this.cache.stop();
    this.closing ??= this.outbox.close(opts.timeoutMs ?? 10_000);
    return this.closing;
  }

  /** The snapshot held (for diagnostics and bootstrapping), or null. */
  snapshot(): ServingSnapshot | null {
    return this.cache.snapshot;
  }

  stats(): ClientStats {
    const c = this.outbox.counters;
    const age = this.cache.lastSuccessAt === null ? null : Date.now() - this.cache.lastSuccessAt;
    return {
      ready: this.cache.index !== null,
      snapshotAgeMs: age,
      lastRefreshOk: this.cache.lastAttemptOk,
      refreshes: this.cache.refreshes,
      refreshFailures: this.cache.failures,
      served: { ...this.served },
      queued: this.outbox.queued,
      inFlight: this.outbox.sending,
      delivered: c.delivered,
      duplicates: c.duplicates,
      rejected: c.rejected + this.rejectedLocally,
      dropped: c.dropped,
      feedbackQueued: this.outbox.queuedFeedback,
      feedbackDelivered: c.feedbackDelivered,
      feedbackMerged: c.feedbackMerged,
      feedbackRejected: c.feedbackRejected + this.feedbackRejectedLocally,
      feedbackDropped: c.feedbackDropped,
      lastError: (this.outbox.lastError ?? this.cache.lastError)?.message ?? null,
    };
  }

  private serve(promptKey: string, subjectId: string, opts: GetPromptOptions): ServedPrompt {
    const { index, lastSuccessAt } = this.cache;
    if (!index || lastSuccessAt === null) return this.fallback(promptKey, 'not_ready', opts);
    const age = Date.now() - lastSuccessAt;
    if (age > this.options.maxStalenessMs) return this.fallback(promptKey, 'stale', opts);
    const entry = index.get(promptKey);
    if (!entry) return this.fallback(promptKey, 'unknown_prompt_key', opts);
    let version: ServingVersion = entry.active;
    let experimentId: string | null = null;
    let arm: number | null = null;
    const e = entry.experiment;
    // As assign_prompt: a paused experiment serves everyone the active version, outside the experiment.
    if (e && !e.paused && validSubject(subjectId)) {
      const picked = pickArm(e.arms, assignmentBucket(e.experimentId, subjectId));
      if (picked) {
        version = picked;
        experimentId = e.experimentId;
        arm = picked.arm;
      }
    }
    return {
      promptKey,
      content: renderTemplate(version.content, opts.variables),
      versionId: version.versionId,
      version: version.version,
      experimentId,
      arm,
      source: this.live(age) ? 'live' : 'cache',
    };
  }

  /** Live: the latest refresh succeeded and is recent (two intervals and a request timeout). */
  private live(age: number): boolean {
    return this.cache.lastAttemptOk && age <= 2 * this.options.refreshIntervalMs + this.options.requestTimeoutMs;
  }

  private fallback(promptKey: string, reason: FallbackReason, opts: GetPromptOptions): ServedPrompt {
    const own = Object.prototype.hasOwnProperty.call(this.options.fallbacks, promptKey) ? this.options.fallbacks[promptKey] : undefined;
    const text = typeof opts.fallback === 'string' ? opts.fallback : (own ?? '');
    return {
      promptKey,
      content: renderTemplate(text, opts.variables),
      versionId: null,
      version: null,
      experimentId: null,
      arm: null,
      source: 'fallback',
      fallbackReason: reason,
    };
  }

  private count(p: ServedPrompt): ServedPrompt {
    this.served[p.source]++;
    return p;
  }

  private refuse(kind: 'conversation' | 'feedback', externalId: string, problem: string): string {
    if (kind === 'conversation') this.rejectedLocally++;
    else this.feedbackRejectedLocally++;
    this.report(
      new PromptClientError('rejected', `${kind === 'conversation' ? 'logConversation' : 'recordFeedback'}: ${problem}`, {
        details: [externalId],
      }),
    );
    return externalId;
  }

  private report(err: PromptClientError): void {
    try {
      this.options.onError(err);
    } catch {
      // A throwing handler must not break the client.
    }
  }
}

function rowProblem(row: ConversationLog, externalId: string): string | undefined {
  if (!row || typeof row !== 'object') return 'the row must be an object';
  if (typeof row.promptKey !== 'string' || row.promptKey.length === 0) return 'promptKey is required';
  if (typeof row.versionId !== 'string' || row.versionId.length === 0) return 'versionId is required (a fallback has none: do not log it)';
  if (typeof row.success !== 'boolean') return 'success must be true or false';
  if (externalId.length < 1 || externalId.length > 200) return 'externalId must be 1-200 characters';
  if (row.createdAt !== undefined && Number.isNaN(new Date(row.createdAt).getTime()))
    return 'createdAt must be a Date or an ISO 8601 string';
  return undefined;
}

function feedbackProblem(externalId: unknown, f: Feedback): string | undefined {
  if (typeof externalId !== 'string' || externalId.length < 1 || externalId.length > 200) return 'externalId must be 1-200 characters';
  if (!f || typeof f !== 'object') return 'feedback must be an object';
  if (f.success !== undefined && typeof f.success !== 'boolean') return 'success must be true or false';
  if (f.rating !== undefined && !(Number.isInteger(f.rating) && f.rating >= 1 && f.rating <= 5))
    return 'rating must be an integer from 1 to 5';
  if (f.success === undefined && f.rating === undefined) return 'feedback needs success or rating';
  return undefined;
}

function timestamp(createdAt: Date | string | undefined): string {
  return (createdAt === undefined ? new Date() : new Date(createdAt)).toISOString();
}

/** The client of a host app. Call ready() at start-up, close() at shutdown. */
export function createPromptClient(options: PromptClientOptions): PromptClient {
  return new PromptClient(options);
}
