-- Intake gives up on a job after a bounded number of claims (issue 14).
--
-- A pending job whose workflow job-<id> was terminated (or failed) before its start_job activity
-- ran stays pending: every intake run claims it, finds the workflow id already used
-- (REJECT_DUPLICATE) and lets the lease expire, forever. claim_next_job now counts claims and,
-- once a job has been claimed p_max_claims times without being started, marks it failed with the
-- reason instead of claiming it again, and goes on to the next claimable job.

drop function public.claim_next_job(text, integer);

create function public.claim_next_job(p_worker text, p_lease_seconds integer default 60, p_max_claims integer default 10)
returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_job public.optimization_jobs;
begin
  if p_worker is null or length(p_worker) not between 1 and 200 then
    perform public._invalid('worker must be 1-200 characters');
  end if;
  if p_lease_seconds is null or p_lease_seconds not between 1 and 86400 then
    perform public._invalid('lease_seconds must be between 1 and 86400');
  end if;
  if p_max_claims is null or p_max_claims not between 1 and 1000 then
    perform public._invalid('max_claims must be between 1 and 1000');
  end if;
  loop
    select * into v_job from public.optimization_jobs
    where status = 'pending' and (lease_expires_at is null or lease_expires_at < now())
    order by created_at, id
    limit 1
    for update skip locked;
    if not found then
      return null;
    end if;
    if v_job.attempts < p_max_claims then
      update public.optimization_jobs
      set lease_owner = p_worker, lease_expires_at = now() + make_interval(secs => p_lease_seconds),
          attempts = attempts + 1, updated_at = now()
      where id = v_job.id
      returning * into v_job;
      return to_jsonb(v_job);
    end if;
    update public.optimization_jobs
    set status = 'failed', finished_at = now(), lease_owner = null, lease_expires_at = null, updated_at = now(),
        error = format('intake gave up after %s claims: no workflow started this job (its workflow job-%s was '
                       'terminated or failed before it could start it); create the job again to run it',
                       v_job.attempts, v_job.id)
    where id = v_job.id;
  end loop;
end
$$;

revoke all on function public.claim_next_job(text, integer, integer) from public, anon, authenticated;
grant execute on function public.claim_next_job(text, integer, integer) to service_role;
