-- The database API, part 3: pattern analysis. Insights are computed by aggregation inside
-- Postgres (the worker never pulls raw conversations) and upserted by fingerprint, so hourly
-- runs update one row per (version, kind, segment) instead of piling up copies.

-- Wilson score interval (95%) for a proportion, as a two-element JSON array.
create function public._wilson(p_successes numeric, p_n numeric) returns jsonb
language sql immutable set search_path = '' as $$
  select case when coalesce(p_n, 0) = 0 then jsonb_build_array(0, 1) else (
    select jsonb_build_array(round(greatest(0, (c - h) / d)::numeric, 4), round(least(1, (c + h) / d)::numeric, 4))
    from (select p_successes / p_n as p, 1.96::numeric as z) a,
         lateral (select a.p + a.z * a.z / (2 * p_n) as c,
                         a.z * sqrt(a.p * (1 - a.p) / p_n + a.z * a.z / (4 * p_n * p_n)) as h,
                         1 + a.z * a.z / p_n as d) b
  ) end
$$;

create function public.upsert_insight(
  p_prompt_key text,
  p_version_id uuid,
  p_kind text,
  p_segment text,
  p_evidence jsonb,
  p_severity text,
  p_is_actionable boolean
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_row public.ai_pattern_insights;
begin
  perform public._check_prompt_key(p_prompt_key);
  if p_kind is null or not (p_kind = any (enum_range(null::public.insight_kind)::text[])) then
    perform public._invalid(format('kind must be one of %s', array_to_string(enum_range(null::public.insight_kind)::text[], ', ')));
  end if;
  if p_severity is null or p_severity not in ('low', 'medium', 'high') then
    perform public._invalid('severity must be low, medium or high');
  end if;
  if jsonb_typeof(p_evidence) is distinct from 'object' then
    perform public._invalid('evidence must be a JSON object');
  end if;
  if p_is_actionable is null then
    perform public._invalid('is_actionable is required');
  end if;
  if not exists (select 1 from public.ai_prompt_versions where id = p_version_id and prompt_key = p_prompt_key) then
    perform public._invalid(format('version %s is not a version of %s', p_version_id, p_prompt_key));
  end if;
  insert into public.ai_pattern_insights (prompt_key, version_id, kind, segment, evidence, severity, is_actionable, fingerprint)
  values (p_prompt_key, p_version_id, p_kind::public.insight_kind, p_segment, p_evidence,
          p_severity::public.insight_severity, p_is_actionable,
          md5(p_prompt_key || '|' || p_version_id::text || '|' || p_kind || '|' || coalesce(p_segment, '')))
  on conflict (fingerprint) do update
  set evidence = excluded.evidence, severity = excluded.severity, is_actionable = excluded.is_actionable,
      status = 'open', occurrences = public.ai_pattern_insights.occurrences + 1, last_seen_at = now()
  returning * into v_row;
  return to_jsonb(v_row);
end
$$;

-- Analyzes the active version of a prompt key over the last p_window_hours and upserts the
-- insights found; open insights of that version that no longer hold become resolved.
-- Thresholds are deliberately conservative (|z| >= 3) because this runs every hour on many
-- segments: a noisy optimizer would start experiments on noise.
create function public.analyze_prompt(
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
  prev record;
  seg record;
  v_found jsonb := '[]'::jsonb;
  v_ins jsonb;
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

  select count(*)::double precision as n,
         count(*) filter (where c.success)::double precision as s,
         count(c.rating)::double precision as r_n, avg(c.rating)::double precision as r_avg,
         stddev_samp(c.rating)::double precision as r_sd,
         count(*) filter (where c.error is not null)::double precision as e,
         percentile_cont(0.95) within group (order by c.latency_ms) as p95,
         percentile_cont(0.5) within group (order by c.latency_ms) as p50,
         count(c.tokens) filter (where c.success)::double precision as ts_n,
         avg(c.tokens) filter (where c.success)::double precision as ts_avg,
         var_samp(c.tokens) filter (where c.success)::double precision as ts_var,
         count(c.tokens) filter (where not c.success)::double precision as tf_n,
         avg(c.tokens) filter (where not c.success)::double precision as tf_avg,
         var_samp(c.tokens) filter (where not c.success)::double precision as tf_var
  into o
  from public.ai_conversations c
  where c.version_id = v_version.id and c.created_at >= v_since and c.created_at < v_until;

  if o.n >= p_min_samples then
    -- Segments (topics) whose success rate is significantly below the rest of the traffic.
    for seg in
      select c.topic, count(*)::double precision as n, count(*) filter (where c.success)::double precision as s
      from public.ai_conversations c
      where c.version_id = v_version.id and c.created_at >= v_since and c.created_at < v_until and c.topic is not null
      group by c.topic having count(*) >= p_min_samples
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
    if o.p95 is not null and o.p95 > p_latency_p95_ms then
      v_found := v_found || public.upsert_insight(p_prompt_key, v_version.id, 'latency', null,
        jsonb_build_object('p95_ms', round(o.p95::numeric), 'p50_ms', round(o.p50::numeric), 'budget_ms', p_latency_p95_ms, 'n', o.n),
        case when o.p95 > 2 * p_latency_p95_ms then 'high' when o.p95 > 1.5 * p_latency_p95_ms then 'medium' else 'low' end, true);
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
      select count(*)::double precision as n, count(*) filter (where x.success)::double precision as s into prev
      from (select c.success from public.ai_conversations c
            where c.version_id = v_prev_id order by c.created_at desc limit greatest(o.n::integer, p_min_samples) * 4) x;
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
      'latency_p95_ms', round(o.p95::numeric)),
    'insights', v_found,
    'actionable', (select count(*) from jsonb_array_elements(v_found) f where (f ->> 'is_actionable')::boolean));
end
$$;

create function public.list_insights(p_prompt_key text, p_status text default 'open') returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
begin
  perform public._check_prompt_key(p_prompt_key);
  if p_status is not null and p_status not in ('open', 'resolved') then
    perform public._invalid('status must be open or resolved');
  end if;
  return coalesce((
    select jsonb_agg(to_jsonb(i) order by i.severity desc, i.last_seen_at desc)
    from public.ai_pattern_insights i
    where i.prompt_key = p_prompt_key and (p_status is null or i.status = p_status::public.insight_status)
  ), '[]'::jsonb);
end
$$;

-- Prompt keys with an active version and traffic since p_since: what the hourly sweep analyzes.
create function public.prompt_keys_with_traffic(p_since timestamptz, p_min_conversations integer default 1) returns jsonb
language sql stable security invoker set search_path = '' as $$
  select coalesce(jsonb_agg(jsonb_build_object('prompt_key', t.prompt_key, 'conversations', t.n,
                                               'live_experiment', t.live) order by t.prompt_key), '[]'::jsonb)
  from (
    select v.prompt_key, count(c.id) as n,
           exists (select 1 from public.ai_ab_experiments e where e.prompt_key = v.prompt_key and e.status <> 'concluded') as live
    from public.ai_prompt_versions v
    join public.ai_conversations c on c.version_id = v.id and c.created_at >= p_since
    where v.status = 'active'
    group by v.prompt_key
    having count(c.id) >= greatest(coalesce(p_min_conversations, 1), 1)
  ) t
$$;
