/**
 * Delivery of conversations and late feedback: bounded queues, batches to
 * POST /v1/conversations/batch and POST /v1/feedback, one request at a time, exponential backoff
 * with jitter after a failure. Rows carry their externalId, so a batch retried after a lost
 * answer is stored once. Whatever cannot be delivered is counted and reported, never lost quietly.
 *
 * Order: conversations go before feedback, and a failed conversation batch stops the round, so
 * feedback never overtakes the conversation it is about. Feedback for a row still waiting in the
 * queue (never sent) is merged into it instead of sent separately.
 */
import { backoffDelay, retryAfterMs, type BackoffPolicy } from './backoff.js';
import { isRetryableStatus, PromptClientError } from './errors.js';
import { MAX_BATCH_BYTES } from './options.js';
import { httpError, type HttpReply, type Transport } from './transport.js';
import type { BatchRowResult, FeedbackItemResult, FlushResult, WireConversation, WireFeedback } from './types.js';

export interface OutboxOptions {
  transport: Transport;
  maxQueue: number;
  batchSize: number;
  flushIntervalMs: number;
  feedbackRetryMs: number;
  timers: boolean;
  backoff: BackoffPolicy;
  onError: (err: PromptClientError) => void;
  now: () => number;
}

interface QueuedRow {
  seq: number;
  /** When it was queued (the flush interval counts from the oldest waiting row). */
  at: number;
  row: WireConversation;
  /** Sent at least once: the worker may hold it already, so feedback can no longer be merged in. */
  sent: boolean;
}

interface Round {
  /** Rows and feedback queued up to this sequence number are sent (read when the round starts). */
  target: () => number;
  /** A flush: runs even during a backoff. */
  force: boolean;
  /** Only full batches of rows (the rest waits for the interval). */
  fullOnly: boolean;
}

interface QueuedFeedback {
  seq: number;
  item: WireFeedback;
  firstAt: number;
  notBefore: number;
  attempts: number;
}

export interface OutboxCounters {
  delivered: number;
  duplicates: number;
  rejected: number;
  dropped: number;
  feedbackDelivered: number;
  feedbackMerged: number;
  feedbackRejected: number;
  feedbackDropped: number;
}

const DETAILS = 5;
const DROP_REPORT_EVERY_MS = 1_000;

/** UTF-8 length of a string without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export class Outbox {
  readonly counters: OutboxCounters = {
    delivered: 0,
    duplicates: 0,
    rejected: 0,
    dropped: 0,
    feedbackDelivered: 0,
    feedbackMerged: 0,
    feedbackRejected: 0,
    feedbackDropped: 0,
  };
  lastError: PromptClientError | null = null;
  private rows: QueuedRow[] = [];
  private readonly unsent = new Map<string, QueuedRow>();
  private inFlight = 0;
  private feedback: QueuedFeedback[] = [];
  private seq = 0;
  private chain: Promise<unknown> = Promise.resolve();
  /** A background round is queued (not yet started): wake() adds no other. */
  private scheduled = false;
  private failures = 0;
  private retryAt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /** close() has counted what was left; later failures count themselves. */
  private gaveUp = false;
  private unreportedDrops: { n: number; why: string } = { n: 0, why: '' };
  private lastDropReport = Number.NEGATIVE_INFINITY;

  constructor(private readonly opts: OutboxOptions) {}

  get queued(): number {
    return this.rows.length;
  }

  get queuedFeedback(): number {
    return this.feedback.length;
  }

  get sending(): number {
    return this.inFlight;
  }

  addRow(row: WireConversation): void {
    if (this.closed) return this.drop('rows', 1, 'the client is closed');
    if (this.rows.length >= this.opts.maxQueue) return this.drop('rows', 1, `the queue is full (${this.opts.maxQueue} rows)`);
    const queued = { seq: ++this.seq, at: this.opts.now(), row, sent: false };
    this.rows.push(queued);
    this.unsent.set(row.externalId, queued);
    this.wake();
  }

  addFeedback(item: WireFeedback): void {
    const waiting = this.unsent.get(item.externalId);
    if (waiting) {
      if (item.success !== undefined) waiting.row.success = item.success;
      if (item.rating !== undefined) waiting.row.rating = item.rating;
      this.counters.feedbackMerged++;
      return;
    }
    if (this.closed) return this.drop('feedback', 1, 'the client is closed');
    if (this.feedback.length >= this.opts.maxQueue)
      return this.drop('feedback', 1, `the feedback queue is full (${this.opts.maxQueue} items)`);
    const now = this.opts.now();
    this.feedback.push({ seq: ++this.seq, item, firstAt: now, notBefore: now, attempts: 0 });
    this.wake();
  }

  /** Delivers what is queued now (ignoring a backoff in progress); never rejects. */
  flush(): Promise<FlushResult> {
    const target = this.seq;
    return this.enqueueDrain({ target: () => target, force: true, fullOnly: false });
  }

  /** Stops accepting work and delivers what is queued, for at most timeoutMs; the rest is counted as dropped. */
  async close(timeoutMs: number): Promise<FlushResult> {
    this.closed = true;
    this.clearTimer();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const result = await Promise.race([this.flush(), timedOut]);
    clearTimeout(timer);
    this.gaveUp = true;
    const left = { rows: this.rows.splice(0), feedback: this.feedback.splice(0) };
    for (const r of left.rows) this.unsent.delete(r.row.externalId);
    if (left.rows.length > 0) this.drop('rows', left.rows.length, 'the client closed before they could be delivered');
    if (left.feedback.length > 0) this.drop('feedback', left.feedback.length, 'the client closed before they could be delivered');
    this.reportDrops(true);
    const error =
      result === 'timeout' ? new PromptClientError('timeout', `close: delivery did not finish within ${timeoutMs} ms`) : result.error;
    return {
      ok: left.rows.length === 0 && left.feedback.length === 0 && error === undefined,
      pending: 0,
      pendingFeedback: 0,
      ...(error ? { error } : {}),
    };
  }

  /**
   * Called when work arrives and after each round: full batches go at once (outside a backoff);
   * the rest waits for the flush interval, a retry for its backoff. One round at a time.
   */
  wake(): void {
    if (this.closed || this.scheduled) return;
    const now = this.opts.now();
    const due = now >= this.retryAt;
    if (due && this.rows.length >= this.opts.batchSize) {
      void this.enqueueDrain({ target: () => this.seq, force: false, fullOnly: true });
      return;
    }
    const at = this.nextRoundAt();
    if (at === undefined) return;
    if (!this.opts.timers) {
      // Without timers (edge), a due round starts on the next log call instead.
      if (at <= now) void this.enqueueDrain({ target: () => this.seq, force: false, fullOnly: false });
      return;
    }
    this.clearTimer();
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.enqueueDrain({ target: () => this.seq, force: false, fullOnly: false });
      },
      Math.max(0, at - now),
    );
    (this.timer as { unref?: () => void }).unref?.();
  }

  /**
   * When the next timed round is due: the flush interval after the oldest waiting item arrived,
   * or, after a failure, the end of the backoff; a feedback retry at its own time.
   */
  private nextRoundAt(): number | undefined {
    const backingOff = this.retryAt > 0;
    const fresh = (queuedAt: number) => (backingOff ? this.retryAt : queuedAt + this.opts.flushIntervalMs);
    let at = this.rows.length > 0 ? fresh(this.rows[0]!.at) : Number.POSITIVE_INFINITY;
    for (const f of this.feedback) at = Math.min(at, f.attempts === 0 ? fresh(f.firstAt) : Math.max(f.notBefore, this.retryAt));
    return at === Number.POSITIVE_INFINITY ? undefined : at;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private enqueueDrain(round: Round): Promise<FlushResult> {
    if (!round.force) this.scheduled = true;
    const run = this.chain.then(() => this.drain(round));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** One round: batches until everything queued up to the target went out (or only full batches), or a send failed. */
  private async drain(round: Round): Promise<FlushResult> {
    if (!round.force) this.scheduled = false;
    const target = round.target();
    if (!round.force && this.opts.now() < this.retryAt) {
      this.wake();
      return this.result(target);
    }
    let error: PromptClientError | undefined;
    const more = () => this.rows.length > 0 && this.rows[0]!.seq <= target && (!round.fullOnly || this.rows.length >= this.opts.batchSize);
    while (!error && more()) error = await this.sendRows(target);
    if (!error && !round.fullOnly) error = await this.sendFeedback(target);
    if (error) this.failed(error);
    else {
      this.failures = 0;
      this.retryAt = 0;
    }
    this.reportDrops(false);
    this.wake();
    return this.result(target, error);
  }

  private result(target: number, error?: PromptClientError): FlushResult {
    const pendingOld = this.rows.some((r) => r.seq <= target) || this.feedback.some((f) => f.seq <= target && f.attempts === 0);
    return { ok: !pendingOld && !error, pending: this.rows.length, pendingFeedback: this.feedback.length, ...(error ? { error } : {}) };
  }

  private failed(error: PromptClientError): void {
    this.failures++;
    this.lastError = error;
    const wait = Math.max(backoffDelay(this.failures, this.opts.backoff), (error as { retryAfter?: number }).retryAfter ?? 0);
    this.retryAt = this.opts.now() + wait;
    this.clearTimer();
    this.opts.onError(error);
  }

  private takeBatch(target: number): QueuedRow[] {
    const batch: QueuedRow[] = [];
    let bytes = 16;
    while (batch.length < this.opts.batchSize && this.rows.length > batch.length && this.rows[batch.length]!.seq <= target) {
      const next = this.rows[batch.length]!;
      const size = utf8Length(JSON.stringify(next.row)) + 1;
      if (batch.length > 0 && bytes + size > MAX_BATCH_BYTES) break;
      bytes += size;
      batch.push(next);
    }
    this.rows.splice(0, batch.length);
    for (const r of batch) {
      r.sent = true;
      this.unsent.delete(r.row.externalId);
    }
    return batch;
  }

  /** One batch of conversations; an error means the batch went back to the front of the queue. */
  private async sendRows(target: number): Promise<PromptClientError | undefined> {
    const batch = this.takeBatch(target);
    this.inFlight = batch.length;
    let reply: HttpReply;
    try {
      reply = await this.opts.transport.request('POST', '/v1/conversations/batch', { body: { rows: batch.map((b) => b.row) } });
    } catch (err) {
      this.requeueRows(batch);
      return err as PromptClientError;
    } finally {
      this.inFlight = 0;
    }
    const results = (reply.body as { results?: BatchRowResult[] } | undefined)?.results;
    if (reply.status === 200 && Array.isArray(results) && results.length === batch.length) {
      this.countRows(results);
      return undefined;
    }
    if (reply.status === 200 || isRetryableStatus(reply.status)) {
      this.requeueRows(batch);
      return this.retryableError('POST', '/v1/conversations/batch', reply);
    }
    this.drop('rows', batch.length, `the worker refused the batch: ${httpError('POST', '/v1/conversations/batch', reply).message}`);
    return undefined;
  }

  /** Back to the front of the queue, unless close() already gave up on the queue: then they count as dropped. */
  private requeueRows(batch: QueuedRow[]): void {
    if (this.gaveUp) this.drop('rows', batch.length, 'the client closed while they were being sent, and sending failed');
    else this.rows.unshift(...batch);
  }

  private requeueFeedback(batch: QueuedFeedback[]): void {
    if (this.gaveUp) this.drop('feedback', batch.length, 'the client closed while they were being sent, and sending failed');
    else this.feedback.unshift(...batch);
  }

  private countRows(results: BatchRowResult[]): void {
    const refused: string[] = [];
    for (const r of results) {
      if (r.status === 'created' || r.status === 'duplicate') {
        this.counters.delivered++;
        if (r.status === 'duplicate') this.counters.duplicates++;
      } else {
        this.counters.rejected++;
        if (refused.length < DETAILS) refused.push(`${r.externalId ?? `row ${r.index}`}: ${r.error ?? 'refused'}`);
      }
    }
    if (refused.length > 0) {
      const n = results.filter((r) => r.status === 'error').length;
      this.opts.onError(new PromptClientError('rejected', `the worker refused ${n} conversation(s)`, { details: refused }));
    }
  }

  private dueFeedback(target: number): QueuedFeedback[] {
    const now = this.opts.now();
    const due: QueuedFeedback[] = [];
    const rest: QueuedFeedback[] = [];
    for (const f of this.feedback) {
      if (due.length < this.opts.batchSize && f.notBefore <= now && f.seq <= target) due.push(f);
      else rest.push(f);
    }
    this.feedback = rest;
    return due;
  }

  private async sendFeedback(target: number): Promise<PromptClientError | undefined> {
    for (let batch = this.dueFeedback(target); batch.length > 0; batch = this.dueFeedback(target)) {
      let reply: HttpReply;
      try {
        reply = await this.opts.transport.request('POST', '/v1/feedback', { body: { items: batch.map((f) => f.item) } });
      } catch (err) {
        this.requeueFeedback(batch);
        return err as PromptClientError;
      }
      const results = (reply.body as { results?: FeedbackItemResult[] } | undefined)?.results;
      if (reply.status === 200 && Array.isArray(results) && results.length === batch.length) {
        this.countFeedback(batch, results);
        continue;
      }
      if (reply.status === 200 || isRetryableStatus(reply.status)) {
        this.requeueFeedback(batch);
        return this.retryableError('POST', '/v1/feedback', reply);
      }
      this.drop('feedback', batch.length, `the worker refused the feedback: ${httpError('POST', '/v1/feedback', reply).message}`);
    }
    return undefined;
  }

  /** not_found may only mean "not delivered yet" (by another instance): retried until feedbackRetryMs. */
  private countFeedback(batch: QueuedFeedback[], results: FeedbackItemResult[]): void {
    const refused: string[] = [];
    const now = this.opts.now();
    results.forEach((r, i) => {
      const f = batch[i]!;
      if (r.status === 'updated' || r.status === 'unchanged') this.counters.feedbackDelivered++;
      else if (r.status === 'not_found' && now - f.firstAt < this.opts.feedbackRetryMs) {
        f.attempts++;
        f.notBefore = now + backoffDelay(f.attempts, this.opts.backoff);
        this.feedback.push(f);
      } else {
        this.counters.feedbackRejected++;
        if (refused.length < DETAILS) refused.push(`${f.item.externalId}: ${r.error ?? r.status}`);
      }
    });
    if (refused.length > 0)
      this.opts.onError(new PromptClientError('rejected', 'the worker did not apply some feedback', { details: refused }));
  }

  private retryableError(method: string, path: string, reply: HttpReply): PromptClientError {
    const err =
      reply.status === 200
        ? new PromptClientError('bad_response', `${method} ${path}: the answer does not list one result per item`)
        : httpError(method, path, reply);
    return Object.assign(err, { retryAfter: retryAfterMs(reply.headers.get('retry-after'), this.opts.now()) });
  }

  private drop(kind: 'rows' | 'feedback', n: number, why: string): void {
    if (kind === 'rows') this.counters.dropped += n;
    else this.counters.feedbackDropped += n;
    this.unreportedDrops = { n: this.unreportedDrops.n + n, why: `${kind}: ${why}` };
    this.reportDrops(false);
  }

  /** Drops are reported at most once a second (with the count since the last report), and at close. */
  private reportDrops(now: boolean): void {
    const { n, why } = this.unreportedDrops;
    if (n === 0 || (!now && this.opts.now() - this.lastDropReport < DROP_REPORT_EVERY_MS)) return;
    this.lastDropReport = this.opts.now();
    this.unreportedDrops = { n: 0, why: '' };
    this.opts.onError(new PromptClientError('dropped', `${n} item(s) dropped (${why})`));
  }
}
