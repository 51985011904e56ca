import { Client as PgClient } from 'pg';
import { SEEDED_CONVERSATIONS } from './cycles';

/**
 * Exactly-once checks on the database after a scenario. "Lost": an effect that should exist
 * and does not (job not terminal, cycle without experiment or promotion, a logged conversation
 * missing). "Duplicated": an effect that exists twice (two jobs/experiments/promotions for one
 * cycle, a prompt version stored twice, two snapshots or two final decisions for one check...).
 */
export interface Findings {
  lost: string[];
  duplicated: string[];
  facts: Record<string, number>;
}

export interface ExpectedCycle {
  key: string;
  jobId?: number;
  /** Conversations the harness logged for the key after seeding (created rows). */
  fed: number;
  variantCount: number;
  /** Outcome the cycle must reach (all scenarios feed traffic that promotes). */
  outcome: 'promoted';
}

type Row = Record<string, unknown>;

export async function checkCycles(url: string, expected: ExpectedCycle[]): Promise<Findings> {
  const lost: string[] = [];
  const duplicated: string[] = [];
  const facts: Record<string, number> = {};
  const pg = new PgClient({ connectionString: url });
  await pg.connect();
  const q = async <R extends Row>(text: string, params: unknown[] = []) => (await pg.query<R>(text, params)).rows;
  try {
    const keys = expected.map((e) => e.key);

    // Jobs: one per cycle, terminal, completed with the expected outcome.
    const jobs = await q<{ id: string; status: string; key: string; outcome: string | null; error: string | null }>(
      `select id, status::text, params->>'promptKey' as key, result->>'outcome' as outcome, error
         from public.optimization_jobs where type = 'full_cycle' and params->>'promptKey' = any($1)`,
      [keys],
    );
    facts.jobs = jobs.length;
    for (const e of expected) {
      const mine = jobs.filter((j) => j.key === e.key);
      if (mine.length === 0) lost.push(`${e.key}: no job row`);
      if (mine.length > 1) duplicated.push(`${e.key}: ${mine.length} full_cycle job rows (${mine.map((j) => j.id).join(', ')})`);
      for (const j of mine) {
        if (j.status !== 'completed' && j.status !== 'failed') lost.push(`${e.key}: job ${j.id} not terminal (${j.status})`);
        else if (j.status === 'failed') lost.push(`${e.key}: job ${j.id} failed: ${j.error}`);
        else if (j.outcome !== e.outcome) lost.push(`${e.key}: job ${j.id} completed with outcome ${j.outcome}, expected ${e.outcome}`);
      }
    }
    const nonTerminal = await q<{ n: string }>(
      `select count(*) as n from public.optimization_jobs where status not in ('completed', 'failed')`,
    );
    facts.nonTerminalJobs = Number(nonTerminal[0]!.n);

    // Prompt versions: no content twice per key; exactly control + variants per key.
    const dupContent = await q<{ prompt_key: string; n: string }>(
      `select prompt_key, count(*) as n from public.ai_prompt_versions where prompt_key = any($1)
        group by prompt_key, content having count(*) > 1`,
      [keys],
    );
    for (const d of dupContent) duplicated.push(`${d.prompt_key}: same prompt content stored ${d.n} times`);
    const versions = await q<{ prompt_key: string; n: string; active: string }>(
      `select prompt_key, count(*) as n, count(*) filter (where status = 'active') as active
         from public.ai_prompt_versions where prompt_key = any($1) group by prompt_key`,
      [keys],
    );
    facts.promptVersions = versions.reduce((n, v) => n + Number(v.n), 0);
    for (const e of expected) {
      const v = versions.find((x) => x.prompt_key === e.key);
      const n = Number(v?.n ?? 0);
      if (n > 1 + e.variantCount)
        duplicated.push(`${e.key}: ${n} prompt versions, expected ${1 + e.variantCount} (control + ${e.variantCount} variants)`);
      if (n < 1 + e.variantCount) lost.push(`${e.key}: ${n} prompt versions, expected ${1 + e.variantCount}`);
      if (Number(v?.active ?? 0) !== 1) lost.push(`${e.key}: ${v?.active ?? 0} active versions`);
    }

    // Experiments: one per cycle, concluded with a decision; promotion events: one per promoted experiment.
    const exps = await q<{
      id: string;
      prompt_key: string;
      status: string;
      outcome: string | null;
      has_decision: boolean;
      winner: string | null;
      active: string | null;
      events: string;
      workflow_id: string | null;
    }>(
      `select e.id, e.prompt_key, e.status::text, e.outcome::text, e.decision is not null as has_decision,
              e.winner_version_id as winner, e.workflow_id,
              (select v.id from public.ai_prompt_versions v where v.prompt_key = e.prompt_key and v.status = 'active') as active,
              (select count(*) from public.ai_promotion_events p where p.experiment_id = e.id) as events
         from public.ai_ab_experiments e where e.prompt_key = any($1)`,
      [keys],
    );
    facts.experiments = exps.length;
    facts.promotionEvents = exps.reduce((n, e) => n + Number(e.events), 0);
    for (const e of expected) {
      const mine = exps.filter((x) => x.prompt_key === e.key);
      if (mine.length === 0) lost.push(`${e.key}: no experiment`);
      if (mine.length > 1) duplicated.push(`${e.key}: ${mine.length} experiments`);
      for (const x of mine) {
        const events = Number(x.events);
        if (events > 1) duplicated.push(`${e.key}: experiment ${x.id} has ${events} promotion events`);
        if (x.status !== 'concluded') lost.push(`${e.key}: experiment ${x.id} still ${x.status}`);
        else if (!x.has_decision) lost.push(`${e.key}: experiment ${x.id} concluded without a decision`);
        if (x.outcome === 'promoted') {
          if (events === 0) lost.push(`${e.key}: experiment ${x.id} promoted without a promotion event`);
          if (x.active !== x.winner) lost.push(`${e.key}: active version ${x.active} is not the winner ${x.winner}`);
        } else if (x.status === 'concluded' && e.outcome === 'promoted') {
          lost.push(`${e.key}: experiment ${x.id} concluded ${x.outcome}, expected promoted`);
        }
      }
    }
    const orphanEvents = await q<{ n: string }>(
      `select count(*) as n from public.ai_promotion_events p where p.prompt_key = any($1) and p.kind <> 'rollback'
          and not exists (select 1 from public.ai_ab_experiments e where e.id = p.experiment_id)`,
      [keys],
    );
    if (Number(orphanEvents[0]!.n) > 0) duplicated.push(`${orphanEvents[0]!.n} promotion events without an experiment`);

    // Snapshots: one per (experiment, check), numbered 1..n, exactly one final decision.
    const snaps = await q<{
      experiment_id: string;
      prompt_key: string;
      n: string;
      distinct_checks: string;
      max_check: string;
      final: string;
    }>(
      `select s.experiment_id, e.prompt_key, count(*) as n, count(distinct s.check_no) as distinct_checks, max(s.check_no) as max_check,
              count(*) filter (where s.decision->>'action' in ('promote', 'keep_control', 'stop_guardrail')) as final
         from public.ai_experiment_snapshots s join public.ai_ab_experiments e on e.id = s.experiment_id
        where e.prompt_key = any($1) group by s.experiment_id, e.prompt_key`,
      [keys],
    );
    facts.snapshots = snaps.reduce((n, s) => n + Number(s.n), 0);
    for (const s of snaps) {
      if (Number(s.n) !== Number(s.distinct_checks))
        duplicated.push(`${s.prompt_key}: ${Number(s.n) - Number(s.distinct_checks)} duplicate snapshots for the same check`);
      if (Number(s.max_check) !== Number(s.distinct_checks))
        lost.push(`${s.prompt_key}: snapshot checks have gaps (max ${s.max_check}, ${s.distinct_checks} distinct)`);
      if (Number(s.final) > 1) duplicated.push(`${s.prompt_key}: ${s.final} snapshots carry a final decision`);
    }
    for (const x of exps) {
      if (x.status === 'concluded' && x.outcome === 'promoted' && !snaps.some((s) => s.experiment_id === x.id && Number(s.final) === 1)) {
        lost.push(`${x.prompt_key}: promoted experiment has no snapshot with the final decision`);
      }
    }

    // Insights: one per (version, kind, segment).
    const dupInsights = await q<{ prompt_key: string; n: string }>(
      `select prompt_key, count(*) as n from public.ai_pattern_insights where prompt_key = any($1)
        group by prompt_key, version_id, kind, coalesce(segment, '') having count(*) > 1`,
      [keys],
    );
    for (const d of dupInsights) duplicated.push(`${d.prompt_key}: insight stored ${d.n} times`);

    // Conversations: seeded + fed, exactly.
    const convs = await q<{ prompt_key: string; n: string }>(
      `select prompt_key, count(*) as n from public.ai_conversations where prompt_key = any($1) group by prompt_key`,
      [keys],
    );
    facts.conversations = convs.reduce((n, c) => n + Number(c.n), 0);
    for (const e of expected) {
      const n = Number(convs.find((c) => c.prompt_key === e.key)?.n ?? 0);
      const want = SEEDED_CONVERSATIONS + e.fed;
      if (n < want) lost.push(`${e.key}: ${want - n} logged conversations missing`);
      if (n > want) duplicated.push(`${e.key}: ${n - want} conversations more than logged`);
    }
  } finally {
    await pg.end();
  }
  return { lost, duplicated, facts };
}
