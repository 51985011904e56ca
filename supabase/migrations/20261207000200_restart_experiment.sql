-- Restart an experiment as a new one (issue 12): what an operator does once a sample ratio
-- mismatch has tripped and the assignment is fixed. The evidence of the old experiment is not
-- carried over (it was gathered under a broken assignment); the new experiment has its own id, so
-- the deterministic assignment buckets every subject afresh.
--
-- One transaction: the old experiment is concluded as `stopped` with its candidates left as
-- candidates (conclude_experiment would reject them), and a new experiment with the same control,
-- variants, weights, metric and policy is created. A retry returns the experiment the first call
-- created (idempotency key `restart:<old id>`), so a crash between the HTTP call and its answer
-- never makes two.
create function public.restart_experiment(p_experiment_id uuid, p_actor text, p_reason text) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_old public.ai_ab_experiments;
  v_new public.ai_ab_experiments;
  v_existing uuid;
  v_key text := 'restart:' || p_experiment_id::text;
begin
  if p_actor is null or length(p_actor) not between 1 and 200 then
    perform internal._invalid('actor must be 1-200 characters');
  end if;
  if p_reason is null or length(p_reason) not between 1 and 2000 then
    perform internal._invalid('reason must be 1-2000 characters');
  end if;
  select * into v_old from public.ai_ab_experiments where id = p_experiment_id;
  if not found then
    raise exception 'experiment % not found', p_experiment_id using errcode = 'P0002';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('prompt:' || v_old.prompt_key, 0));
  select id into v_existing from public.ai_ab_experiments where idempotency_key = v_key;
  if found then
    return internal._experiment_json(v_existing) || jsonb_build_object('created', false, 'restartedFrom', p_experiment_id);
  end if;
  select * into v_old from public.ai_ab_experiments where id = p_experiment_id for update;
  if v_old.status = 'concluded' then
    raise exception 'experiment % is already concluded (%); start a new cycle instead', p_experiment_id, v_old.outcome
      using errcode = '55000';
  end if;

  update public.ai_ab_experiments
  set status = 'concluded', outcome = 'stopped', concluded_at = now(), stale_since = null,
      decision = coalesce(decision, '{}'::jsonb)
        || jsonb_build_object('reason', format('Restarted as a new experiment by %s: %s', p_actor, p_reason))
  where id = p_experiment_id;

  insert into public.ai_ab_experiments (prompt_key, control_version_id, metric, policy, idempotency_key)
  values (v_old.prompt_key, v_old.control_version_id, v_old.metric, v_old.policy, v_key)
  returning * into v_new;
  insert into public.ai_experiment_arms (experiment_id, arm, version_id, weight)
  select v_new.id, a.arm, a.version_id, a.weight from public.ai_experiment_arms a where a.experiment_id = p_experiment_id;
  return internal._experiment_json(v_new.id) || jsonb_build_object('created', true, 'restartedFrom', p_experiment_id);
end
$$;

revoke all on function public.restart_experiment(uuid, text, text) from public, anon, authenticated;
grant execute on function public.restart_experiment(uuid, text, text) to service_role;
