-- Pattern analysis at scale: analyze_prompt on 1M conversations in well under 2 s
-- (bench/analysis.ts). Same signature, same insights, same evidence; what changes is how the
-- numbers are computed. Measured with EXPLAIN ANALYZE on 1M conversations of the active version
-- plus 250k of the previous one (PostgreSQL 15, 2 cores, work_mem 4MB), the old function spent:
--   * ~450 ms in the overall aggregate: percentile_cont sorts every latency of the window, which
--     spilled to disk (external merge, ~30 MB), and ordered-set aggregates cannot run in parallel;
--   * ~250 ms in a second full scan for the per-topic loop (a FOR ... IN query loop never gets a
--     parallel plan);
--   * ~125-170 ms in the regression lookup, which visits the heap for every row of the previous
--     version it counts (index scan backward, or bitmap scan + external sort).
-- Now:
--   1. One scan groups the window by topic with additive aggregates only (counts, sums, sums of
--      squares): parallel-safe, no sort, ~11 groups. The overall figures are the sums over the
--      groups; the rating standard deviation and token variances come from exact integer sums
--      (n, sum x, sum x^2) with the formula var_samp/stddev_samp use for integers, so the figures
--      are the same as before. The per-topic loop walks those few rows, not the table.
--   2. Latency percentiles stay exact without sorting the rows: a parallel hash aggregate counts
--      each distinct latency value (tens of thousands of values, not a million rows), and
--      percentile_cont's own rule (interpolate between the order statistics at floor and ceil of
--      p * (n - 1)) is applied to the cumulative counts. No approximation.
--   3. The heavy queries run through EXECUTE ... USING: a static PL/pgSQL SELECT ... INTO got a
--      parallel plan but no workers on PostgreSQL 15 ("Workers Planned: 2, Workers Launched: 0"
--      in auto_explain, even in a bare DO block), while the same query through EXECUTE launched
--      them (and is planned for the actual window, never with a generic plan). PGlite has no
--      parallel workers; the SQL is the same.
--   4. The covering index (version_id, created_at) INCLUDE (success, latency_ms) serves the
--      regression lookup and the latency counts as index-only scans when the rows are all-visible
--      (the previous version's rows soon are: it no longer gets traffic; the planner falls back to
--      heap scans when they are not). Entries are 8 bytes wider than (version_id, created_at)
--      alone (latency_ms fits in the alignment padding after success). It replaces
--      ai_conversations_version_time: same key columns, so every other query keeps its index. A wider INCLUDE (topic, rating, tokens) was
--      measured too: 87 MB instead of 59 MB per 1.25M rows for ~15% on the topic scan, and
--      `error is not null` cannot be included, so no.
--      Large existing tables: CREATE INDEX inside a migration blocks inserts into
--      ai_conversations while it builds. There, build it first with `create index concurrently
--      ai_conversations_version_time_covering on public.ai_conversations (version_id, created_at)
--      include (success, latency_ms)`; this migration then finds it ("if not exists").
-- Insights are listed in topic order (before: hash order). Results are otherwise identical:
-- test/store/analysis.test.ts passes on the function before and after this migration.

create index if not exists ai_conversations_version_time_covering
  on public.ai_conversations (version_id, created_at) include (success, latency_ms);
drop index if exists public.ai_conversations_version_time;

create or replace function public.analyze_prompt(
  p_prompt_key text,
  p_window_hours integer default 24,
  p_min_samples integer default 30,
  p_latency_p95_ms integer default 8000,
  p_now timestamptz default null
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_version public.ai_prompt_versions;
  v_since timestamptz;
  v_until timestamptz := coalesce(p_now, now());
  o record;
  lat record;
  prev record;
  seg record;
  v_found jsonb := '[]'::jsonb;
  v_prev_id uuid;
  v_sev text;
  v_p double precision;
  v_z double precision;
begin
  perform public._check_prompt_key(p_prompt_key);
  if p_window_hours is null or p_window_hours not between 1 and 8760 then
    perform public._invalid('window_hours must be between 1 and 8760');
  end if;
  if p_min_samples is null or p_min_samples not between 5 and 1000000 then
    perform public._invalid('min_samples must be between 5 and 1000000');
  end if;
  select * into v_version from public.ai_prompt_versions where prompt_key = p_prompt_key and status = 'active';
  if not found then
    raise exception 'prompt key % has no active version', p_prompt_key using errcode = 'P0002';
  end if;
  v_since := v_until - make_interval(hours => p_window_hours);

  -- 1. One scan: additive aggregates per topic (parallel, no sort); overall = sum over topics.
  execute $q$
    select t.n::double precision as n, t.s::double precision as s, t.e::double precision as e,
           t.r_n::double precision as r_n,
           (t.r_sum / nullif(t.r_n, 0))::double precision as r_avg,
           case when t.r_n > 1 then sqrt(greatest(t.r_n * t.r_sq - t.r_sum * t.r_sum, 0) / (t.r_n * (t.r_n - 1)))::double precision end as r_sd,
           t.ts_n::double precision as ts_n,
           (t.ts_sum / nullif(t.ts_n, 0))::double precision as ts_avg,
           case when t.ts_n > 1 then (greatest(t.ts_n * t.ts_sq - t.ts_sum * t.ts_sum, 0) / (t.ts_n * (t.ts_n - 1)))::double precision end as ts_var,
           t.tf_n::double precision as tf_n,
           (t.tf_sum / nullif(t.tf_n, 0))::double precision as tf_avg,
           case when t.tf_n > 1 then (greatest(t.tf_n * t.tf_sq - t.tf_sum * t.tf_sum, 0) / (t.tf_n * (t.tf_n - 1)))::double precision end as tf_var,
           t.segments
    from (
      select coalesce(sum(g.n), 0)::numeric as n, coalesce(sum(g.s), 0)::numeric as s, coalesce(sum(g.e), 0)::numeric as e,
             coalesce(sum(g.r_n), 0)::numeric as r_n, sum(g.r_sum)::numeric as r_sum, sum(g.r_sq)::numeric as r_sq,
             coalesce(sum(g.ts_n), 0)::numeric as ts_n, sum(g.ts_sum)::numeric as ts_sum, sum(g.ts_sq)::numeric as ts_sq,
             coalesce(sum(g.tf_n), 0)::numeric as tf_n, sum(g.tf_sum)::numeric as tf_sum, sum(g.tf_sq)::numeric as tf_sq,
             coalesce(jsonb_agg(jsonb_build_object('topic', g.topic, 'n', g.n, 's', g.s) order by g.topic)
                        filter (where g.topic is not null and g.n >= $4), '[]'::jsonb) as segments
      from (
        select c.topic,
               count(*) as n,
               count(*) filter (where c.success) as s,
               count(*) filter (where c.error is not null) as e,
               count(c.rating) as r_n,
               sum(c.rating::integer) as r_sum,
               sum(c.rating::integer * c.rating::integer) as r_sq,
               count(c.tokens) filter (where c.success) as ts_n,
               sum(c.tokens::bigint) filter (where c.success) as ts_sum,
               sum(c.tokens::bigint * c.tokens::bigint) filter (where c.success) as ts_sq,
               count(c.tokens) filter (where not c.success) as tf_n,
               sum(c.tokens::bigint) filter (where not c.success) as tf_sum,
               sum(c.tokens::bigint * c.tokens::bigint) filter (where not c.success) as tf_sq
        from public.ai_conversations c
        where c.version_id = $1 and c.created_at >= $2 and c.created_at < $3
        group by c.topic
      ) g
    ) t
  $q$ into o using v_version.id, v_since, v_until, p_min_samples;

  -- 2. Exact percentile_cont(0.95) and (0.5) of latency_ms from the counts of its distinct values.
  execute $q$
    select case when q.total > 0 then q.lo95 + (q.hi95 - q.lo95) * (q.pos95 - floor(q.pos95)) end as p95,
           case when q.total > 0 then q.lo50 + (q.hi50 - q.lo50) * (q.pos50 - floor(q.pos50)) end as p50
    from (
      select max(w.total) as total,
             0.95::double precision * (max(w.total) - 1) as pos95,
             0.5::double precision * (max(w.total) - 1) as pos50,
             min(w.v) filter (where w.cum > floor(0.95::double precision * (w.total - 1))) as lo95,
             min(w.v) filter (where w.cum > ceil(0.95::double precision * (w.total - 1))) as hi95,
             min(w.v) filter (where w.cum > floor(0.5::double precision * (w.total - 1))) as lo50,
             min(w.v) filter (where w.cum > ceil(0.5::double precision * (w.total - 1))) as hi50
      from (
        select f.v, (sum(f.k) over (order by f.v))::double precision as cum, (sum(f.k) over ())::double precision as total
        from (
          select c.latency_ms::double precision as v, count(*) as k
          from public.ai_conversations c
          where c.version_id = $1 and c.created_at >= $2 and c.created_at < $3 and c.latency_ms is not null
          group by c.latency_ms
        ) f
      ) w
    ) q
  $q$ into lat using v_version.id, v_since, v_until;

  if o.n >= p_min_samples then
    -- Segments (topics) whose success rate is significantly below the rest of the traffic.
    for seg in
      select x.topic, x.n, x.s from jsonb_to_recordset(o.segments) as x(topic text, n double precision, s double precision)
    loop
      continue when o.n - seg.n < p_min_samples;
      v_p := o.s / o.n;
      continue when v_p <= 0 or v_p >= 1;
      v_z := (seg.s / seg.n - (o.s - seg.s) / (o.n - seg.n)) / sqrt(v_p * (1 - v_p) * (1 / seg.n + 1 / (o.n - seg.n)));
      continue when v_z > -3;
      v_sev := case when (o.s - seg.s) / (o.n - seg.n) - seg.s / seg.n >= 0.15 then 'high'
                    when (o.s - seg.s) / (o.n - seg.n) - seg.s / seg.n >= 0.08 then 'medium' else 'low' end;
      v_found := v_found || public.upsert_insight(p_prompt_key, v_version.id, 'low_success_segment', seg.topic,
        jsonb_build_object('n', seg.n, 'successes', seg.s, 'rate', round((seg.s / seg.n)::numeric, 4),
          'rate_ci', public._wilson(seg.s::numeric, seg.n::numeric), 'rest_n', o.n - seg.n,
          'rest_rate', round(((o.s - seg.s) / (o.n - seg.n))::numeric, 4),
          'rest_ci', public._wilson((o.s - seg.s)::numeric, (o.n - seg.n)::numeric), 'z', round(v_z::numeric, 2)),
        v_sev, (o.s - seg.s) / (o.n - seg.n) - seg.s / seg.n >= 0.05);
    end loop;

    -- Low ratings: the mean's upper 99.7% bound is below 3.5 out of 5.
    if o.r_n >= p_min_samples and o.r_avg + 3 * coalesce(o.r_sd, 0) / sqrt(o.r_n) < 3.5 then
      v_found := v_found || public.upsert_insight(p_prompt_key, v_version.id, 'low_rating', null,
        jsonb_build_object('rated', o.r_n, 'mean_rating', round(o.r_avg::numeric, 3), 'sd', round(coalesce(o.r_sd, 0)::numeric, 3),
          'ci', jsonb_build_array(round((o.r_avg - 1.96 * coalesce(o.r_sd, 0) / sqrt(o.r_n))::numeric, 3),
                                  round((o.r_avg + 1.96 * coalesce(o.r_sd, 0) / sqrt(o.r_n))::numeric, 3))),
        case when o.r_avg < 2.5 then 'high' when o.r_avg < 3.0 then 'medium' else 'low' end, true);
    end if;

    -- Verbosity that goes with failure: failed conversations use far more tokens (Welch t >= 3).
    if o.ts_n >= p_min_samples and o.tf_n >= p_min_samples and o.ts_avg > 0
       and o.tf_avg / o.ts_avg >= 1.25
       and (o.tf_avg - o.ts_avg) / sqrt(greatest(coalesce(o.tf_var, 0) / o.tf_n + coalesce(o.ts_var, 0) / o.ts_n, 1e-9)) >= 3 then
      v_found := v_found || public.upsert_insight(p_prompt_key, v_version.id, 'verbosity', null,
        jsonb_build_object('tokens_failed_mean', round(o.tf_avg::numeric, 1), 'tokens_success_mean', round(o.ts_avg::numeric, 1),
          'ratio', round((o.tf_avg / o.ts_avg)::numeric, 3), 'failed_n', o.tf_n, 'success_n', o.ts_n,
          't', round(((o.tf_avg - o.ts_avg) / sqrt(greatest(coalesce(o.tf_var, 0) / o.tf_n + coalesce(o.ts_var, 0) / o.ts_n, 1e-9)))::numeric, 2)),
        case when o.tf_avg / o.ts_avg >= 1.6 then 'high' when o.tf_avg / o.ts_avg >= 1.4 then 'medium' else 'low' end, true);
    end if;

    -- Latency: p95 above the configured budget.
    if lat.p95 is not null and lat.p95 > p_latency_p95_ms then
      v_found := v_found || public.upsert_insight(p_prompt_key, v_version.id, 'latency', null,
        jsonb_build_object('p95_ms', round(lat.p95::numeric), 'p50_ms', round(lat.p50::numeric), 'budget_ms', p_latency_p95_ms, 'n', o.n),
        case when lat.p95 > 2 * p_latency_p95_ms then 'high' when lat.p95 > 1.5 * p_latency_p95_ms then 'medium' else 'low' end, true);
    end if;

    -- Error rate: the Wilson lower bound is above 2%.
    if (public._wilson(o.e::numeric, o.n::numeric) ->> 0)::numeric > 0.02 then
      v_found := v_found || public.upsert_insight(p_prompt_key, v_version.id, 'error_rate', null,
        jsonb_build_object('errors', o.e, 'n', o.n, 'rate', round((o.e / o.n)::numeric, 4), 'ci', public._wilson(o.e::numeric, o.n::numeric)),
        case when o.e / o.n >= 0.15 then 'high' when o.e / o.n >= 0.08 then 'medium' else 'low' end, true);
    end if;

    -- Regression against the version this one replaced (its last window of traffic).
    select e.from_version_id into v_prev_id from public.ai_promotion_events e
    where e.to_version_id = v_version.id and e.from_version_id is not null order by e.created_at desc limit 1;
    if v_prev_id is not null then
      execute $q$
        select count(*)::double precision as n, count(*) filter (where x.success)::double precision as s
        from (select c.success from public.ai_conversations c where c.version_id = $1 order by c.created_at desc limit $2) x
      $q$ into prev using v_prev_id, greatest(o.n::integer, p_min_samples) * 4;
      if prev.n >= p_min_samples and prev.s > 0 then
        v_p := (o.s + prev.s) / (o.n + prev.n);
        if v_p > 0 and v_p < 1 then
          v_z := (o.s / o.n - prev.s / prev.n) / sqrt(v_p * (1 - v_p) * (1 / o.n + 1 / prev.n));
          if v_z <= -3 then
            v_found := v_found || public.upsert_insight(p_prompt_key, v_version.id, 'regression', null,
              jsonb_build_object('previous_version_id', v_prev_id, 'rate', round((o.s / o.n)::numeric, 4),
                'previous_rate', round((prev.s / prev.n)::numeric, 4), 'n', o.n, 'previous_n', prev.n, 'z', round(v_z::numeric, 2)),
              case when prev.s / prev.n - o.s / o.n >= 0.1 then 'high' else 'medium' end, true);
          end if;
        end if;
      end if;
    end if;
  end if;

  -- What held before but not now is resolved.
  update public.ai_pattern_insights i set status = 'resolved'
  where i.version_id = v_version.id and i.status = 'open'
    and not exists (select 1 from jsonb_array_elements(v_found) f where (f ->> 'id')::uuid = i.id);

  return jsonb_build_object(
    'prompt_key', p_prompt_key, 'version_id', v_version.id, 'version', v_version.version,
    'window', jsonb_build_object('since', v_since, 'until', v_until),
    'overall', jsonb_build_object('n', o.n, 'successes', o.s,
      'success_rate', case when o.n > 0 then round((o.s / o.n)::numeric, 4) end,
      'success_ci', public._wilson(o.s::numeric, o.n::numeric),
      'mean_rating', round(o.r_avg::numeric, 3), 'error_rate', case when o.n > 0 then round((o.e / o.n)::numeric, 4) end,
      'latency_p95_ms', round(lat.p95::numeric)),
    'insights', v_found,
    'actionable', (select count(*) from jsonb_array_elements(v_found) f where (f ->> 'is_actionable')::boolean));
end
$$;
