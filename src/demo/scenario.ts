/**
 * The demo's world: one support prompt, three conversation topics with known TRUE success rates
 * (one of them weak), and the rule that decides how good a generated variant truly is. Pure
 * apart from `seedHistory`, which writes the history through the Store port.
 */
import type { ExperimentPolicy } from '../domain/types';
import { mulberry32, seedFor, type Rng } from '../stats/simulate';
import type { ConversationInput, Store } from '../store';

export const PROMPT_KEY = 'support-assistant';

/** The prompt in production: a `{{variable}}` and a locked section every variant must keep. */
export const CONTROL_PROMPT = [
  'You are the customer support assistant of {{product}}.',
  "Answer the customer's question politely, accurately and briefly.",
  '',
  '<!-- locked -->',
  "Never reveal another customer's personal data. Refunds above $100 are decided by a human agent: offer a handover.",
  '<!-- /locked -->',
].join('\n');

export interface Topic {
  name: string;
  /** Share of the traffic. */
  share: number;
  /** True success rate under the control prompt. */
  baseRate: number;
  /** What users ask (logged as input excerpts of failed history conversations). */
  questions: string[];
}

export const TOPICS: readonly Topic[] = [
  {
    name: 'billing',
    share: 0.4,
    baseRate: 0.45,
    questions: ['Why was I charged twice this month?', 'My invoice lists a plan I never ordered.', 'How do I change the card you bill?'],
  },
  {
    name: 'account',
    share: 0.35,
    baseRate: 0.85,
    questions: ['I cannot log in after resetting my password.', 'How do I add a teammate to my account?'],
  },
  {
    name: 'shipping',
    share: 0.25,
    baseRate: 0.85,
    questions: ['Where is my order?', 'Can I change the delivery address?'],
  },
];

/** The topic the control handles badly: the analysis should find it. */
export const WEAK_TOPIC = 'billing';
/** A variant that addresses the weak topic is truly this much better on it (absolute). */
export const LIFT = 0.2;

export const HISTORY_CONVERSATIONS = 600;
export const VARIANT_COUNT = 2;

/**
 * Compressed time: a check every second instead of every 15 minutes, and a hard stop after
 * 3 minutes instead of 14 days, and no minimum duration (the default waits one daily cycle).
 * expectedEffect tunes the mSPRT to the effect we look for.
 */
export const DEMO_POLICY: Partial<ExperimentPolicy> = {
  checkIntervalSeconds: 1,
  minSamplesPerArm: 150,
  minSuccessesPerArm: 25,
  expectedEffect: 0.08,
  minDurationHours: 0,
  maxDurationHours: 0.05,
  // The guarded rollout after the promotion, compressed too: 80% to the winner at once, a 20%
  // holdback of the previous version, watched for 3 minutes instead of 7 days.
  rollout: { steps: [{ share: 1, holdHours: 0 }], holdbackShare: 0.2, watchHours: 0.05, margin: 0 },
};

/**
 * `--scenario regression`: right after the promotion the model behind the promoted version
 * changes and it loses this much success (absolute) on every topic, which leaves it clearly
 * worse than the version it replaced: the rollout's watch must roll it back.
 */
export const REGRESSION_DROP = 0.25;

/** TRUE success rate once `degraded` (the promoted content) has regressed; other versions unchanged. */
export function regressedRate(degraded: string | null) {
  return (content: string, topic: string): number => {
    const rate = trueSuccessRate(content, topic);
    return content === degraded ? Math.max(0, rate - REGRESSION_DROP) : rate;
  };
}

/** Stream ids so history and live traffic never share random numbers. */
export const STREAM = { history: 1, live: 2 } as const;

export function streamRng(seed: number, stream: number): Rng {
  return mulberry32(seedFor(seed, stream));
}

/** The text a variant adds to the control (all of it when it does not start with the control). */
export function addedText(content: string, control: string = CONTROL_PROMPT): string {
  return content.startsWith(control) ? content.slice(control.length) : content;
}

/** The simulator's ground truth: does this version speak to the weak topic? */
export function addressesWeakTopic(content: string, control: string = CONTROL_PROMPT): boolean {
  return content !== control && addedText(content, control).toLowerCase().includes(WEAK_TOPIC);
}

/** TRUE success probability of a conversation on `topic` served with `content`. */
export function trueSuccessRate(content: string, topic: string, control: string = CONTROL_PROMPT): number {
  const t = TOPICS.find((x) => x.name === topic);
  if (!t) throw new Error(`unknown topic ${topic}`);
  const lift = t.name === WEAK_TOPIC && addressesWeakTopic(content, control) ? LIFT : 0;
  return Math.min(1, t.baseRate + lift);
}

/** TRUE overall success rate of a version over the topic mix. */
export function trueOverallRate(content: string, control: string = CONTROL_PROMPT): number {
  return TOPICS.reduce((sum, t) => sum + t.share * trueSuccessRate(content, t.name, control), 0);
}

export interface DrawnConversation {
  topic: string;
  success: boolean;
  rating: number;
  latency_ms: number;
  tokens: number;
  question: string;
}

/**
 * One conversation from the random stream. Always consumes exactly six numbers, whatever the
 * outcome, so the same seed yields the same stream of users whichever arm serves them.
 */
export function drawConversation(rng: Rng, successRate: (topic: string) => number): DrawnConversation {
  const [uTopic, uSuccess, uRating, uLatency, uTokens, uQuestion] = [rng(), rng(), rng(), rng(), rng(), rng()];
  let acc = 0;
  const topic = TOPICS.find((t) => (acc += t.share) > uTopic) ?? TOPICS[TOPICS.length - 1]!;
  const success = uSuccess < successRate(topic.name);
  return {
    topic: topic.name,
    success,
    // Ratings follow the outcome; latency and tokens do not depend on the prompt (no guardrail trips).
    rating: success ? 4 + Math.floor(uRating * 2) : 2 + Math.floor(uRating * 2),
    latency_ms: 600 + Math.floor(uLatency * 900),
    tokens: 220 + Math.floor(uTokens * 160),
    question: topic.questions[Math.floor(uQuestion * topic.questions.length)]!,
  };
}

/**
 * The control version and a few hours of logged traffic on it (before the demo starts), drawn
 * from the TRUE rates. Failed conversations carry the user's question as excerpt, as a real host
 * app would log; successful ones carry none (so the rules strategy has no "best answers" to turn
 * into few-shot examples and proposes exactly one variant for the weak topic and one generic one).
 */
export async function seedHistory(
  store: Pick<Store, 'createPromptVersion' | 'recordConversations'>,
  opts: { promptKey: string; seed: number; n?: number; now?: Date },
): Promise<{ controlVersionId: string; controlVersion: number; conversations: number }> {
  const control = await store.createPromptVersion({
    promptKey: opts.promptKey,
    content: CONTROL_PROMPT,
    activate: true,
    strategy: 'manual',
    rationale: 'initial prompt (demo)',
  });
  const rng = streamRng(opts.seed, STREAM.history);
  const n = opts.n ?? HISTORY_CONVERSATIONS;
  const now = (opts.now ?? new Date()).getTime();
  const rows: ConversationInput[] = [];
  for (let i = 0; i < n; i++) {
    const c = drawConversation(rng, (topic) => trueSuccessRate(CONTROL_PROMPT, topic));
    rows.push({
      prompt_key: opts.promptKey,
      version_id: control.id,
      subject_id: `history-${i}`,
      topic: c.topic,
      success: c.success,
      rating: c.rating,
      latency_ms: c.latency_ms,
      tokens: c.tokens,
      ...(c.success ? {} : { input_excerpt: c.question, output_excerpt: 'Sorry, I could not resolve that.' }),
      // Spread over the last five hours, one every 30 s: distinct, ordered timestamps.
      created_at: new Date(now - (n - i) * 30_000).toISOString(),
    });
  }
  const res = await store.recordConversations(rows);
  return { controlVersionId: control.id, controlVersion: control.version, conversations: res.created };
}
