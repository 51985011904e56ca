import { Client as PgClient } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPromptClient, type PromptClient } from '@prompt-optimization/client';
import { mulberry32 } from '../../src/stats/simulate';
import { postgresUrl } from '../helpers/backends';
import { INGEST_TOKEN, startTestService, type TestService } from '../helpers/service';

/**
 * The SDK assigns exactly as the SQL function: 10,000 random subjects (ASCII, accents, CJK,
 * emoji, up to 200 characters) and several weight vectors, getPrompt (local, from the snapshot
 * the real service served over HTTP) against public.assign_prompt on the real PostgreSQL, all
 * subjects of one experiment in one SQL statement.
 */

const SUBJECTS = 10_000;
const ALPHABET = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:@ /'];
const WIDE = ['é', 'ß', 'ø', 'Ж', 'ע', '中', '文', '😀', '👍🏽', '\u00a0', '\u0301', 'ﬁ'];

function randomSubjects(n: number, seed: number): string[] {
  const r = mulberry32(seed);
  const out = new Set<string>();
  while (out.size < n) {
    const len = 1 + Math.floor(r() ** 3 * 200);
    let s = '';
    while ([...s].length < len) s += r() < 0.85 ? ALPHABET[Math.floor(r() * ALPHABET.length)] : WIDE[Math.floor(r() * WIDE.length)];
    // The SQL side counts characters (length <= 200); emoji are one character there and two UTF-16 units here.
    if (s.length <= 200) out.add(s);
  }
  return [...out];
}

describe.runIf(postgresUrl)('SDK assignment = SQL assign_prompt on PostgreSQL', () => {
  let svc: TestService;
  let pg: PgClient;
  let client: PromptClient;
  const subjects = randomSubjects(SUBJECTS, 20261201);
  const experiments: Array<{ key: string; weights?: number[]; variants: number }> = [
    { key: 'asg-half', weights: [0.5, 0.5], variants: 1 },
    { key: 'asg-skewed', weights: [0.1, 0.9], variants: 1 },
    { key: 'asg-default-3', variants: 2 },
    { key: 'asg-four', weights: [0.05, 0.15, 0.3, 0.5], variants: 3 },
    { key: 'asg-sixteen', variants: 15 },
    { key: 'asg-tiny', weights: [0.00001, 0.99999], variants: 1 },
  ];
  const ids = new Map<string, string>();

  beforeAll(async () => {
    svc = await startTestService();
    pg = new PgClient({ connectionString: svc.databaseUrl });
    await pg.connect();
    for (const e of experiments) {
      const control = await svc.store.createPromptVersion({ promptKey: e.key, content: `control of ${e.key}`, activate: true });
      const variantIds = [];
      for (let i = 1; i <= e.variants; i++)
        variantIds.push(
          (await svc.store.createPromptVersion({ promptKey: e.key, content: `variant ${i} of ${e.key}`, parentVersionId: control.id })).id,
        );
      ids.set(e.key, (await svc.store.createExperiment({ promptKey: e.key, variantVersionIds: variantIds, weights: e.weights })).id);
    }
    client = createPromptClient({ baseUrl: svc.baseUrl, ingestToken: INGEST_TOKEN, refreshIntervalMs: 60_000, onError: () => undefined });
    await client.ready({ timeoutMs: 10_000 });
  });
  afterAll(async () => {
    await client?.close();
    await pg?.end();
    await svc?.teardown();
  });

  async function sqlAssignments(key: string): Promise<Array<{ version_id: string; arm: number | null; experiment_id: string | null }>> {
    const { rows } = await pg.query<{ a: { version_id: string; arm: number | null; experiment_id: string | null } }>(
      'select public.assign_prompt($1, s.subject) as a from unnest($2::text[]) with ordinality as s(subject, ord) order by s.ord',
      [key, subjects],
    );
    return rows.map((r) => r.a);
  }

  it.each(experiments.map((e) => [e.key, e] as const))('%s: every one of 10,000 subjects gets the same version and arm', async (key, e) => {
    const sql = await sqlAssignments(key);
    expect(sql).toHaveLength(SUBJECTS);
    const mismatches: string[] = [];
    const perArm = new Map<number, number>();
    subjects.forEach((s, i) => {
      const local = client.getPrompt(key, s);
      const want = sql[i]!;
      if (local.versionId !== want.version_id || local.arm !== want.arm || local.experimentId !== want.experiment_id) {
        mismatches.push(`${JSON.stringify(s)}: sdk ${local.arm}/${local.versionId}, sql ${want.arm}/${want.version_id}`);
      }
      perArm.set(local.arm!, (perArm.get(local.arm!) ?? 0) + 1);
      expect(local.source).toBe('live');
    });
    expect(mismatches.slice(0, 5)).toEqual([]);
    expect(new Set(sql.map((a) => a.experiment_id))).toEqual(new Set([ids.get(key)]));
    // Not a statistics test, only a check that the split is not degenerate.
    const weights = e.weights ?? Array.from({ length: e.variants + 1 }, () => 1 / (e.variants + 1));
    weights.forEach((w, arm) => expect(Math.abs((perArm.get(arm) ?? 0) / SUBJECTS - w), `arm ${arm}`).toBeLessThan(0.02));
    console.info(
      `${key}: ${SUBJECTS} subjects, ${mismatches.length} mismatches, split ${JSON.stringify(Object.fromEntries([...perArm].sort()))}`,
    );
  });

  it('a paused experiment: both serve everyone the active version, outside the experiment', async () => {
    await svc.store.setExperimentStatus(ids.get('asg-half')!, 'paused');
    expect(await client.refresh()).toBe(true);
    const sql = await sqlAssignments('asg-half');
    const control = sql[0]!.version_id;
    subjects.forEach((s, i) => {
      const local = client.getPrompt('asg-half', s);
      expect({ v: local.versionId, arm: local.arm, e: local.experimentId }).toEqual({ v: sql[i]!.version_id, arm: null, e: null });
      expect(local.versionId).toBe(control);
    });
  });

  it('a guarded rollout after a promotion: the SDK serves the same holdback and promoted versions as SQL', async () => {
    const key = 'asg-rollout';
    const control = await svc.store.createPromptVersion({ promptKey: key, content: `control of ${key}`, activate: true });
    const variant = await svc.store.createPromptVersion({ promptKey: key, content: `variant of ${key}`, parentVersionId: control.id });
    const exp = await svc.store.createExperiment({ promptKey: key, variantVersionIds: [variant.id] });
    const plan = {
      steps: [
        { share: 0.8, holdHours: 1 },
        { share: 1, holdHours: 0 },
      ],
      holdbackShare: 0.05,
      watchHours: 24,
      margin: 0,
    };
    const ev = await svc.store.promoteVariant({
      experimentId: exp.id,
      versionId: variant.id,
      kind: 'auto',
      actor: 't',
      reason: 'r',
      rollout: plan,
    });
    for (const holdback of [0.2, 0.05]) {
      expect(await client.refresh()).toBe(true);
      const { rows } = await pg.query<{ a: { version_id: string; rollout_id: string; rollout_arm: number } }>(
        'select public.assign_prompt($1, s.subject) as a from unnest($2::text[]) with ordinality as s(subject, ord) order by s.ord',
        [key, subjects],
      );
      let held = 0;
      subjects.forEach((s, i) => {
        const local = client.getPrompt(key, s);
        const want = rows[i]!.a;
        expect({ v: local.versionId, arm: local.arm, id: local.experimentId }).toEqual({
          v: want.version_id,
          arm: want.rollout_arm,
          id: ev.rollout!.id,
        });
        if (want.version_id === control.id) held++;
      });
      expect(Math.abs(held / SUBJECTS - holdback)).toBeLessThan(0.02);
      await svc.store.advanceRollout({ rolloutId: ev.rollout!.id, fromStep: 0, mode: 'manual', actor: 't', reason: 'next' });
    }
  });
});
