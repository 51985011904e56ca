-- Totals for /health (issue 14). The counters /health reports under `stats` count what one worker
-- process did since it started; these are the same facts read from the database: every worker,
-- every restart. Small tables only (no count over ai_conversations), so /health stays cheap.

create function public.health_totals() returns jsonb
language sql stable security invoker set search_path = '' as $$
  select jsonb_build_object(
    'jobs', (
      select jsonb_build_object(
        'pending', count(*) filter (where status = 'pending'),
        'running', count(*) filter (where status = 'running'),
        'completed', count(*) filter (where status = 'completed'),
        'failed', count(*) filter (where status = 'failed'))
      from public.optimization_jobs),
    'experiments', (
      select jsonb_build_object(
        'running', count(*) filter (where status = 'running'),
        'paused', count(*) filter (where status = 'paused'),
        'concluded', count(*) filter (where status = 'concluded'),
        'promoted', count(*) filter (where outcome = 'promoted'))
      from public.ai_ab_experiments),
    'promptKeys', (select count(distinct prompt_key) from public.ai_prompt_versions),
    'promptVersions', (select count(*) from public.ai_prompt_versions),
    'promotions', (select count(*) from public.ai_promotion_events where kind <> 'rollback'),
    'rollbacks', (select count(*) from public.ai_promotion_events where kind = 'rollback')
  )
$$;

revoke all on function public.health_totals() from public, anon, authenticated;
grant execute on function public.health_totals() to service_role;
