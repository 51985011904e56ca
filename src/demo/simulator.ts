/**
 * Live traffic for the demo, through the real path: every simulated user is assigned a version
 * by `assign_prompt` (the experiment's deterministic bucketing) and the outcome is logged with
 * `record_conversations`, in small batches on a timer. The outcome is drawn from the TRUE
 * success rate of the version that served the user (the simulator reads the served content).
 */
import type { Rng } from '../stats/simulate';
import type { ConversationInput, Store } from '../store';
import { drawConversation, STREAM, streamRng, trueSuccessRate } from './scenario';

export interface SimulatorOptions {
  store: Pick<Store, 'assignPrompt' | 'recordConversations'>;
  promptKey: string;
  seed: number;
  /** Conversations per batch. */
  batchSize?: number;
  /** Pause between batches. */
  intervalMs?: number;
  /** TRUE success rate of `content` on `topic` (default: the scenario's). */
  successRate?: (content: string, topic: string) => number;
  /** A batch failed (the loop goes on). */
  onError?: (err: Error) => void;
}

export class TrafficSimulator {
  /** Conversations logged per served version id. */
  readonly perVersion = new Map<string, number>();
  total = 0;
  private readonly rng: Rng;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private running = false;
  private next = 0;

  constructor(private readonly opts: SimulatorOptions) {
    this.rng = streamRng(opts.seed, STREAM.live);
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops the timer and waits for the batch in flight, if any. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** One batch: assign each user, draw the outcome from the served version, log all at once. */
  async batch(): Promise<number> {
    const { store, promptKey } = this.opts;
    const rate = this.opts.successRate ?? trueSuccessRate;
    const rows: ConversationInput[] = [];
    for (let i = 0; i < (this.opts.batchSize ?? 60); i++) {
      const subject = `user-${this.next++}`;
      const served = await store.assignPrompt(promptKey, subject);
      const c = drawConversation(this.rng, (topic) => rate(served.content, topic));
      rows.push({
        prompt_key: promptKey, version_id: served.version_id, subject_id: subject, topic: c.topic, success: c.success,
        rating: c.rating, latency_ms: c.latency_ms, tokens: c.tokens,
      });
    }
    const res = await store.recordConversations(rows);
    for (const r of rows) this.perVersion.set(r.version_id, (this.perVersion.get(r.version_id) ?? 0) + 1);
    this.total += rows.length;
    return res.created;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.running) return;
      this.inFlight = this.batch().then(
        () => undefined,
        (err: unknown) => {
          if (this.running) this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
        },
      ).finally(() => {
        this.inFlight = undefined;
        if (this.running) this.schedule(this.opts.intervalMs ?? 250);
      });
    }, delayMs);
  }
}
