-- Hardening found by the security and concurrency tests.

-- 1. Functions created later must not be executable by PUBLIC (and so by anon/authenticated).
--    Per-schema default privileges cannot remove a global default, so revoke globally for the
--    migrating role; on Supabase, also revoke the per-schema grants it gives anon/authenticated.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from anon, authenticated;
alter default privileges in schema public revoke all on tables from anon, authenticated;
alter default privileges in schema public revoke all on sequences from anon, authenticated;

-- 2. create_experiment: take the per-key lock before the idempotency lookup.
create or replace function public.create_experiment(
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
  -- Serialize per key: a retry with the same idempotency key waits for the first call and gets
  -- its experiment back instead of a unique violation.
  perform pg_advisory_xact_lock(hashtextextended('prompt:' || p_prompt_key, 0));
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
