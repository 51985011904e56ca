import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromptClientError, type ConversationLog, type FlushResult, type ServedPrompt } from '@prompt-optimization/client';
import type { Insight } from '../../src/domain/types';
import {
  addressesWeakTopic,
  CONTROL_PROMPT,
  drawConversation,
  LIFT,
  seedHistory,
  streamRng,
  TOPICS,
  trueOverallRate,
  trueSuccessRate,
  WEAK_TOPIC,
} from '../../src/demo/scenario';
import { TrafficSimulator } from '../../src/demo/simulator';
import { openMigratedStore, type Store } from '../../src/store';
import { extractLockedBlocks, extractVariables, generateVariants, rulesStrategy } from '../../src/variants';

const BILLING_VARIANT = `${CONTROL_PROMPT}\n\n## Questions about "billing"\nWhen the user asks about "billing": be concrete.`;
const GENERIC_VARIANT = `${CONTROL_PROMPT}\n\n## Before you reply\nCheck your answer.`;

describe('demo scenario: the ground truth', () => {
  it('has a variable, a locked section and topic shares that add up', () => {
    expect(extractVariables(CONTROL_PROMPT)).toContain('product');
    expect(extractLockedBlocks(CONTROL_PROMPT)).toHaveLength(1);
    expect(TOPICS.reduce((s, t) => s + t.share, 0)).toBeCloseTo(1, 10);
    expect(TOPICS.filter((t) => t.name === WEAK_TOPIC)).toHaveLength(1);
  });

  it('makes only a variant that speaks to the weak topic better, and only on that topic', () => {
    expect(addressesWeakTopic(CONTROL_PROMPT)).toBe(false);
    expect(addressesWeakTopic(BILLING_VARIANT)).toBe(true);
    expect(addressesWeakTopic(GENERIC_VARIANT)).toBe(false);
    expect(trueSuccessRate(CONTROL_PROMPT, 'billing')).toBe(0.45);
    expect(trueSuccessRate(BILLING_VARIANT, 'billing')).toBeCloseTo(0.45 + LIFT, 10);
    expect(trueSuccessRate(BILLING_VARIANT, 'account')).toBe(0.85);
    expect(trueSuccessRate(GENERIC_VARIANT, 'billing')).toBe(0.45);
    expect(trueOverallRate(CONTROL_PROMPT)).toBeCloseTo(0.69, 10);
    expect(trueOverallRate(BILLING_VARIANT)).toBeCloseTo(0.77, 10);
    expect(() => trueSuccessRate(CONTROL_PROMPT, 'nope')).toThrow(/unknown topic/);
  });

  it('draws the same users from the same seed, six numbers each whatever the outcome', () => {
    const a = streamRng(42, 2);
    const b = streamRng(42, 2);
    const rowsA = Array.from({ length: 50 }, () => drawConversation(a, () => 0.5));
    const rowsB = Array.from({ length: 50 }, () => drawConversation(b, () => 0.5));
    expect(rowsA).toEqual(rowsB);
    // A different success rate changes outcomes, never the topic stream.
    const c = streamRng(42, 2);
    const rowsC = Array.from({ length: 50 }, () => drawConversation(c, () => 0.9));
    expect(rowsC.map((r) => r.topic)).toEqual(rowsA.map((r) => r.topic));
    expect(streamRng(43, 2)()).not.toBe(streamRng(42, 2)());
  });

  it('draws topics and outcomes at their true rates', () => {
    const rng = streamRng(7, 2);
    const n = 20_000;
    const rows = Array.from({ length: n }, () => drawConversation(rng, (t) => trueSuccessRate(CONTROL_PROMPT, t)));
    for (const t of TOPICS) {
      const of = rows.filter((r) => r.topic === t.name);
      expect(of.length / n).toBeCloseTo(t.share, 1);
      expect(of.filter((r) => r.success).length / of.length).toBeCloseTo(t.baseRate, 1);
    }
    expect(rows.every((r) => r.latency_ms >= 600 && r.latency_ms < 1500 && r.tokens >= 220 && r.tokens < 380)).toBe(true);
  });
});

describe('demo scenario on the real store and rules strategy', () => {
  let store: Store;
  beforeAll(async () => {
    store = (await openMigratedStore({ kind: 'pglite', dataDir: ':memory:' })).store;
  });
  afterAll(async () => store?.close());

  it('seeds a history in which the analysis finds exactly the weak topic, and rules propose one targeted and one generic variant', async () => {
    const seeded = await seedHistory(store, { promptKey: 'demo-a', seed: 42 });
    expect(seeded).toMatchObject({ controlVersion: 1, conversations: 600 });
    const analysis = await store.analyzePrompt('demo-a');
    expect(analysis.actionable).toBe(1);
    expect(analysis.insights).toHaveLength(1);
    expect(analysis.insights[0]).toMatchObject({ kind: 'low_success_segment', segment: WEAK_TOPIC, severity: 'high' });

    const insights: Insight[] = analysis.insights.map((i) => ({
      id: i.id,
      promptKey: i.prompt_key,
      versionId: i.version_id,
      kind: i.kind,
      segment: i.segment,
      evidence: i.evidence as Record<string, unknown>,
      severity: i.severity,
      isActionable: i.is_actionable,
    }));
    const [best, failures] = await Promise.all([
      store.sampleConversations(seeded.controlVersionId, 'best', 5),
      store.sampleConversations(seeded.controlVersionId, 'failures', 5),
    ]);
    const generated = await generateVariants(
      rulesStrategy,
      {
        promptKey: 'demo-a',
        control: { versionId: seeded.controlVersionId, content: CONTROL_PROMPT },
        insights,
        best,
        failures,
        count: 2,
      },
      [],
    );
    expect(generated.rejected).toEqual([]);
    expect(generated.accepted.map((v) => addressesWeakTopic(v.content))).toEqual([true, false]);
    expect(generated.accepted[0]!.rationale).toMatch(/low_success_segment \[billing\]/);
  });

  it('seeds the same history from the same seed', async () => {
    await seedHistory(store, { promptKey: 'demo-b', seed: 42 });
    await seedHistory(store, { promptKey: 'demo-c', seed: 42 });
    const b = await store.analyzePrompt('demo-b');
    const c = await store.analyzePrompt('demo-c');
    expect(b.overall).toEqual(c.overall);
    expect(b.insights[0]!.evidence).toEqual(c.insights[0]!.evidence);
  });
});

describe('demo traffic simulator', () => {
  /** The SDK client stand-in: three arms by subject number, content per arm; each flush is one delivered batch. */
  function fakeClient() {
    const recorded: ConversationLog[][] = [];
    let queued: ConversationLog[] = [];
    const contents = [CONTROL_PROMPT, BILLING_VARIANT, GENERIC_VARIANT];
    return {
      recorded,
      client: {
        getPrompt(promptKey: string, subjectId: string): ServedPrompt {
          const arm = Number(subjectId.split('-')[1]) % 3;
          return { promptKey, versionId: `v${arm}`, version: arm + 1, content: contents[arm]!, experimentId: 'e', arm, source: 'live' };
        },
        logConversation(row: ConversationLog): string {
          queued.push(row);
          return `ext-${recorded.length}-${queued.length}`;
        },
        async flush(): Promise<FlushResult> {
          recorded.push(queued);
          queued = [];
          return { ok: true, pending: 0, pendingFeedback: 0 };
        },
      },
    };
  }

  it('logs what getPrompt served, with outcomes drawn from that version, reproducibly', async () => {
    const one = fakeClient();
    const two = fakeClient();
    const a = new TrafficSimulator({ client: one.client, promptKey: 'k', seed: 42, batchSize: 300 });
    const b = new TrafficSimulator({ client: two.client, promptKey: 'k', seed: 42, batchSize: 300 });
    for (let i = 0; i < 10; i++) {
      await a.batch();
      await b.batch();
    }
    expect(one.recorded).toEqual(two.recorded);
    expect(a.total).toBe(3_000);
    expect([...a.perVersion.values()].reduce((s, n) => s + n, 0)).toBe(3_000);
    const rows = one.recorded.flat();
    expect(new Set(rows.map((r) => r.subjectId)).size).toBe(3_000);
    const billingRate = (v: string) => {
      const of = rows.filter((r) => r.versionId === v && r.topic === 'billing');
      return of.filter((r) => r.success).length / of.length;
    };
    expect(billingRate('v1') - billingRate('v0')).toBeGreaterThan(0.1);
    expect(Math.abs(billingRate('v2') - billingRate('v0'))).toBeLessThan(0.1);
  });

  it('sends batches on a timer until stopped, and reports failures without stopping', async () => {
    const f = fakeClient();
    const errors: string[] = [];
    let fail = true;
    const sim = new TrafficSimulator({
      client: {
        getPrompt: f.client.getPrompt,
        logConversation: f.client.logConversation,
        flush: async () => {
          if (fail) {
            fail = false;
            return { ok: false, pending: 5, pendingFeedback: 0, error: new PromptClientError('network', 'worker busy') };
          }
          return f.client.flush();
        },
      },
      promptKey: 'k',
      seed: 1,
      batchSize: 5,
      intervalMs: 10,
      onError: (e) => errors.push(e.message),
    });
    sim.start();
    expect(sim.isRunning).toBe(true);
    await new Promise((r) => setTimeout(r, 120));
    await sim.stop();
    const sent = f.recorded.length;
    expect(errors).toEqual(['worker busy']);
    expect(sent).toBeGreaterThan(2);
    await new Promise((r) => setTimeout(r, 50));
    expect(f.recorded.length).toBe(sent);
    expect(sim.isRunning).toBe(false);
  });

  it('refuses to log a fallback (it has no version): the batch fails, nothing is logged', async () => {
    const f = fakeClient();
    const sim = new TrafficSimulator({
      client: {
        ...f.client,
        getPrompt: (promptKey: string) => ({
          promptKey,
          content: '',
          versionId: null,
          version: null,
          experimentId: null,
          arm: null,
          source: 'fallback',
          fallbackReason: 'not_ready',
        }),
      },
      promptKey: 'k',
      seed: 1,
      batchSize: 3,
    });
    await expect(sim.batch()).rejects.toThrow(/no version to serve for k \(not_ready\)/);
    expect(f.recorded).toEqual([]);
  });
});
