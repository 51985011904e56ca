import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutPlan } from '../../src/domain/types';
import type { RolloutDecision } from '../../src/stats/rollout';
import { formatEffect, formatP } from '../../src/stats/format';
import { planText, rolloutEventsTable, rolloutsTable, splitText, steeredLines } from '../../src/starter/rollout-format';
import type { RolloutRow } from '../../src/store';
import { startRolloutWatchWorkflow } from '../../src/temporal/start';
import { ADMIN_TOKEN, startTestService, type TestService } from '../helpers/service';
import { runStarter } from '../helpers/starter';
import { controlAndVariant, threeStepRamp } from '../helpers/store-fixture';
import { FAST_POLICY, driveTraffic, waitFor } from '../helpers/traffic';

/**
 * Guarded rollouts from the starter CLI (a real child process) against the real worker service:
 * a promotion with a three-step plan and its real watch, listed, shown with its evidence,
 * held, advanced (twice, moving one step), refused (400, 404, 409) and rolled back.
 */
describe('starter CLI: guarded rollouts', () => {
  let svc: TestService;
  const suffix = Date.now().toString(36);

  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => svc?.teardown());

  const cli = (args: string[]) => runStarter(args, { WORKER_URL: svc.baseUrl, ADMIN_API_TOKEN: ADMIN_TOKEN });

  const plan = threeStepRamp(50, 168);

  it('lists, shows with evidence, holds, advances once, refuses bad input and conflicts, rolls back', async () => {
    const key = `cli-rollout-${suffix}`;
    const { control, variant } = await controlAndVariant(svc.store, key, {
      control: 'You are the support assistant. Be helpful.',
      variant: 'You are the support assistant. Be helpful and brief.',
    });
    const exp = await svc.store.createExperiment({
      promptKey: key,
      variantVersionIds: [variant.id],
      policy: { ...FAST_POLICY, rollout: plan },
    });
    const promoted = await svc.store.promoteVariant({
      experimentId: exp.id,
      versionId: variant.id,
      kind: 'auto',
      actor: 'optimizer',
      reason: 'won',
      rollout: plan,
    });
    const id = promoted.rollout!.id;
    // Traffic split by the rollout (half each at step 1), the promoted version clearly no worse; then the real watch.
    await driveTraffic(svc.store, key, (v) => (v === control.id ? 0.6 : 0.85), { subjects: 500 });
    await startRolloutWatchWorkflow(svc.temporal.client, 'prompt-optimization-test', id);
    await waitFor(async () => (await svc.store.latestRolloutCheck(id)) ?? undefined, { what: 'a first watch check' });

    const [list, json, other] = await Promise.all([
      cli(['rollouts', '--prompt-key', key]),
      cli(['--json', 'rollouts', '--status', 'live', '--prompt-key', key]),
      cli(['rollouts', '--status', 'rolled_back', '--prompt-key', key]),
    ]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+PROMPT\s+PROMOTED\/HOLDBACK\s+PHASE\s+STEP\s+SPLIT H\/P\s+STARTED$/);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+${key}\\s+v2/v1\\s+ramping\\s+1/3\\s+50%/50%\\s+(\\S+ ago|just now)$`, 'm'));
    expect((JSON.parse(json.stdout) as { rollouts: RolloutRow[] }).rollouts.map((r) => r.id)).toEqual([id]);
    expect(other.stdout.trim()).toBe('no rollouts');

    const show = await cli(['rollout', id]);
    expect(show.code, show.stderr).toBe(0);
    const check = (await svc.store.latestRolloutCheck(id))!;
    const d = check.decision as unknown as RolloutDecision;
    expect(show.stdout).toContain(`rollout    ${id}`);
    expect(show.stdout).toContain(`prompt     ${key}  experiment ${exp.id}`);
    expect(show.stdout).toContain('versions   v2 promoted, v1 holdback');
    expect(show.stdout).toMatch(/^phase {6}ramping {2}status live$/m);
    expect(show.stdout).toMatch(/^step {7}1\/3 \(50% of the ramp, held at least 2d2h\) since /m);
    expect(show.stdout).toContain('split      holdback 50% (v1) / promoted 50% (v2)');
    expect(show.stdout).toContain('plan       50% for 2d2h -> 90% for 2d2h -> 100%; holdback 5% for a 7d watch, margin 0.0 points');
    expect(show.stdout).toMatch(/^watch {6}running, \d+ check\(s\), last: continue$/m);
    expect(show.stdout).toMatch(/^evidence {3}check #\d+ at \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ: continue$/m);
    // The watch checks every second; with no new traffic every check reads the same numbers.
    expect(show.stdout).toContain(
      `estimate ${formatEffect(d.estimate, 'success')} (promoted - holdback), 95% always-valid interval ${formatEffect(d.ci[0], 'success')} to ${formatEffect(d.ci[1], 'success')}, worse beyond the margin ${formatP(d.pWorse)}`,
    );
    expect(d.estimate).toBeGreaterThan(0);
    expect(show.stdout).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}started\s+auto\s+optimizer\s+1\s+won$/m);
    expect(show.stdout).toContain(`web ui     ${svc.config.temporal.uiUrl}/namespaces/${svc.namespace}/workflows/rollout-${id}`);

    const held = await cli(['rollout', 'hold', id, '--actor', 'alice', '--reason', 'incident review']);
    expect(held.code, held.stderr).toBe(0);
    expect(held.stdout.split('\n')[0]).toBe(`rollout ${id} held by alice: ${key} now held, step 1/3, split 50%/50%`);
    const afterHold = await svc.store.getRollout(id);
    expect(afterHold).toMatchObject({ held: true, phase: 'held', step: 0 });
    expect(afterHold.events.at(-1)).toMatchObject({ kind: 'held', mode: 'manual', actor: 'alice', reason: 'incident review' });

    // Advance reads step 1 and pins it; the same command again finds step 1 left and changes nothing.
    const advanced = await cli(['rollout', 'advance', id, '--actor', 'bob']);
    expect(advanced.code, advanced.stderr).toBe(0);
    expect(advanced.stdout.split('\n')[0]).toBe(`rollout ${id} advanced by bob: ${key} now held, step 2/3, split 10%/90%`);
    const again = await cli(['rollout', 'advance', id, '--actor', 'bob', '--from-step', '1']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.split('\n')[0]).toBe(
      `rollout ${id} had already left step 1: nothing changed (${key} now held, step 2/3, split 10%/90%)`,
    );
    const afterAdvance = await svc.store.getRollout(id);
    expect(afterAdvance.step).toBe(1);
    expect(afterAdvance.events.filter((e) => e.kind === 'advanced')).toHaveLength(1);

    // Refused: 400 names the field and writes nothing; 404 unknown; usage errors exit 2.
    const [bad, missing, usage] = await Promise.all([
      cli(['rollout', 'resume', id, '--actor', 'x'.repeat(201)]),
      cli(['rollout', '00000000-0000-4000-8000-000000000000']),
      cli(['rollout', 'hold', 'not-a-uuid', '--actor', 'alice']),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: actor: .+ \(HTTP 400\)$/m);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*not found.* \(HTTP 404\)$/m);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/must be a rollout id/);
    expect((await svc.store.getRollout(id)).events).toHaveLength(afterAdvance.events.length);

    const rolled = await cli(['rollout', 'rollback', id, '--actor', 'carol', '--reason', 'complaints from support']);
    expect(rolled.code, rolled.stderr).toBe(0);
    expect(rolled.stdout).toContain(`rollout ${id} rolled back by carol: ${key} now rolled_back, step 2/3, split 0%/100%`);
    expect(rolled.stdout).toContain('the holdback v1 is the active version again');
    expect((await svc.store.getActivePrompt(key)).id).toBe(control.id);
    const end = await svc.store.getRollout(id);
    expect(end).toMatchObject({ status: 'rolled_back', reason: 'complaints from support' });
    expect(end.events.map((e) => `${e.kind}:${e.mode}:${e.actor}`)).toEqual([
      'started:auto:optimizer',
      'held:manual:alice',
      'advanced:manual:bob',
      'rolled_back:manual:carol',
    ]);

    // A rolled-back rollout cannot be advanced: 409, exit 1.
    const late = await cli(['rollout', 'advance', id, '--actor', 'bob']);
    expect(late.code).toBe(1);
    expect(late.stderr.trim()).toBe(`error: rollout ${id} is rolled_back (HTTP 409)`);
    const shown = await cli(['rollout', id]);
    expect(shown.stdout).toMatch(/^phase {6}rolled_back {2}status rolled_back$/m);
    expect(shown.stdout).toContain('ended as   rolled_back: complaints from support');
  });
});

describe('rollout output', () => {
  const row = (over: Partial<RolloutRow>): RolloutRow =>
    ({
      id: '3f0c9a6e-0000-4000-8000-000000000000',
      prompt_key: 'support',
      experiment_id: 'e',
      promoted_version_id: 'p',
      holdback_version_id: 'h',
      plan: {
        steps: [
          { share: 0.5, holdHours: 2 },
          { share: 1, holdHours: 0 },
        ],
        holdbackShare: 0.05,
        watchHours: 168,
        margin: 0.01,
      },
      step: 0,
      holdback_weight: 0.5,
      status: 'live',
      held: false,
      reason: null,
      started_at: '2026-12-01T10:00:00Z',
      step_started_at: '2026-12-01T10:00:00Z',
      ended_at: null,
      promoted_version: 3,
      holdback_version: 2,
      steps: 2,
      phase: 'ramping',
      events: [],
      ...over,
    }) as RolloutRow;

  it('tabulates rollouts with their step (1-based) and holdback/promoted split', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    expect(rolloutsTable([row({}), row({ step: 1, holdback_weight: 0.05, phase: 'watching' })], now).split('\n')).toEqual([
      'ID                                    PROMPT   PROMOTED/HOLDBACK  PHASE     STEP  SPLIT H/P  STARTED',
      '3f0c9a6e-0000-4000-8000-000000000000  support  v3/v2              ramping   1/2   50%/50%    2h ago',
      '3f0c9a6e-0000-4000-8000-000000000000  support  v3/v2              watching  2/2   5%/95%     2h ago',
    ]);
    expect(rolloutsTable([], now)).toBe('no rollouts');
    // Floating point never shows through: 1 - 0.9 is 0.09999999999999998.
    expect(splitText({ holdback_weight: 1 - 0.9 })).toBe('10%/90%');
  });

  it('keeps one row per audit event, even for a reason over several lines', () => {
    const event = {
      id: 1,
      rollout_id: 'r',
      kind: 'held',
      mode: 'manual',
      actor: 'alice',
      reason: 'incident\nreview',
      step: 0,
      evidence: null,
      created_at: '2026-12-01T10:00:00Z',
    };
    expect(rolloutEventsTable([event]).split('\n')).toEqual([
      'TIME                  EVENT  MODE    ACTOR  STEP  REASON',
      '2026-12-01 10:00:00Z  held   manual  alice  1     incident review',
    ]);
  });

  it('says the plan in words, in the metric unit', () => {
    const p = row({}).plan as unknown as RolloutPlan;
    expect(planText(p, 'success')).toBe('50% for 2h -> 100%; holdback 5% for a 7d watch, margin 1.0 points');
    expect(planText({ ...p, margin: 0.1 }, 'rating')).toBe('50% for 2h -> 100%; holdback 5% for a 7d watch, margin 0.10 rating points');
  });

  it('says when a steering command found the rollout already so', () => {
    const r = row({ held: true, phase: 'held' });
    expect(steeredLines('hold', { rollout: r, changed: false, workflowUrl: 'http://ui/x' }).join('\n')).toBe(
      `rollout ${r.id} was already held: nothing changed (support now held, step 1/2, split 50%/50%)\nweb ui    http://ui/x`,
    );
  });
});
