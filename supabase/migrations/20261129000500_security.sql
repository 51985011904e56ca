-- Access: RLS on every table, nothing for anon/authenticated (Supabase grants them the public
-- schema by default privileges, so revoke explicitly), service_role may do what the worker needs.
-- Functions execute as the caller (security invoker), so service_role also needs table rights.

do $$
declare
  t text;
  f record;
begin
  foreach t in array array['ai_prompt_versions', 'ai_ab_experiments', 'ai_experiment_arms', 'ai_conversations',
                           'ai_pattern_insights', 'ai_experiment_snapshots', 'ai_promotion_events', 'optimization_jobs']
  loop
    execute format('alter table public.%I enable row level security', t);
    execute format('revoke all on table public.%I from public, anon, authenticated', t);
    execute format('grant select, insert, update, delete on table public.%I to service_role', t);
    execute format('create policy %I on public.%I for all to service_role using (true) with check (true)',
                   'service_role_all_' || t, t);
  end loop;

  for f in
    select p.oid::regprocedure as sig from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.prokind = 'f'
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f.sig);
    execute format('grant execute on function %s to service_role', f.sig);
  end loop;
end
$$;

revoke all on all sequences in schema public from public, anon, authenticated;
grant usage, select on all sequences in schema public to service_role;
grant usage on schema public to service_role;
grant usage on type public.prompt_status, public.job_type, public.job_status, public.experiment_status,
  public.experiment_outcome, public.experiment_metric, public.promotion_kind, public.insight_kind,
  public.insight_severity, public.insight_status to service_role;

-- Functions created by later migrations must not be executable by everyone either.
alter default privileges in schema public revoke execute on functions from public;
