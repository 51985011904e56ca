-- Review before exposure (issue 10): generated variants can wait as candidates until an operator
-- accepts or rejects each one. The optimization cycle asks for the reviews (one row per version
-- and waiting workflow), records every decision through its `reviewVariant` update, and expires
-- what is still pending at its deadline. A version waiting for review cannot be put into an
-- experiment (trigger below), whatever code asks; a rejected one is no longer a candidate.
-- Errors as elsewhere: 22023 bad argument, P0002 not found, 55000 wrong state.

create type public.review_status as enum ('pending', 'accepted', 'rejected', 'expired');

create table public.ai_variant_reviews (
  id uuid primary key default gen_random_uuid(),
  prompt_key text not null,
  version_id uuid not null references public.ai_prompt_versions (id),
  workflow_id text not null check (length(workflow_id) between 1 and 200),
  status public.review_status not null default 'pending',
  requested_at timestamptz not null default now(),
  deadline timestamptz not null,
  decided_by text check (decided_by is null or length(decided_by) between 1 and 200),
  note text check (note is null or length(note) <= 2000),
  decided_at timestamptz,
  -- A retried request finds its rows instead of adding more.
  unique (version_id, workflow_id),
  -- Accepted and rejected name the reviewer; expired (the deadline passed) names nobody.
  check ((status in ('accepted', 'rejected')) = (decided_by is not null)),
  check ((status = 'pending') = (decided_at is null))
);
create index ai_variant_reviews_status on public.ai_variant_reviews (status, requested_at desc);

alter table public.ai_variant_reviews enable row level security;
revoke all on table public.ai_variant_reviews from public, anon, authenticated;
grant select, insert, update, delete on table public.ai_variant_reviews to service_role;
create policy service_role_all_ai_variant_reviews on public.ai_variant_reviews for all to service_role using (true) with check (true);
grant usage on type public.review_status to service_role;

create function public._review_json(p_review public.ai_variant_reviews) returns jsonb
language sql stable set search_path = '' as $$
  select to_jsonb(p_review) || jsonb_build_object(
    'version', v.version, 'content', v.content, 'rationale', v.rationale, 'strategy', v.strategy,
    'version_status', v.status, 'parent_version_id', v.parent_version_id, 'parent_content', p.content)
  from public.ai_prompt_versions v
  left join public.ai_prompt_versions p on p.id = v.parent_version_id
  where v.id = p_review.version_id
$$;

create function public._check_review_workflow(p_workflow_id text) returns void
language plpgsql immutable set search_path = '' as $$
begin
  if p_workflow_id is null or length(p_workflow_id) not between 1 and 200 then
    perform public._invalid('workflow_id must be 1-200 characters');
  end if;
end
$$;

-- Opens a review for each version (candidates of the key), for the workflow that will wait for
-- the decisions. Idempotent: asking again returns the rows already there, decided or not.
create function public.request_variant_reviews(
  p_prompt_key text,
  p_version_ids uuid[],
  p_workflow_id text,
  p_deadline timestamptz
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_i integer;
begin
  perform public._check_prompt_key(p_prompt_key);
  perform public._check_review_workflow(p_workflow_id);
  if p_version_ids is null or cardinality(p_version_ids) not between 1 and 15 then
    perform public._invalid('version_ids must list 1 to 15 versions');
  end if;
  if (select count(distinct x) from unnest(p_version_ids) x) <> cardinality(p_version_ids) then
    perform public._invalid('version_ids must not repeat a version');
  end if;
  if p_deadline is null then
    perform public._invalid('deadline is required');
  end if;
  for v_i in 1 .. cardinality(p_version_ids) loop
    if not exists (select 1 from public.ai_variant_reviews where version_id = p_version_ids[v_i] and workflow_id = p_workflow_id)
       and not exists (select 1 from public.ai_prompt_versions
                       where id = p_version_ids[v_i] and prompt_key = p_prompt_key and status = 'candidate') then
      perform public._invalid(format('version %s is not a candidate version of %s', p_version_ids[v_i], p_prompt_key));
    end if;
  end loop;
  insert into public.ai_variant_reviews (prompt_key, version_id, workflow_id, deadline)
  select p_prompt_key, x, p_workflow_id, p_deadline from unnest(p_version_ids) x
  on conflict (version_id, workflow_id) do nothing;
  return (select jsonb_agg(public._review_json(r) order by array_position(p_version_ids, r.version_id))
          from public.ai_variant_reviews r
          where r.workflow_id = p_workflow_id and r.version_id = any (p_version_ids));
end
$$;

-- Records an operator's decision. The same decision again is a no-op ("created": false, so a
-- retried activity is harmless); another decision after the first, or any after expiry, is
-- refused. Rejecting also retires the version (status rejected: never offered again).
create function public.decide_variant_review(
  p_version_id uuid,
  p_workflow_id text,
  p_decision text,
  p_reviewer text,
  p_note text default null
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_row public.ai_variant_reviews;
begin
  perform public._check_review_workflow(p_workflow_id);
  if p_decision is null or p_decision not in ('accepted', 'rejected') then
    perform public._invalid('decision must be accepted or rejected');
  end if;
  if p_reviewer is null or length(btrim(p_reviewer)) = 0 or length(p_reviewer) > 200 then
    perform public._invalid('reviewer must be 1-200 characters');
  end if;
  if length(p_note) > 2000 then
    perform public._invalid('note is limited to 2000 characters');
  end if;
  select * into v_row from public.ai_variant_reviews where version_id = p_version_id and workflow_id = p_workflow_id for update;
  if not found then
    raise exception 'no review of version % for workflow %', p_version_id, p_workflow_id using errcode = 'P0002';
  end if;
  if v_row.status::text = p_decision then
    return public._review_json(v_row) || jsonb_build_object('created', false);
  end if;
  if v_row.status <> 'pending' then
    raise exception 'the review of version % is already %', p_version_id, v_row.status using errcode = '55000';
  end if;
  update public.ai_variant_reviews
  set status = p_decision::public.review_status, decided_by = p_reviewer, note = p_note, decided_at = now()
  where id = v_row.id
  returning * into v_row;
  if p_decision = 'rejected' then
    update public.ai_prompt_versions set status = 'rejected' where id = p_version_id and status = 'candidate';
  end if;
  return public._review_json(v_row) || jsonb_build_object('created', true);
end
$$;

-- The deadline passed: what is still pending for the workflow expires (the versions stay
-- candidates, unreviewed; a later cycle that proposes them asks again). Returns the expired rows.
create function public.expire_variant_reviews(p_workflow_id text) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_ids uuid[];
begin
  perform public._check_review_workflow(p_workflow_id);
  with expired as (
    update public.ai_variant_reviews set status = 'expired', decided_at = now()
    where workflow_id = p_workflow_id and status = 'pending'
    returning id
  )
  select array_agg(id) into v_ids from expired;
  -- A separate statement: the update's own query would still see the rows as they were.
  return coalesce((select jsonb_agg(public._review_json(r) order by r.requested_at, r.version_id)
                   from public.ai_variant_reviews r where r.id = any (v_ids)), '[]'::jsonb);
end
$$;

-- Reviews, newest first, with the version's content and its parent's (for a diff). Filters are
-- optional; p_status null means every status.
create function public.list_variant_reviews(
  p_status text default 'pending',
  p_prompt_key text default null,
  p_version_id uuid default null,
  p_limit integer default 100
) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
begin
  if p_status is not null and p_status not in ('pending', 'accepted', 'rejected', 'expired') then
    perform public._invalid('status must be pending, accepted, rejected or expired');
  end if;
  if p_prompt_key is not null then
    perform public._check_prompt_key(p_prompt_key);
  end if;
  if p_limit is null or p_limit not between 1 and 500 then
    perform public._invalid('limit must be between 1 and 500');
  end if;
  return coalesce((
    select jsonb_agg(public._review_json(r) order by r.requested_at desc, r.id)
    from public.ai_variant_reviews r
    where r.id in (select x.id from public.ai_variant_reviews x
                   where (p_status is null or x.status::text = p_status)
                     and (p_prompt_key is null or x.prompt_key = p_prompt_key)
                     and (p_version_id is null or x.version_id = p_version_id)
                   order by x.requested_at desc, x.id
                   limit p_limit)
  ), '[]'::jsonb);
end
$$;

-- No arm may serve a version that is waiting for review: the last line of "review before
-- exposure", should any caller skip the workflow's wait.
create function public.ai_experiment_arms_not_under_review() returns trigger
language plpgsql set search_path = '' as $$
begin
  if exists (select 1 from public.ai_variant_reviews where version_id = new.version_id and status = 'pending') then
    raise exception 'version % is waiting for review and cannot be put into an experiment', new.version_id using errcode = '55000';
  end if;
  return new;
end
$$;

create trigger ai_experiment_arms_not_under_review
  before insert or update of version_id on public.ai_experiment_arms
  for each row execute function public.ai_experiment_arms_not_under_review();

do $$
declare
  f record;
begin
  for f in
    select p.oid::regprocedure as sig from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.proname in (
      '_review_json', '_check_review_workflow', 'request_variant_reviews', 'decide_variant_review', 'expire_variant_reviews',
      'list_variant_reviews', 'ai_experiment_arms_not_under_review')
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f.sig);
    execute format('grant execute on function %s to service_role', f.sig);
  end loop;
end
$$;
