-- Per-arm aggregates for sequential guardrails, topic adjustment and the recent window (issue 12).
--
-- The decision engine tests each guardrail sequentially instead of comparing point estimates, and
-- adjusts the primary metric by topic. A test cannot be run on a sample p95 or a mean alone, so
-- experiment_arm_stats now also returns, per arm, what those tests count:
--
--   * latencyN, latencySlow, latencyThreshold: the p95-latency guardrail as a proportion. With the
--     threshold at p_latency_factor x control's sample p95, a variant whose p95 is within the
--     margin has at most 5% of its conversations slower than the threshold, so "share slower" is a
--     binomial the engine can test with always-valid bounds.
--   * tokensN, tokensSum, tokensSumSq: mean and variance of tokens, for a test on the mean. Squares
--     are summed in double precision (a token count squared overflows integer above 46,340).
--   * topics: outcome counts per (arm, topic) for post-stratification. Topics are untrusted host
--     text with no bound on how many distinct values arrive, so only the p_max_topics most frequent
--     (over all arms, so every arm has the same strata) get their own entry; the rest and null pool.
--   * recent: outcome counts over the last p_recent_hours hours, to catch a decaying (novelty) effect.
--
-- Cost: the old function's pass plus one hashed aggregation. Pass 1, per arm through the index
-- ai_conversations_experiment_arm: the sample p95 (an ordered-set aggregate, it sorts the arm's
-- latencies), as before; control's gives the threshold, which must be known before anything is
-- counted against it. Pass 2: one row per (arm, topic) of everything that adds up: counts, sums,
-- the slow count, the recent window. Arm totals, the topic ranking and the pooling are sums over
-- those aggregated rows, never another pass over the table. On a million conversations (3 arms,
-- 300 topics) this takes about 1.4 times as long as the old function; a single pass with grouping
-- sets would sort every conversation by (arm, topic) and took 3 to 4 times as long.
--
-- Topic order and tie-breaks compare with collation "C": byte order is the same on every server
-- and on PGlite, whatever the database's default collation, so the strata are deterministic.

drop function public.experiment_arm_stats(uuid);

create function public.experiment_arm_stats(
  p_experiment_id uuid,
  p_latency_factor double precision default 1.25,
  p_recent_hours double precision default 24,
  p_max_topics integer default 20
) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
declare
  v_since timestamptz;
begin
  -- NaN compares greater than every number in PostgreSQL, so "> 0 and < infinity" also refuses it.
  if p_latency_factor is null or not (p_latency_factor > 0 and p_latency_factor < 'infinity'::double precision) then
    perform internal._invalid(format('latency_factor must be a finite number greater than 0, got %s',
                                     coalesce(p_latency_factor::text, 'null')));
  end if;
  -- Capped at ten years so that now() - window never overflows a timestamp.
  if p_recent_hours is null or not (p_recent_hours > 0 and p_recent_hours <= 87600) then
    perform internal._invalid(format('recent_hours must be greater than 0 and at most 87600 (ten years), got %s',
                                     coalesce(p_recent_hours::text, 'null')));
  end if;
  if p_max_topics is null or p_max_topics not between 1 and 100 then
    perform internal._invalid(format('max_topics must be between 1 and 100, got %s', coalesce(p_max_topics::text, 'null')));
  end if;
  if not exists (select 1 from public.ai_ab_experiments where id = p_experiment_id) then
    raise exception 'experiment % not found', p_experiment_id using errcode = 'P0002';
  end if;
  v_since := now() - make_interval(secs => p_recent_hours * 3600);

  return (
    with arms as materialized (
      -- Pass 1: the arms, each with its sample p95 (null without latencies).
      select a.arm, a.version_id, v.version, a.weight,
             (select percentile_cont(0.95) within group (order by c.latency_ms)
              from public.ai_conversations c
              where c.experiment_id = a.experiment_id and c.arm = a.arm) as latency_p95
      from public.ai_experiment_arms a
      join public.ai_prompt_versions v on v.id = a.version_id
      where a.experiment_id = p_experiment_id
    ),
    threshold as (
      -- Null when control has no latency: then no conversation counts as slow.
      select p_latency_factor * arms.latency_p95 as value from arms where arms.arm = 0
    ),
    g as (
      -- Pass 2: one row per (arm, topic as logged, null included).
      select c.arm, c.topic,
             count(*) as n,
             count(*) filter (where c.success) as successes,
             count(c.rating) as rating_n,
             coalesce(sum(c.rating), 0) as rating_sum,
             coalesce(sum(c.rating * c.rating), 0) as rating_sumsq,
             count(*) filter (where c.error is not null) as errors,
             count(c.latency_ms) as latency_n,
             count(*) filter (where c.latency_ms > (select t.value from threshold t)) as latency_slow,
             count(c.tokens) as tokens_n,
             coalesce(sum(c.tokens), 0) as tokens_sum,
             coalesce(sum(c.tokens::double precision * c.tokens), 0) as tokens_sumsq,
             count(*) filter (where c.created_at >= v_since) as recent_n,
             count(*) filter (where c.created_at >= v_since and c.success) as recent_successes,
             count(c.rating) filter (where c.created_at >= v_since) as recent_rating_n,
             coalesce(sum(c.rating) filter (where c.created_at >= v_since), 0) as recent_rating_sum,
             coalesce(sum(c.rating * c.rating) filter (where c.created_at >= v_since), 0) as recent_rating_sumsq,
             count(*) filter (where c.created_at >= v_since and c.error is not null) as recent_errors
      from public.ai_conversations c
      where c.experiment_id = p_experiment_id
      group by c.arm, c.topic
    ),
    totals as (
      select g.arm,
             sum(g.n)::bigint as n, sum(g.successes)::bigint as successes,
             sum(g.rating_n)::bigint as rating_n, sum(g.rating_sum)::bigint as rating_sum,
             sum(g.rating_sumsq)::bigint as rating_sumsq, sum(g.errors)::bigint as errors,
             sum(g.latency_n)::bigint as latency_n, sum(g.latency_slow)::bigint as latency_slow,
             sum(g.tokens_n)::bigint as tokens_n, sum(g.tokens_sum)::bigint as tokens_sum,
             sum(g.tokens_sumsq) as tokens_sumsq,
             sum(g.recent_n)::bigint as recent_n, sum(g.recent_successes)::bigint as recent_successes,
             sum(g.recent_rating_n)::bigint as recent_rating_n, sum(g.recent_rating_sum)::bigint as recent_rating_sum,
             sum(g.recent_rating_sumsq)::bigint as recent_rating_sumsq, sum(g.recent_errors)::bigint as recent_errors
      from g
      group by g.arm
    ),
    top as (
      select g.topic
      from g
      where g.topic is not null
      group by g.topic
      order by sum(g.n) desc, g.topic collate "C"
      limit p_max_topics
    ),
    strata as (
      -- A topic outside the top joins no row of `top`: it lands in the pooled (null) stratum.
      select g.arm, t.topic,
             sum(g.n)::bigint as n, sum(g.successes)::bigint as successes,
             sum(g.rating_n)::bigint as rating_n, sum(g.rating_sum)::bigint as rating_sum,
             sum(g.rating_sumsq)::bigint as rating_sumsq, sum(g.errors)::bigint as errors
      from g
      left join top t on t.topic = g.topic
      group by g.arm, t.topic
    ),
    topics as (
      select s.arm,
             jsonb_agg(jsonb_build_object(
               'topic', s.topic, 'n', s.n, 'successes', s.successes, 'ratingN', s.rating_n,
               'ratingSum', s.rating_sum, 'ratingSumSq', s.rating_sumsq, 'errors', s.errors)
               order by s.topic collate "C" nulls last) as list
      from strata s
      where s.n > 0
      group by s.arm
    )
    select jsonb_agg(jsonb_build_object(
      'arm', a.arm, 'versionId', a.version_id, 'version', a.version, 'weight', a.weight,
      'n', coalesce(s.n, 0), 'successes', coalesce(s.successes, 0),
      'ratingN', coalesce(s.rating_n, 0), 'ratingSum', coalesce(s.rating_sum, 0), 'ratingSumSq', coalesce(s.rating_sumsq, 0),
      'errors', coalesce(s.errors, 0), 'latencyP95', a.latency_p95,
      -- avg(integer) is this numeric division, cast: the same value as before.
      'tokensMean', (s.tokens_sum::numeric / nullif(s.tokens_n, 0))::double precision,
      'latencyN', coalesce(s.latency_n, 0), 'latencySlow', coalesce(s.latency_slow, 0),
      'latencyThreshold', (select t.value from threshold t),
      'tokensN', coalesce(s.tokens_n, 0), 'tokensSum', coalesce(s.tokens_sum, 0), 'tokensSumSq', coalesce(s.tokens_sumsq, 0),
      'topics', coalesce(tp.list, '[]'::jsonb),
      'recent', jsonb_build_object(
        'hours', p_recent_hours, 'n', coalesce(s.recent_n, 0), 'successes', coalesce(s.recent_successes, 0),
        'ratingN', coalesce(s.recent_rating_n, 0), 'ratingSum', coalesce(s.recent_rating_sum, 0),
        'ratingSumSq', coalesce(s.recent_rating_sumsq, 0), 'errors', coalesce(s.recent_errors, 0)))
      order by a.arm)
    from arms a
    left join totals s on s.arm = a.arm
    left join topics tp on tp.arm = a.arm
  );
end
$$;

revoke all on function public.experiment_arm_stats(uuid, double precision, double precision, integer) from public, anon, authenticated;
grant execute on function public.experiment_arm_stats(uuid, double precision, double precision, integer) to service_role;
