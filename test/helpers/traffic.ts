import { mulberry32 } from '../../src/stats/simulate';
import type { Store } from '../../src/store';
import type { ConversationInput } from '../../src/store';

/** Experiment policy for tests: a check every second, decisions on a few hundred conversations. */
export const FAST_POLICY = {
  checkIntervalSeconds: 1,
  minSamplesPerArm: 100,
  minSuccessesPerArm: 25,
  expectedEffect: 0.1,
  // Compressed time: no daily cycle to wait for in a test that lasts seconds.
  minDurationHours: 0,
  maxDurationHours: 1,
};

/** Deterministic PRNG so simulated traffic is the same on every run. */
export const rng = mulberry32;

/**
 * Seeds an active prompt and a day of traffic in which one topic ("billing") fails far more
 * often than the rest: the analysis finds an actionable low-success segment.
 */
export async function seedPromptWithWeakSegment(store: Store, promptKey: string, n = 400, seed = 7): Promise<string> {
  const v = await store.createPromptVersion({
    promptKey,
    content: 'You are the support assistant of {{product}}. Be helpful.',
    activate: true,
  });
  const random = rng(seed);
  const rows: ConversationInput[] = [];
  for (let i = 0; i < n; i++) {
    const billing = i % 4 === 0;
    rows.push({
      prompt_key: promptKey,
      version_id: v.id,
      subject_id: `seed-${i}`,
      topic: billing ? 'billing' : 'general',
      success: random() < (billing ? 0.35 : 0.85),
      rating: billing ? 2 : 4,
      tokens: 300,
      latency_ms: 800,
      input_excerpt: billing ? 'Why was I charged twice?' : 'How do I reset my password?',
      output_excerpt: 'Here is what you can do...',
      created_at: new Date(Date.now() - (i % 120) * 60_000).toISOString(),
    });
  }
  await store.recordConversations(rows);
  return v.id;
}

/**
 * Live traffic for a running experiment: each subject is assigned through assign_prompt (so the
 * split matches the weights) and succeeds with the probability of the version it was served.
 */
export async function driveTraffic(
  store: Store,
  promptKey: string,
  successRate: (versionId: string) => number,
  opts: { subjects: number; offset?: number; seed?: number },
): Promise<number> {
  const random = rng(opts.seed ?? 11);
  const rows: ConversationInput[] = [];
  for (let i = 0; i < opts.subjects; i++) {
    const subject = `user-${(opts.offset ?? 0) + i}`;
    const a = await store.assignPrompt(promptKey, subject);
    rows.push({
      prompt_key: promptKey,
      version_id: a.version_id,
      subject_id: subject,
      topic: i % 4 === 0 ? 'billing' : 'general',
      success: random() < successRate(a.version_id),
      rating: 4,
      tokens: 300,
      latency_ms: 700,
    });
  }
  const res = await store.recordConversations(rows);
  return res.created;
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
  throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${(last as Error).message}` : ''}`);
}
