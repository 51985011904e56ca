/**
 * Live traffic for the demo, through the host-app SDK (@prompt-optimization/client), as a real
 * host app integrates: each simulated user's prompt comes from getPrompt (assigned locally from
 * the SDK's snapshot, exactly as assign_prompt would) and the outcome is logged with
 * logConversation; each batch of users ends with a flush (the SDK's batched delivery to
 * POST /v1/conversations/batch). The outcome is drawn from the TRUE success rate of the version
 * that served the user (the simulator reads the served content).
 */
import type { PromptClient } from '@prompt-optimization/client';
import type { Rng } from '../stats/simulate';
import { drawConversation, STREAM, streamRng, trueSuccessRate } from './scenario';

/** The part of the SDK's client the simulator uses. */
export type PromptServing = Pick<PromptClient, 'getPrompt' | 'logConversation' | 'flush'>;

export interface SimulatorOptions {
  client: PromptServing;
  promptKey: string;
  seed: number;
  /** Conversations per batch. */
  batchSize?: number;
  /** Pause between batches. */
  intervalMs?: number;
  /** TRUE success rate of `content` on `topic` (default: the scenario's). */
  successRate?: (content: string, topic: string) => number;
  /** A batch was not delivered yet (the SDK keeps it queued and retries; the loop goes on). */
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

  /** One batch: serve each user locally, draw the outcome from the served version, log it; then deliver. */
  async batch(): Promise<number> {
    const { client, promptKey } = this.opts;
    const rate = this.opts.successRate ?? trueSuccessRate;
    const n = this.opts.batchSize ?? 60;
    for (let i = 0; i < n; i++) {
      const subjectId = `user-${this.next++}`;
      const served = client.getPrompt(promptKey, subjectId);
      if (!served.versionId) throw new Error(`no version to serve for ${promptKey} (${served.fallbackReason ?? 'fallback'})`);
      const c = drawConversation(this.rng, (topic) => rate(served.content, topic));
      client.logConversation({
        promptKey,
        versionId: served.versionId,
        subjectId,
        topic: c.topic,
        success: c.success,
        rating: c.rating,
        latencyMs: c.latency_ms,
        tokens: c.tokens,
      });
      this.perVersion.set(served.versionId, (this.perVersion.get(served.versionId) ?? 0) + 1);
      this.total++;
    }
    const delivered = await client.flush();
    if (!delivered.ok) throw delivered.error ?? new Error(`${delivered.pending} conversations not delivered yet`);
    return n;
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.running) return;
      this.inFlight = this.batch()
        .then(
          () => undefined,
          (err: unknown) => {
            if (this.running) this.opts.onError?.(err instanceof Error ? err : new Error(String(err)));
          },
        )
        .finally(() => {
          this.inFlight = undefined;
          if (this.running) this.schedule(this.opts.intervalMs ?? 250);
        });
    }, delayMs);
  }
}
