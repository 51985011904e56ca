-- The database API, part 2: experiments, snapshots, promotion and rollback.

create function public._experiment_json(p_id uuid) returns jsonb
language sql stable security invoker set search_path = '' as $$
  select to_jsonb(e) || jsonb_build_object('arms', coalesce((
           select jsonb_agg(jsonb_build_object('arm', a.arm, 'version_id', a.version_id, 'weight', a.weight,
                                               'version', v.version) order by a.arm)
           from public.ai_experiment_arms a join public.ai_prompt_versions v on v.id = a.version_id
           where a.experiment_id = e.id), '[]'::jsonb))
  from public.ai_ab_experiments e where e.id = p_id
$$;

-- Creates an experiment: arm 0 is the key's active version, then the given candidate versions.
-- Weights default to an equal split. A retry with the same idempotency key returns the same
-- experiment ("created": false); another live experiment on the key is a conflict.
create function public.create_experiment(
  p_prompt_key text,
  p_variant_version_ids uuid[],
  p_weights numeric[] default null,
  p_metric text default 'success',
  p_policy jsonb default '{}'::jsonb,
  p_idempotency_key text default null,
  p_workflow_id text default null
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_existing uuid;
  v_control public.ai_prompt_versions;
  v_exp public.ai_ab_experiments;
  v_arms integer;
  v_weights numeric[];
  v_i integer;
begin
  perform public._check_prompt_key(p_prompt_key);
  if p_idempotency_key is not null then
    select id into v_existing from public.ai_ab_experiments where idempotency_key = p_idempotency_key;
    if found then
      return public._experiment_json(v_existing) || jsonb_build_object('created', false);
    end if;
  end if;
  if p_variant_version_ids is null or cardinality(p_variant_version_ids) not between 1 and 15 then
    perform public._invalid('variant_version_ids must list 1 to 15 versions');
  end if;
  if (select count(distinct x) from unnest(p_variant_version_ids) x) <> cardinality(p_variant_version_ids) then
    perform public._invalid('variant_version_ids must not repeat a version');
  end if;
  if p_metric is null or p_metric not in ('success', 'rating') then
    perform public._invalid('metric must be success or rating');
  end if;
  if p_policy is null or jsonb_typeof(p_policy) <> 'object' then
    perform public._invalid('policy must be a JSON object');
  end if;
  v_arms := cardinality(p_variant_version_ids) + 1;
  if p_weights is null then
    select array_agg(round(1.0 / v_arms, 5) + case when g = 1 then 1 - round(1.0 / v_arms, 5) * v_arms else 0 end)
    into v_weights from generate_series(1, v_arms) g;
  else
    if cardinality(p_weights) <> v_arms then
      perform public._invalid(format('weights must have %s entries (control first), got %s', v_arms, cardinality(p_weights)));
    end if;
    if exists (select 1 from unnest(p_weights) w where w is null or w <= 0 or w > 1) then
      perform public._invalid('each weight must be in (0, 1]');
    end if;
    if abs((select sum(w) from unnest(p_weights) w) - 1) > 0.0001 then
      perform public._invalid('weights must sum to 1');
    end if;
    v_weights := p_weights;
  end if;

  select * into v_control from public.ai_prompt_versions where prompt_key = p_prompt_key and status = 'active';
  if not found then
    raise exception 'prompt key % has no active version', p_prompt_key using errcode = 'P0002';
  end if;
  for v_i in 1 .. cardinality(p_variant_version_ids) loop
    if not exists (select 1 from public.ai_prompt_versions
                   where id = p_variant_version_ids[v_i] and prompt_key = p_prompt_key and status = 'candidate') then
      perform public._invalid(format('version %s is not a candidate version of %s', p_variant_version_ids[v_i], p_prompt_key));
    end if;
  end loop;
  if exists (select 1 from public.ai_ab_experiments where prompt_key = p_prompt_key and status <> 'concluded') then
    raise exception 'prompt key % already has a live experiment', p_prompt_key using errcode = '55000';
  end if;

  insert into public.ai_ab_experiments (prompt_key, control_version_id, metric, policy, idempotency_key, workflow_id)
  values (p_prompt_key, v_control.id, p_metric::public.experiment_metric, p_policy, p_idempotency_key, p_workflow_id)
  returning * into v_exp;
  insert into public.ai_experiment_arms (experiment_id, arm, version_id, weight)
  values (v_exp.id, 0, v_control.id, v_weights[1]);
  for v_i in 1 .. cardinality(p_variant_version_ids) loop
    insert into public.ai_experiment_arms (experiment_id, arm, version_id, weight)
    values (v_exp.id, v_i, p_variant_version_ids[v_i], v_weights[v_i + 1]);
  end loop;
  return public._experiment_json(v_exp.id) || jsonb_build_object('created', true);
end
$$;

create function public.get_experiment(p_experiment_id uuid) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
declare
  v jsonb := public._experiment_json(p_experiment_id);
begin
  if v is null then
    raise exception 'experiment % not found', p_experiment_id using errcode = 'P0002';
  end if;
  return v;
end
$$;

create function public.list_experiments(p_status text default null, p_prompt_key text default null, p_limit integer default 50)
returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
begin
  if p_status is not null and not (p_status = any (enum_range(null::public.experiment_status)::text[])) then
    perform public._invalid('status must be running, paused or concluded');
  end if;
  if p_prompt_key is not null then
    perform public._check_prompt_key(p_prompt_key);
  end if;
  if p_limit is null or p_limit not between 1 and 500 then
    perform public._invalid('limit must be between 1 and 500');
  end if;
  return coalesce((
    select jsonb_agg(public._experiment_json(e.id) order by e.created_at desc)
    from (select id, created_at from public.ai_ab_experiments
          where (p_status is null or status = p_status::public.experiment_status)
            and (p_prompt_key is null or prompt_key = p_prompt_key)
          order by created_at desc limit p_limit) e
  ), '[]'::jsonb);
end
$$;

-- Pause stops routing traffic to variants (everyone gets control); resume routes it again.
create function public.set_experiment_status(p_experiment_id uuid, p_status text) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_exp public.ai_ab_experiments;
begin
  if p_status is null or p_status not in ('running', 'paused') then
    perform public._invalid('status must be running or paused');
  end if;
  select * into v_exp from public.ai_ab_experiments where id = p_experiment_id for update;
  if not found then
    raise exception 'experiment % not found', p_experiment_id using errcode = 'P0002';
  end if;
  if v_exp.status = 'concluded' then
    raise exception 'experiment % is concluded', p_experiment_id using errcode = '55000';
  end if;
  update public.ai_ab_experiments set status = p_status::public.experiment_status where id = p_experiment_id;
  return public._experiment_json(p_experiment_id);
end
$$;

create function public.set_experiment_workflow(p_experiment_id uuid, p_workflow_id text, p_stale boolean default false)
returns jsonb
language plpgsql security invoker set search_path = '' as $$
begin
  update public.ai_ab_experiments
  set workflow_id = coalesce(p_workflow_id, workflow_id),
      stale_since = case when p_stale then coalesce(stale_since, now()) end
  where id = p_experiment_id;
  if not found then
    raise exception 'experiment % not found', p_experiment_id using errcode = 'P0002';
  end if;
  return public._experiment_json(p_experiment_id);
end
$$;

-- Per-arm aggregates for the decision engine; computed in SQL so the worker never loads rows.
create function public.experiment_arm_stats(p_experiment_id uuid) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
begin
  if not exists (select 1 from public.ai_ab_experiments where id = p_experiment_id) then
    raise exception 'experiment % not found', p_experiment_id using errcode = 'P0002';
  end if;
  return (
    select jsonb_agg(jsonb_build_object(
      'arm', a.arm, 'versionId', a.version_id, 'weight', a.weight,
      'n', coalesce(s.n, 0), 'successes', coalesce(s.successes, 0),
      'ratingN', coalesce(s.rating_n, 0), 'ratingSum', coalesce(s.rating_sum, 0), 'ratingSumSq', coalesce(s.rating_sumsq, 0),
      'errors', coalesce(s.errors, 0), 'latencyP95', s.latency_p95, 'tokensMean', s.tokens_mean) order by a.arm)
    from public.ai_experiment_arms a
    left join lateral (
      select count(*) as n,
             count(*) filter (where c.success) as successes,
             count(c.rating) as rating_n,
             coalesce(sum(c.rating), 0) as rating_sum,
             coalesce(sum(c.rating * c.rating), 0) as rating_sumsq,
             count(*) filter (where c.error is not null) as errors,
             percentile_cont(0.95) within group (order by c.latency_ms) as latency_p95,
             avg(c.tokens)::double precision as tokens_mean
      from public.ai_conversations c
      where c.experiment_id = a.experiment_id and c.arm = a.arm
    ) s on true
    where a.experiment_id = p_experiment_id
  );
end
$$;

-- One row per monitoring check; a retried check (same check_no) returns the first row.
create function public.write_snapshot(
  p_experiment_id uuid, p_check_no integer, p_arms jsonb, p_decision jsonb, p_memory jsonb default '{}'::jsonb
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_row public.ai_experiment_snapshots;
begin
  if p_check_no is null or p_check_no < 1 then
    perform public._invalid('check_no must be a positive integer');
  end if;
  if jsonb_typeof(p_arms) is distinct from 'array' or jsonb_typeof(p_decision) is distinct from 'object' then
    perform public._invalid('arms must be a JSON array and decision a JSON object');
  end if;
  if not exists (select 1 from public.ai_ab_experiments where id = p_experiment_id) then
    raise exception 'experiment % not found', p_experiment_id using errcode = 'P0002';
  end if;
  insert into public.ai_experiment_snapshots (experiment_id, check_no, arms, decision, memory)
  values (p_experiment_id, p_check_no, p_arms, p_decision, coalesce(p_memory, '{}'::jsonb))
  on conflict (experiment_id, check_no) do nothing
  returning * into v_row;
  if not found then
    select * into v_row from public.ai_experiment_snapshots where experiment_id = p_experiment_id and check_no = p_check_no;
    return to_jsonb(v_row) || jsonb_build_object('created', false);
  end if;
  return to_jsonb(v_row) || jsonb_build_object('created', true);
end
$$;

create function public.list_snapshots(p_experiment_id uuid, p_after_check integer default 0) returns jsonb
language sql stable security invoker set search_path = '' as $$
  select coalesce(jsonb_agg(to_jsonb(s) order by s.check_no), '[]'::jsonb)
  from public.ai_experiment_snapshots s
  where s.experiment_id = p_experiment_id and s.check_no > coalesce(p_after_check, 0)
$$;

create function public.latest_snapshot(p_experiment_id uuid) returns jsonb
language sql stable security invoker set search_path = '' as $$
  select to_jsonb(s) from public.ai_experiment_snapshots s
  where s.experiment_id = p_experiment_id order by s.check_no desc limit 1
$$;

-- Atomically: archive the active version, activate the winner, conclude the experiment
-- (other candidates rejected), write the promotion event. A repeated call returns the first
-- result with "created": false; promoting a different version afterwards is a conflict.
create function public.promote_variant(
  p_experiment_id uuid,
  p_version_id uuid,
  p_kind text default 'auto',
  p_actor text default 'optimizer',
  p_reason text default 'promoted',
  p_decision jsonb default null
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_exp public.ai_ab_experiments;
  v_event public.ai_promotion_events;
  v_active public.ai_prompt_versions;
begin
  if p_kind is null or p_kind not in ('auto', 'approval', 'manual') then
    perform public._invalid('kind must be auto, approval or manual');
  end if;
  if p_actor is null or length(p_actor) not between 1 and 200 then
    perform public._invalid('actor must be 1-200 characters');
  end if;
  if p_reason is null or length(p_reason) not between 1 and 2000 then
    perform public._invalid('reason must be 1-2000 characters');
  end if;
  select * into v_exp from public.ai_ab_experiments where id = p_experiment_id for update;
  if not found then
    raise exception 'experiment % not found', p_experiment_id using errcode = 'P0002';
  end if;
  select * into v_event from public.ai_promotion_events where experiment_id = p_experiment_id;
  if found then
    if v_event.to_version_id <> p_version_id then
      raise exception 'experiment % already promoted version %', p_experiment_id, v_event.to_version_id using errcode = '55000';
    end if;
    return to_jsonb(v_event) || jsonb_build_object('created', false);
  end if;
  if v_exp.status = 'concluded' then
    raise exception 'experiment % is already concluded (%)', p_experiment_id, v_exp.outcome using errcode = '55000';
  end if;
  if not exists (select 1 from public.ai_experiment_arms where experiment_id = p_experiment_id and version_id = p_version_id and arm > 0) then
    perform public._invalid(format('version %s is not a variant of experiment %s', p_version_id, p_experiment_id));
  end if;

  select * into v_active from public.ai_prompt_versions where prompt_key = v_exp.prompt_key and status = 'active' for update;
  update public.ai_prompt_versions set status = 'archived' where id = v_active.id;
  update public.ai_prompt_versions set status = 'active', activated_at = now() where id = p_version_id;
  update public.ai_prompt_versions set status = 'rejected'
  where status = 'candidate' and id in (select version_id from public.ai_experiment_arms where experiment_id = p_experiment_id);
  update public.ai_ab_experiments
  set status = 'concluded', outcome = 'promoted', winner_version_id = p_version_id, decision = p_decision,
      concluded_at = now(), stale_since = null
  where id = p_experiment_id;
  insert into public.ai_promotion_events (prompt_key, from_version_id, to_version_id, experiment_id, kind, actor, reason, decision)
  values (v_exp.prompt_key, v_active.id, p_version_id, p_experiment_id, p_kind::public.promotion_kind, p_actor, p_reason, p_decision)
  returning * into v_event;
  return to_jsonb(v_event) || jsonb_build_object('created', true);
end
$$;

-- Ends an experiment without promotion; its candidates become rejected. Idempotent for the
-- same outcome; a concluded experiment is never reopened.
create function public.conclude_experiment(
  p_experiment_id uuid, p_outcome text, p_reason text, p_decision jsonb default null
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_exp public.ai_ab_experiments;
begin
  if p_outcome is null or p_outcome not in ('kept_control', 'stopped', 'guardrail_stop', 'timed_out') then
    perform public._invalid('outcome must be kept_control, stopped, guardrail_stop or timed_out');
  end if;
  if p_reason is null or length(p_reason) not between 1 and 2000 then
    perform public._invalid('reason must be 1-2000 characters');
  end if;
  select * into v_exp from public.ai_ab_experiments where id = p_experiment_id for update;
  if not found then
    raise exception 'experiment % not found', p_experiment_id using errcode = 'P0002';
  end if;
  if v_exp.status = 'concluded' then
    return public._experiment_json(p_experiment_id) || jsonb_build_object('created', false);
  end if;
  update public.ai_prompt_versions set status = 'rejected'
  where status = 'candidate' and id in (select version_id from public.ai_experiment_arms where experiment_id = p_experiment_id and arm > 0);
  update public.ai_ab_experiments
  set status = 'concluded', outcome = p_outcome::public.experiment_outcome,
      decision = coalesce(p_decision, '{}'::jsonb) || jsonb_build_object('reason', p_reason),
      concluded_at = now(), stale_since = null
  where id = p_experiment_id;
  return public._experiment_json(p_experiment_id) || jsonb_build_object('created', true);
end
$$;

-- Puts back the version that was active before the latest promotion of the key.
create function public.rollback_prompt(p_prompt_key text, p_actor text, p_reason text) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_active public.ai_prompt_versions;
  v_last public.ai_promotion_events;
  v_event public.ai_promotion_events;
begin
  perform public._check_prompt_key(p_prompt_key);
  if p_actor is null or length(p_actor) not between 1 and 200 then
    perform public._invalid('actor must be 1-200 characters');
  end if;
  if p_reason is null or length(p_reason) not between 1 and 2000 then
    perform public._invalid('reason must be 1-2000 characters');
  end if;
  perform pg_advisory_xact_lock(hashtextextended('prompt:' || p_prompt_key, 0));
  if exists (select 1 from public.ai_ab_experiments where prompt_key = p_prompt_key and status <> 'concluded') then
    raise exception 'prompt key % has a live experiment; stop it before rolling back', p_prompt_key using errcode = '55000';
  end if;
  select * into v_active from public.ai_prompt_versions where prompt_key = p_prompt_key and status = 'active' for update;
  if not found then
    raise exception 'prompt key % has no active version', p_prompt_key using errcode = 'P0002';
  end if;
  select * into v_last from public.ai_promotion_events
  where prompt_key = p_prompt_key and to_version_id = v_active.id and from_version_id is not null
    and kind <> 'rollback'
  order by created_at desc limit 1;
  if not found then
    raise exception 'prompt key % has no earlier version to roll back to', p_prompt_key using errcode = '55000';
  end if;
  update public.ai_prompt_versions set status = 'archived' where id = v_active.id;
  update public.ai_prompt_versions set status = 'active', activated_at = now() where id = v_last.from_version_id;
  insert into public.ai_promotion_events (prompt_key, from_version_id, to_version_id, kind, actor, reason)
  values (p_prompt_key, v_active.id, v_last.from_version_id, 'rollback', p_actor, p_reason)
  returning * into v_event;
  return to_jsonb(v_event);
end
$$;

create function public.list_promotion_events(p_prompt_key text default null, p_limit integer default 50) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
begin
  if p_prompt_key is not null then
    perform public._check_prompt_key(p_prompt_key);
  end if;
  if p_limit is null or p_limit not between 1 and 500 then
    perform public._invalid('limit must be between 1 and 500');
  end if;
  return coalesce((
    select jsonb_agg(to_jsonb(e) order by e.created_at desc)
    from (select * from public.ai_promotion_events
          where p_prompt_key is null or prompt_key = p_prompt_key
          order by created_at desc limit p_limit) e
  ), '[]'::jsonb);
end
$$;
