import type { Client } from '@temporalio/client';
import { rolloutWorkflowId } from '../../../src/domain/ids';
import type { RolloutPlan } from '../../../src/domain/types';
import type { RolloutRow, Store } from '../../../src/store';
import { startRolloutWatchWorkflow } from '../../../src/temporal/start';
import { driveTraffic, FAST_POLICY } from '../../helpers/traffic';
import { sql } from './database';
import { RepeatingTask } from './proc';

/**
 * Guarded rollouts for the fault scenarios (issue 15): prompt keys promoted straight into a
 * two-step rollout with a holdback, a watch workflow per rollout started as the monitor starts
 * it, and a traffic pump playing the host app (assign_prompt, then outcomes by served version).
 * Some keys stay good and must complete; on the others the promoted version turns bad (from the
 * first step, or only once the ramp reached its last step) and must be rolled back, once.
 */

/**
 * Compressed time: 50% for 10 s, then 80% with a 20% holdback until `watchSeconds` after the
 * promotion. The watch counts from the promotion, so it must outlast the ramp with room to spare
 * for a regression that begins at the last step: kills delay every check by a heartbeat timeout.
 */
export function reliabilityRollout(watchSeconds: number): RolloutPlan {
  return {
    steps: [
      { share: 0.5, holdHours: 10 / 3600 },
      { share: 1, holdHours: 0 },
    ],
    holdbackShare: 0.2,
    watchHours: watchSeconds / 3600,
    margin: 0,
  };
}

const TASK_QUEUE = 'prompt-optimization';
const HOLDBACK_RATE = 0.6;
const GOOD_RATE = 0.8;
const REGRESSED_RATE = 0.15;
/** Subjects whose assignment the probes read (a fixed set, so a subject's version can be followed between steps). */
const PROBE_SUBJECTS = 2_000;
/** 2,000 hashed subjects: 4.5 standard errors of a 50% share; the bucketing is a hash, not a coin. */
const SPLIT_TOLERANCE = 0.05;

export type RolloutKind = 'clean' | 'regress-ramp' | 'regress-watch';

export interface RolloutCase {
  key: string;
  kind: RolloutKind;
  controlId: string;
  variantId: string;
  rolloutId: string;
  /** Conversations the pump logged (created rows). */
  fed: number;
  batches: number;
  /** When the promoted version turned bad (the pump's first regressed batch). */
  regressedAt?: number;
  endedAt?: number;
  status: string;
  /** Probe subjects served the promoted version at the last probe (a subject must never move back while live). */
  onPromoted?: Set<string>;
}

/** What the probes found while the rollouts were live (the holdback kept, one active version, stable buckets). */
export interface ProbeFindings {
  probes: number;
  /** Split off its holdback weight, two active versions, subjects moved back to the old version. */
  failures: string[];
  /** Largest gap seen between the holdback share served and the plan's holdback weight. */
  maxSplitGap: number;
  /** Steps (0-based) at which some live rollout was probed. */
  stepsProbed: Set<number>;
}

export class RolloutSet {
  readonly cases: RolloutCase[] = [];
  readonly probeFindings: ProbeFindings = { probes: 0, failures: [], maxSplitGap: 0, stepsProbed: new Set() };
  /** The traffic: `pump.start(ms)`, `pump.stop()`, `pump.errors` (rounds that failed: the database away, a worker restarting). */
  readonly pump = new RepeatingTask(() => this.pumpOnce());

  constructor(
    readonly store: Store,
    readonly dbUrl: string,
    readonly plan: RolloutPlan,
    readonly opts: { batch: number } = { batch: 60 },
  ) {}

  /** A key with a control and a variant, the variant promoted into the reliability plan. */
  async add(key: string, kind: RolloutKind): Promise<RolloutCase> {
    const control = await this.store.createPromptVersion({
      promptKey: key,
      content: `You are the assistant of ${key}. Be helpful.`,
      activate: true,
    });
    const variant = await this.store.createPromptVersion({
      promptKey: key,
      content: `You are the assistant of ${key}. Be helpful and precise.`,
      parentVersionId: control.id,
    });
    const policy = { ...FAST_POLICY, rollout: this.plan };
    const exp = await this.store.createExperiment({ promptKey: key, variantVersionIds: [variant.id], policy });
    const ev = await this.store.promoteVariant({
      experimentId: exp.id,
      versionId: variant.id,
      kind: 'auto',
      actor: 'optimizer',
      reason: 'reliability: promoted into a guarded rollout',
      rollout: this.plan,
    });
    if (!ev.rollout) throw new Error(`${key}: promote_variant started no rollout`);
    const c: RolloutCase = {
      key,
      kind,
      controlId: control.id,
      variantId: variant.id,
      rolloutId: ev.rollout.id,
      fed: 0,
      batches: 0,
      status: 'live',
    };
    this.cases.push(c);
    return c;
  }

  /** Starts every watch, as the monitor does after its promotion (idempotent: a running watch is left alone). */
  async startWatches(client: Client): Promise<void> {
    for (const c of this.cases) await startRolloutWatchWorkflow(client, TASK_QUEUE, c.rolloutId);
  }

  get live(): RolloutCase[] {
    return this.cases.filter((c) => c.status === 'live');
  }

  get allEnded(): boolean {
    return this.cases.length > 0 && this.live.length === 0;
  }

  /** Reads every live rollout's row (the pump stops feeding an ended one). */
  async refresh(): Promise<void> {
    for (const c of this.live) await this.read(c);
  }

  /** The rollout's row; marks the case ended when the rollout is. */
  private async read(c: RolloutCase): Promise<RolloutRow> {
    const r = await this.store.getRollout(c.rolloutId);
    if (r.status !== 'live') {
      c.status = r.status;
      c.endedAt = Date.now();
    }
    return r;
  }

  private regressed(c: RolloutCase, step: number): boolean {
    return c.kind === 'regress-ramp' || (c.kind === 'regress-watch' && step >= this.plan.steps.length - 1);
  }

  /** One round of traffic for every live rollout (reads its status first: an ended rollout gets no more). */
  async pumpOnce(): Promise<void> {
    for (const c of this.live) {
      const r = await this.read(c);
      if (r.status !== 'live') continue;
      const bad = this.regressed(c, r.step);
      if (bad) c.regressedAt ??= Date.now();
      const promotedRate = bad ? REGRESSED_RATE : GOOD_RATE;
      const created = await driveTraffic(this.store, c.key, (v) => (v === c.variantId ? promotedRate : HOLDBACK_RATE), {
        subjects: this.opts.batch,
        offset: c.batches * this.opts.batch,
        seed: c.batches * 7919 + c.key.length,
      });
      c.batches++;
      c.fed += created;
    }
  }

  /**
   * Reads, in SQL, what every live rollout serves to a fixed set of subjects: the holdback's
   * share (and the row's weight) must match the weight the plan gives the step, the key must have one active version, and a
   * subject once served the promoted version must not be moved back while the rollout lasts.
   * Throws when the database is unreachable (the caller probes again later).
   */
  async probe(label: string): Promise<void> {
    const f = this.probeFindings;
    for (const c of this.live) {
      // One statement, so the rollout's row and every assignment come from one snapshot (a STABLE
      // function sees its caller's): a rollback committing meanwhile cannot tear the probe.
      const served = await sql<{
        status: string;
        holdback_weight: number;
        step: number;
        active: string;
        subject: string;
        version_id: string;
      }>(
        this.dbUrl,
        `select r.status, r.holdback_weight, r.step, a.active, 'probe-' || g as subject,
                public.assign_prompt(r.prompt_key, 'probe-' || g) ->> 'version_id' as version_id
           from public.ai_rollouts r
          cross join lateral (select count(*) as active from public.ai_prompt_versions v
                               where v.prompt_key = r.prompt_key and v.status = 'active') a
          cross join generate_series(1, ${PROBE_SUBJECTS}) g
          where r.id = $1`,
        [c.rolloutId],
      );
      const r = served[0];
      if (!r) throw new Error(`${c.key}: rollout row ${c.rolloutId} missing`);
      if (Number(r.active) !== 1) f.failures.push(`${label}: ${c.key} has ${r.active} active versions`);
      if (r.status !== 'live') continue;
      // The weight the plan gives this step (the row's own weight could be wrong too).
      const planned = Math.max(1 - this.plan.steps[r.step]!.share, this.plan.holdbackShare);
      if (Math.abs(Number(r.holdback_weight) - planned) > 1e-9)
        f.failures.push(`${label}: ${c.key} at step ${r.step + 1} has holdback weight ${r.holdback_weight}, the plan says ${planned}`);
      f.stepsProbed.add(r.step);
      const onPromoted = new Set(served.filter((s) => s.version_id === c.variantId).map((s) => s.subject));
      const onHoldback = served.filter((s) => s.version_id === c.controlId).length;
      if (onPromoted.size + onHoldback !== served.length)
        f.failures.push(`${label}: ${c.key} served ${served.length - onPromoted.size - onHoldback} probe subjects a third version`);
      const gap = Math.abs(onHoldback / served.length - planned);
      f.maxSplitGap = Math.max(f.maxSplitGap, gap);
      if (gap > SPLIT_TOLERANCE)
        f.failures.push(
          `${label}: ${c.key} at step ${r.step + 1} served the holdback to ${((100 * onHoldback) / served.length).toFixed(1)}% of probe subjects, planned ${(100 * planned).toFixed(1)}%`,
        );
      const movedBack = [...(c.onPromoted ?? [])].filter((s) => !onPromoted.has(s)).length;
      if (movedBack > 0)
        f.failures.push(`${label}: ${c.key}: ${movedBack} probe subjects moved back from the promoted version to the holdback`);
      c.onPromoted = onPromoted;
    }
    f.probes++;
  }
}

/** A landing: the check activity was running on the worker in question. */
export const MID_CHECK = 'check (running on this worker)';

/** Where each live rollout's watch stood when worker `killedPid` died (or stands, for a live pid). */
export async function inspectWatches(client: Client, cases: RolloutCase[], killedPid: number): Promise<string[]> {
  const out: string[] = [];
  for (const c of cases) {
    if (c.status !== 'live') continue;
    try {
      const d = await client.workflow.getHandle(rolloutWorkflowId(c.rolloutId)).describe();
      const raw = d.raw as unknown as {
        pendingActivities?: Array<{ state?: number | null; lastWorkerIdentity?: string | null }> | null;
        pendingWorkflowTask?: unknown;
      };
      const a = raw.pendingActivities?.[0];
      // PendingActivityState 2 = started; identity "<pid>@<host>".
      const mid = a?.state === 2 && (a.lastWorkerIdentity ?? '').startsWith(`${killedPid}@`);
      out.push(
        d.status.name !== 'RUNNING'
          ? `watch ${d.status.name.toLowerCase()}`
          : a
            ? mid
              ? MID_CHECK
              : 'check (pending)'
            : raw.pendingWorkflowTask
              ? 'watch (workflow task)'
              : 'watch (timer)',
      );
    } catch (err) {
      out.push(`unknown (${(err as Error).message.slice(0, 60)})`);
    }
  }
  return out;
}

export interface RolloutFindings {
  lost: string[];
  duplicated: string[];
  /** Wrong decisions: a clean rollout rolled back, a regression completed. */
  wrong: string[];
  facts: Record<string, number>;
}

/**
 * Exactly-once checks on the database after a rollout scenario. Lost: a rollout still live, a
 * rollback without its promotion event, a clean ramp that skipped its step, a watch check
 * missing from the sequence, a logged conversation missing, no conversation kept on the
 * holdback. Duplicated: two rollback events, an event kind or a step advanced twice, a check
 * number written twice. Also: the key's one active version is the right one.
 */
export async function checkRollouts(url: string, cases: RolloutCase[], plan: RolloutPlan): Promise<RolloutFindings> {
  const lost: string[] = [];
  const duplicated: string[] = [];
  const wrong: string[] = [];
  const facts: Record<string, number> = { rollouts: cases.length, rolledBack: 0, completed: 0, checks: 0, conversations: 0 };
  for (const c of cases) {
    const [r] = await sql<{ status: string; step: number; active: string; active_id: string | null; lasted_h: number | null }>(
      url,
      `select r.status, r.step,
              (select count(*) from public.ai_prompt_versions v where v.prompt_key = r.prompt_key and v.status = 'active') as active,
              (select v.id from public.ai_prompt_versions v where v.prompt_key = r.prompt_key and v.status = 'active' limit 1) as active_id,
              extract(epoch from r.ended_at - r.started_at) / 3600 as lasted_h
         from public.ai_rollouts r where r.id = $1`,
      [c.rolloutId],
    );
    if (!r) {
      lost.push(`${c.key}: rollout row ${c.rolloutId} missing`);
      continue;
    }
    const expected = c.kind === 'clean' ? 'completed' : 'rolled_back';
    if (r.status === 'live') lost.push(`${c.key}: rollout still live (its watch never ended it)`);
    else if (r.status !== expected) wrong.push(`${c.key} (${c.kind}): rollout ${r.status}, expected ${expected}`);
    if (r.status === 'rolled_back') facts.rolledBack!++;
    if (r.status === 'completed') facts.completed!++;
    if (Number(r.active) === 0) lost.push(`${c.key}: no active version`);
    if (Number(r.active) > 1) duplicated.push(`${c.key}: ${r.active} active versions`);
    // A clean rollout ends only once its watch is over (the watch counts from the promotion).
    if (r.status === 'completed' && Number(r.lasted_h) < plan.watchHours)
      wrong.push(
        `${c.key}: completed ${(Number(r.lasted_h) * 3600).toFixed(1)} s after the promotion, before its ${plan.watchHours * 3600} s watch`,
      );
    const wantActive = r.status === 'rolled_back' ? c.controlId : c.variantId;
    if (r.status !== 'live' && r.active_id !== wantActive)
      wrong.push(`${c.key}: active version is ${r.active_id === c.controlId ? 'the holdback' : 'the promoted version'} after ${r.status}`);

    const rollbacks = await sql<{ n: string }>(
      url,
      `select count(*) as n from public.ai_promotion_events where prompt_key = $1 and kind = 'rollback'`,
      [c.key],
    );
    const nRollbacks = Number(rollbacks[0]!.n);
    if (nRollbacks > 1) duplicated.push(`${c.key}: ${nRollbacks} rollback promotion events`);
    if (r.status === 'rolled_back' && nRollbacks === 0) lost.push(`${c.key}: rolled back without a rollback promotion event`);
    if (r.status !== 'rolled_back' && nRollbacks > 0) wrong.push(`${c.key}: ${nRollbacks} rollback event(s) on a ${r.status} rollout`);

    const events = await sql<{ kind: string; step: number; n: string; first_h: number }>(
      url,
      `select e.kind, e.step, count(*) as n, min(extract(epoch from e.created_at - r.started_at)) / 3600 as first_h
         from public.ai_rollout_events e join public.ai_rollouts r on r.id = e.rollout_id
        where e.rollout_id = $1 group by e.kind, e.step`,
      [c.rolloutId],
    );
    for (const e of events) if (Number(e.n) > 1) duplicated.push(`${c.key}: event ${e.kind} at step ${e.step + 1} written ${e.n} times`);
    for (const kind of ['started', 'completed', 'rolled_back']) {
      const n = events.filter((e) => e.kind === kind).reduce((s, e) => s + Number(e.n), 0);
      if (n > 1) duplicated.push(`${c.key}: ${n} '${kind}' events`);
    }
    if (!events.some((e) => e.kind === 'started')) lost.push(`${c.key}: no 'started' event`);
    if (r.status !== 'live' && !events.some((e) => e.kind === r.status)) lost.push(`${c.key}: ${r.status} without its event`);
    const advanced = events.filter((e) => e.kind === 'advanced').length;
    // An event's step is the step it leaves. No step may be left before its hold is over.
    for (const e of events.filter((x) => x.kind === 'advanced')) {
      const heldUntil = plan.steps.slice(0, e.step + 1).reduce((h, st) => h + st.holdHours, 0);
      if (Number(e.first_h) < heldUntil)
        wrong.push(`${c.key}: step ${e.step + 1} left ${(Number(e.first_h) * 3600).toFixed(1)} s after the promotion, before its hold`);
    }
    // The watch regression begins at the last step: a rollback before it had no evidence to stand on.
    const rolledBackAt = events.find((e) => e.kind === 'rolled_back');
    if (c.kind === 'regress-watch' && rolledBackAt && rolledBackAt.step !== plan.steps.length - 1)
      wrong.push(`${c.key}: rolled back at step ${rolledBackAt.step + 1}, before the regression began at step ${plan.steps.length}`);
    if (r.status === 'completed' && advanced !== plan.steps.length - 1)
      lost.push(`${c.key}: completed after ${advanced} advance(s), the plan has ${plan.steps.length - 1}`);

    const checks = await sql<{ n: string; distinct_n: string; max_no: number | null }>(
      url,
      `select count(*) as n, count(distinct check_no) as distinct_n, max(check_no) as max_no from public.ai_rollout_checks where rollout_id = $1`,
      [c.rolloutId],
    );
    const ch = checks[0]!;
    facts.checks! += Number(ch.n);
    if (Number(ch.n) > Number(ch.distinct_n))
      duplicated.push(`${c.key}: ${Number(ch.n) - Number(ch.distinct_n)} watch checks written twice`);
    const redecided = await sql<{ action: string; step: string; n: string }>(
      url,
      `select decision ->> 'action' as action, decision ->> 'step' as step, count(*) as n from public.ai_rollout_checks
        where rollout_id = $1 and decision ->> 'action' <> 'continue' group by 1, 2 having count(*) > 1`,
      [c.rolloutId],
    );
    for (const d of redecided) duplicated.push(`${c.key}: ${d.n} checks decided to ${d.action} at step ${Number(d.step) + 1}`);
    if (ch.max_no !== null && Number(ch.distinct_n) !== Number(ch.max_no))
      lost.push(`${c.key}: watch checks numbered up to ${ch.max_no} but only ${ch.distinct_n} stored`);

    const conv = await sql<{ n: string; holdback: string }>(
      url,
      `select count(*) as n, count(*) filter (where rollout_id = $2 and rollout_arm = 0) as holdback
         from public.ai_conversations where prompt_key = $1`,
      [c.key, c.rolloutId],
    );
    facts.conversations! += Number(conv[0]!.n);
    if (Number(conv[0]!.n) < c.fed) lost.push(`${c.key}: ${conv[0]!.n} conversations stored, ${c.fed} logged`);
    if (c.fed > 0 && Number(conv[0]!.holdback) === 0) lost.push(`${c.key}: no conversation attributed to the holdback`);
  }
  return { lost, duplicated, wrong, facts };
}

/** Each watch workflow: exactly one completed run, whose outcome is the rollout's status. */
export async function checkWatchRuns(
  client: Client,
  cases: RolloutCase[],
): Promise<{ failures: string[]; duplicated: string[]; runs: string[] }> {
  const failures: string[] = [];
  const duplicated: string[] = [];
  const runs: string[] = [];
  for (const c of cases) {
    const id = rolloutWorkflowId(c.rolloutId);
    const statuses: string[] = [];
    let completedRun: string | undefined;
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${id}'` })) {
      statuses.push(wf.status.name);
      if (wf.status.name === 'COMPLETED') completedRun = wf.runId;
    }
    runs.push(`${c.key}: ${statuses.join('/') || 'none'}`);
    const completed = statuses.filter((s) => s === 'COMPLETED').length;
    if (completed > 1) duplicated.push(`${id}: ${completed} completed runs`);
    if (completed === 0) failures.push(`${id}: no completed run (${statuses.join(', ') || 'none'})`);
    else {
      // That run's own result (a later run, were there one, could still be running).
      const result = (await client.workflow.result(id, completedRun, { followRuns: false })) as { outcome?: string | null };
      if (result.outcome !== c.status) failures.push(`${id}: the watch ended ${result.outcome}, the rollout is ${c.status}`);
    }
  }
  return { failures, duplicated, runs };
}
