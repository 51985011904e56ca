/**
 * The last good serving snapshot and its background refresh. A refresh sends the ETag of what
 * it holds (If-None-Match): an unchanged snapshot costs a 304 and no parsing. A failed refresh
 * keeps what it holds and is retried with backoff; before the first success it retries sooner
 * than the refresh interval so that ready() resolves soon after the worker answers.
 */
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import { PromptClientError } from './errors.js';
import { parseSnapshot, type ServingIndex } from './snapshot.js';
import { httpError, type Transport } from './transport.js';
import type { ServingSnapshot } from './types.js';

export interface SnapshotCacheOptions {
  transport: Transport;
  refreshIntervalMs: number;
  /** False where timers do not survive a request (edge runtimes): getPrompt drives the refresh instead. */
  timers: boolean;
  promptKeys: readonly string[] | undefined;
  backoff: BackoffPolicy;
  onError: (err: PromptClientError) => void;
  now: () => number;
}

type Listener = (ok: boolean, err?: PromptClientError) => void;

export class SnapshotCache {
  index: ServingIndex | null = null;
  snapshot: ServingSnapshot | null = null;
  /** When a refresh last succeeded (200 or 304). */
  lastSuccessAt: number | null = null;
  lastAttemptOk = false;
  lastError: PromptClientError | null = null;
  refreshes = 0;
  failures = 0;
  private etag: string | null = null;
  private inFlight: Promise<boolean> | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private nextDueAt = 0;
  private consecutiveFailures = 0;
  private stopped = false;
  private readonly listeners = new Set<Listener>();

  constructor(private readonly opts: SnapshotCacheOptions) {}

  start(): void {
    void this.refresh();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Called on every getPrompt: where timers do not run (edge), use drives the refresh. Never waits. */
  poke(): void {
    if (!this.stopped && !this.inFlight && this.opts.now() >= this.nextDueAt) void this.refresh();
  }

  onSettled(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One refresh (concurrent calls share it); true when the snapshot is current. Never rejects. */
  refresh(): Promise<boolean> {
    this.inFlight ??= this.fetchOnce().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async fetchOnce(): Promise<boolean> {
    this.refreshes++;
    try {
      await this.request();
      this.succeeded();
      return true;
    } catch (err) {
      this.failed(err instanceof PromptClientError ? err : new PromptClientError('bad_response', String(err)));
      return false;
    }
  }

  private async request(): Promise<void> {
    const query = this.opts.promptKeys ? `?promptKeys=${encodeURIComponent(this.opts.promptKeys.join(','))}` : '';
    const path = `/v1/serving${query}`;
    const reply = await this.opts.transport.request('GET', path, {
      headers: this.etag && this.index ? { 'if-none-match': this.etag } : {},
    });
    if (reply.status === 304 && this.index) return;
    if (reply.status !== 200) throw httpError('GET', path, reply);
    const parsed = parseSnapshot(reply.body);
    this.index = parsed.index;
    this.snapshot = parsed.snapshot;
    this.etag = reply.headers.get('etag');
  }

  private succeeded(): void {
    this.lastSuccessAt = this.opts.now();
    this.lastAttemptOk = true;
    this.lastError = null;
    this.consecutiveFailures = 0;
    this.schedule(this.opts.refreshIntervalMs);
    for (const l of this.listeners) l(true);
  }

  private failed(err: PromptClientError): void {
    this.failures++;
    this.consecutiveFailures++;
    this.lastAttemptOk = false;
    this.lastError = err;
    // Holding a snapshot: no hurry, back off from the normal interval. Holding nothing: retry
    // soon (within the interval), so that ready() and getPrompt get a snapshot early.
    const retry = backoffDelay(this.consecutiveFailures, this.opts.backoff);
    this.schedule(this.index ? Math.max(retry, this.opts.refreshIntervalMs) : Math.min(retry, this.opts.refreshIntervalMs));
    this.opts.onError(err);
    for (const l of this.listeners) l(false, err);
  }

  private schedule(delayMs: number): void {
    this.nextDueAt = this.opts.now() + delayMs;
    if (this.stopped || !this.opts.timers) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, delayMs);
    (this.timer as { unref?: () => void }).unref?.();
  }
}
