-- Guarded rollouts (issue 15): a promotion ramps the winner in steps and keeps a holdback of the
-- previous version for a watch period; the watch rolls back automatically when the new version is
-- shown worse. Everything that changes serving is one function here, atomic and idempotent:
--
--   * promote_variant gains p_rollout: the promotion and the rollout start in one transaction, so
--     no instant exists where the winner has all traffic and the holdback is lost;
--   * advance_rollout / set_rollout_held / complete_rollout / rollback_rollout move a live rollout,
--     each writing an ai_rollout_events row (the audit trail); rollback_rollout flips the active
--     version back, closes the rollout and writes a `rollback` promotion event with its mode
--     (`auto` from the watch, `manual` from an operator) and the evidence, all at once;
--   * rollback_prompt on a key with a live rollout is that manual rollback.
--
-- Serving: a live rollout splits its key like an experiment, through the same bucket
-- (internal.assignment_bucket(rollout id, subject)) and arm walk: arm 0 is the holdback (the
-- previous version) with weight holdback_weight, arm 1 the promoted version. The holdback only
-- shrinks between steps and the bucket of a subject never changes, so a subject moves at most once
-- (holdback -> promoted) during a ramp. serving_snapshot shows the rollout in the `experiment`
-- slot (with "kind": "rollout") so the host-app SDK assigns locally without a change.
--
-- Attribution: a conversation served during a rollout counts for it when the subject's bucket
-- maps to the version that served it (the database recomputes, it does not trust the client), as
-- for experiments; it records the step it was served in, so the statistics can compare the arms
-- within steps (the arms' shares change between steps, and time trends must not leak into the
-- comparison).
--
-- A key with a live rollout gets no new experiment (a trigger refuses it, and the sweep's
-- prompt_keys_with_traffic reports the key as live): two splits on one key would take traffic
-- from the holdback.
-- Errors as elsewhere: 22023 bad argument, P0002 not found, 55000 conflict with the state.

create table public.ai_rollouts (
  id uuid primary key default gen_random_uuid(),
  prompt_key text not null,
  experiment_id uuid not null unique references public.ai_ab_experiments (id),
  promoted_version_id uuid not null references public.ai_prompt_versions (id),
  holdback_version_id uuid not null references public.ai_prompt_versions (id),
  -- {steps: [{share, holdHours}], holdbackShare, watchHours, margin}: validated by _check_rollout_plan.
  plan jsonb not null,
  step integer not null default 0,
  holdback_weight double precision not null check (holdback_weight >= 0 and holdback_weight < 1),
  status text not null default 'live' check (status in ('live', 'completed', 'rolled_back')),
  held boolean not null default false,
  reason text,
  started_at timestamptz not null default now(),
  step_started_at timestamptz not null default now(),
  ended_at timestamptz,
  check (promoted_version_id <> holdback_version_id),
  check ((status = 'live') = (ended_at is null))
);
-- One live rollout per key: the serving split is unambiguous.
create unique index ai_rollouts_one_live on public.ai_rollouts (prompt_key) where status = 'live';
create index ai_rollouts_key on public.ai_rollouts (prompt_key, started_at desc);

create table public.ai_rollout_events (
  id bigint generated always as identity primary key,
  rollout_id uuid not null references public.ai_rollouts (id),
  kind text not null check (kind in ('started', 'advanced', 'held', 'resumed', 'completed', 'rolled_back')),
  mode text not null check (mode in ('auto', 'manual')),
  actor text not null,
  reason text not null,
  step integer not null,
  evidence jsonb,
  created_at timestamptz not null default now()
);
create index ai_rollout_events_rollout on public.ai_rollout_events (rollout_id, id);
-- A rollout starts, completes and rolls back at most once; it advances from each step at most once.
create unique index ai_rollout_events_once on public.ai_rollout_events (rollout_id, kind)
  where kind in ('started', 'completed', 'rolled_back');
create unique index ai_rollout_events_advance_once on public.ai_rollout_events (rollout_id, step) where kind = 'advanced';

-- One row per watch check, as ai_experiment_snapshots for experiments: a retried check finds its
-- decision here instead of deciding again.
create table public.ai_rollout_checks (
  rollout_id uuid not null references public.ai_rollouts (id),
  check_no integer not null check (check_no >= 1),
  arms jsonb not null,
  decision jsonb not null,
  memory jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  primary key (rollout_id, check_no)
);

alter table public.ai_conversations
  add column rollout_id uuid references public.ai_rollouts (id),
  add column rollout_arm smallint check (rollout_arm in (0, 1)),
  add column rollout_step smallint;
create index ai_conversations_rollout on public.ai_conversations (rollout_id, rollout_arm) where rollout_id is not null;

alter table public.ai_promotion_events
  add column rollout_id uuid references public.ai_rollouts (id),
  add column mode text check (mode in ('auto', 'manual'));
create unique index ai_promotion_events_one_rollback_per_rollout on public.ai_promotion_events (rollout_id)
  where rollout_id is not null and kind = 'rollback';

alter table public.ai_rollouts enable row level security;
alter table public.ai_rollout_events enable row level security;
alter table public.ai_rollout_checks enable row level security;
revoke all on public.ai_rollouts, public.ai_rollout_events, public.ai_rollout_checks from public;
do $$
begin
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    execute 'revoke all on public.ai_rollouts, public.ai_rollout_events, public.ai_rollout_checks from anon, authenticated';
  end if;
end
$$;
grant select, insert, update, delete on public.ai_rollouts, public.ai_rollout_events, public.ai_rollout_checks to service_role;
grant usage, select on sequence public.ai_rollout_events_id_seq to service_role;
create policy service_role_all_ai_rollouts on public.ai_rollouts for all to service_role using (true) with check (true);
create policy service_role_all_ai_rollout_events on public.ai_rollout_events for all to service_role using (true) with check (true);
create policy service_role_all_ai_rollout_checks on public.ai_rollout_checks for all to service_role using (true) with check (true);

---------------------------------------------------------------------------------------------
-- Helpers
---------------------------------------------------------------------------------------------

create function internal._check_text(p_value text, p_field text, p_max integer) returns void
language plpgsql immutable security invoker set search_path = '' as $$
begin
  if p_value is null or length(p_value) not between 1 and p_max then
    perform internal._invalid(format('%s must be 1-%s characters', p_field, p_max));
  end if;
end
$$;

create function internal._check_mode(p_mode text) returns void
language plpgsql immutable security invoker set search_path = '' as $$
begin
  if p_mode is null or p_mode not in ('auto', 'manual') then
    perform internal._invalid('mode must be auto or manual');
  end if;
end
$$;

-- Refuses a plan the serving split could not follow. The TypeScript policy schema checks the same
-- before a plan is written; this is the database's own guard.
create function internal._check_rollout_plan(p jsonb) returns void
language plpgsql immutable security invoker set search_path = '' as $$
declare
  v_step jsonb;
  v_prev double precision := 0;
  v_share double precision;
  v_ramp_hours double precision := 0;
begin
  if jsonb_typeof(p) is distinct from 'object' or jsonb_typeof(p -> 'steps') is distinct from 'array'
     or jsonb_array_length(p -> 'steps') not between 1 and 10 then
    perform internal._invalid('rollout.steps must be an array of 1 to 10 steps');
  end if;
  for v_step in select value from jsonb_array_elements(p -> 'steps') loop
    if jsonb_typeof(v_step -> 'share') is distinct from 'number' or jsonb_typeof(v_step -> 'holdHours') is distinct from 'number' then
      perform internal._invalid('rollout.steps[] must each have a numeric share and holdHours');
    end if;
    v_share := (v_step ->> 'share')::double precision;
    if not (v_share > v_prev and v_share <= 1) then
      perform internal._invalid('rollout.steps[].share must increase and stay within (0, 1]');
    end if;
    if (v_step ->> 'holdHours')::double precision not between 0 and 8760 then
      perform internal._invalid('rollout.steps[].holdHours must be between 0 and 8760');
    end if;
    v_prev := v_share;
    v_ramp_hours := v_ramp_hours + (v_step ->> 'holdHours')::double precision;
  end loop;
  if v_prev <> 1 then
    perform internal._invalid('rollout.steps must end at share 1');
  end if;
  if jsonb_typeof(p -> 'holdbackShare') is distinct from 'number' or (p ->> 'holdbackShare')::double precision not between 0 and 0.5 then
    perform internal._invalid('rollout.holdbackShare must be a number between 0 and 0.5');
  end if;
  if jsonb_typeof(p -> 'watchHours') is distinct from 'number' or (p ->> 'watchHours')::double precision not between 0 and 8760 then
    perform internal._invalid('rollout.watchHours must be a number between 0 and 8760');
  end if;
  if jsonb_typeof(p -> 'margin') is distinct from 'number' or (p ->> 'margin')::double precision not between 0 and 5 then
    perform internal._invalid('rollout.margin must be a number between 0 and 5');
  end if;
  -- The watch counts from the promotion: it must outlast the ramp, or the last step goes unwatched.
  if (p ->> 'holdbackShare')::double precision > 0 and v_ramp_hours > 0 and (p ->> 'watchHours')::double precision <= v_ramp_hours then
    perform internal._invalid('rollout.watchHours must exceed the sum of the steps'' holdHours while a holdback is kept');
  end if;
end
$$;

-- The holdback's share at a step: what the step leaves to the previous version, and never less
-- than the plan's holdback while the watch lasts.
create function internal._rollout_holdback_weight(p_plan jsonb, p_step integer) returns double precision
language sql immutable security invoker set search_path = '' as $$
  select greatest(1 - ((p_plan -> 'steps' -> p_step) ->> 'share')::double precision,
                  (p_plan ->> 'holdbackShare')::double precision)
$$;

create function internal._rollout_json(p_rollout_id uuid) returns jsonb
language sql stable security invoker set search_path = '' as $$
  select to_jsonb(r)
         || jsonb_build_object(
              'promoted_version', pv.version, 'holdback_version', hv.version,
              'steps', jsonb_array_length(r.plan -> 'steps'),
              'phase', case when r.status <> 'live' then r.status
                            when r.held then 'held'
                            when r.step < jsonb_array_length(r.plan -> 'steps') - 1 then 'ramping'
                            else 'watching' end,
              'events', (select coalesce(jsonb_agg(to_jsonb(e) order by e.id), '[]'::jsonb)
                         from public.ai_rollout_events e where e.rollout_id = r.id))
  from public.ai_rollouts r
  join public.ai_prompt_versions pv on pv.id = r.promoted_version_id
  join public.ai_prompt_versions hv on hv.id = r.holdback_version_id
  where r.id = p_rollout_id
$$;

create function internal._rollout_event(
  p_rollout public.ai_rollouts, p_kind text, p_mode text, p_actor text, p_reason text, p_evidence jsonb
) returns void
language sql security invoker set search_path = '' as $$
  insert into public.ai_rollout_events (rollout_id, kind, mode, actor, reason, step, evidence)
  values (p_rollout.id, p_kind, p_mode, p_actor, p_reason, p_rollout.step, p_evidence)
$$;

-- Locks a rollout for a state change; not found is P0002.
create function internal._lock_rollout(p_rollout_id uuid) returns public.ai_rollouts
language plpgsql security invoker set search_path = '' as $$
declare
  v public.ai_rollouts;
begin
  select * into v from public.ai_rollouts where id = p_rollout_id for update;
  if not found then
    raise exception 'rollout % not found', p_rollout_id using errcode = 'P0002';
  end if;
  return v;
end
$$;

-- The live rollout's arm for a subject (arm 0 holdback, 1 promoted), or no row.
create function internal._rollout_arm(p_prompt_key text, p_subject_id text)
returns table (rollout_id uuid, arm smallint, version_id uuid, step integer, started_at timestamptz)
language sql stable security invoker set search_path = '' as $$
  select r.id,
         case when internal.assignment_bucket(r.id, p_subject_id) < r.holdback_weight then 0 else 1 end::smallint,
         case when internal.assignment_bucket(r.id, p_subject_id) < r.holdback_weight
              then r.holdback_version_id else r.promoted_version_id end,
         r.step, r.started_at
  from public.ai_rollouts r
  where r.prompt_key = p_prompt_key and r.status = 'live' and p_subject_id is not null
$$;

-- Attribution of a new conversation to the live rollout of its key (see the header). Only rows
-- outside an experiment: a key with a live rollout has no live experiment.
create function internal.ai_conversations_rollout_attribution() returns trigger
language plpgsql security invoker set search_path = '' as $$
declare
  v record;
begin
  select * into v from internal._rollout_arm(new.prompt_key, new.subject_id);
  if found and v.version_id = new.version_id and new.created_at >= v.started_at then
    new.rollout_id := v.rollout_id;
    new.rollout_arm := v.arm;
    new.rollout_step := v.step;
  end if;
  return new;
end
$$;
create trigger ai_conversations_rollout_attribution before insert on public.ai_conversations
  for each row when (new.experiment_id is null and new.subject_id is not null)
  execute function internal.ai_conversations_rollout_attribution();

create function internal.ai_ab_experiments_no_live_rollout() returns trigger
language plpgsql security invoker set search_path = '' as $$
begin
  if exists (select 1 from public.ai_rollouts where prompt_key = new.prompt_key and status = 'live') then
    raise exception 'prompt key % has a live rollout; finish or roll it back before a new experiment', new.prompt_key
      using errcode = '55000';
  end if;
  return new;
end
$$;
create trigger ai_ab_experiments_no_live_rollout before insert on public.ai_ab_experiments
  for each row execute function internal.ai_ab_experiments_no_live_rollout();

---------------------------------------------------------------------------------------------
-- Promotion starts the rollout
---------------------------------------------------------------------------------------------

drop function public.promote_variant(uuid, uuid, text, text, text, jsonb);

-- As before (archive the active version, activate the winner, conclude the experiment, write the
-- promotion event), and with p_rollout (a plan) the rollout starts in the same transaction. A
-- plan whose holdback and steps leave the previous version nothing (one step to 100%, holdback 0)
-- is the old instant switch: no rollout. The result carries "rollout" (null without one); a
-- repeated call returns the first result with "created": false.
create function public.promote_variant(
  p_experiment_id uuid,
  p_version_id uuid,
  p_kind text default 'auto',
  p_actor text default 'optimizer',
  p_reason text default 'promoted',
  p_decision jsonb default null,
  p_rollout jsonb default null
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_exp public.ai_ab_experiments;
  v_event public.ai_promotion_events;
  v_active public.ai_prompt_versions;
  v_rollout public.ai_rollouts;
  v_weight double precision;
begin
  if p_kind is null or p_kind not in ('auto', 'approval', 'manual') then
    perform internal._invalid('kind must be auto, approval or manual');
  end if;
  perform internal._check_text(p_actor, 'actor', 200);
  perform internal._check_text(p_reason, 'reason', 2000);
  if p_rollout is not null then
    perform internal._check_rollout_plan(p_rollout);
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
    select * into v_rollout from public.ai_rollouts where experiment_id = p_experiment_id;
    return to_jsonb(v_event) || jsonb_build_object('created', false,
      'rollout', case when v_rollout.id is null then null else internal._rollout_json(v_rollout.id) end);
  end if;
  if v_exp.status = 'concluded' then
    raise exception 'experiment % is already concluded (%)', p_experiment_id, v_exp.outcome using errcode = '55000';
  end if;
  if not exists (select 1 from public.ai_experiment_arms where experiment_id = p_experiment_id and version_id = p_version_id and arm > 0) then
    perform internal._invalid(format('version %s is not a variant of experiment %s', p_version_id, p_experiment_id));
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

  v_weight := case when p_rollout is null then 0 else internal._rollout_holdback_weight(p_rollout, 0) end;
  if v_weight > 0 or jsonb_array_length(coalesce(p_rollout -> 'steps', '[]'::jsonb)) > 1 then
    insert into public.ai_rollouts (prompt_key, experiment_id, promoted_version_id, holdback_version_id, plan, holdback_weight)
    values (v_exp.prompt_key, p_experiment_id, p_version_id, v_active.id, p_rollout, v_weight)
    returning * into v_rollout;
    perform internal._rollout_event(v_rollout, 'started', case when p_kind = 'auto' then 'auto' else 'manual' end,
                                    p_actor, p_reason, p_decision);
  end if;
  return to_jsonb(v_event) || jsonb_build_object('created', true,
    'rollout', case when v_rollout.id is null then null else internal._rollout_json(v_rollout.id) end);
end
$$;

---------------------------------------------------------------------------------------------
-- Steering a live rollout
---------------------------------------------------------------------------------------------

create function public.get_rollout(p_rollout_id uuid) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
begin
  if not exists (select 1 from public.ai_rollouts where id = p_rollout_id) then
    raise exception 'rollout % not found', p_rollout_id using errcode = 'P0002';
  end if;
  return internal._rollout_json(p_rollout_id);
end
$$;

create function public.list_rollouts(p_status text default null, p_prompt_key text default null, p_limit integer default 50)
returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
begin
  if p_status is not null and p_status not in ('live', 'completed', 'rolled_back') then
    perform internal._invalid('status must be live, completed or rolled_back');
  end if;
  if p_prompt_key is not null then
    perform internal._check_prompt_key(p_prompt_key);
  end if;
  if p_limit is null or p_limit not between 1 and 500 then
    perform internal._invalid('limit must be between 1 and 500');
  end if;
  return (
    select coalesce(jsonb_agg(internal._rollout_json(r.id) order by r.started_at desc, r.id), '[]'::jsonb)
    from (select id, started_at from public.ai_rollouts
          where (p_status is null or status = p_status) and (p_prompt_key is null or prompt_key = p_prompt_key)
          order by started_at desc, id limit p_limit) r
  );
end
$$;

-- Moves the rollout from p_from_step to the next step. The caller names the step it saw, so a
-- retry (or a second operator) finds the step already taken and gets "created": false instead of
-- skipping a step.
create function public.advance_rollout(p_rollout_id uuid, p_from_step integer, p_mode text, p_actor text, p_reason text)
returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v public.ai_rollouts;
begin
  perform internal._check_mode(p_mode);
  perform internal._check_text(p_actor, 'actor', 200);
  perform internal._check_text(p_reason, 'reason', 2000);
  if p_from_step is null or p_from_step < 0 then
    perform internal._invalid('from_step must be a step number (0 or more)');
  end if;
  v := internal._lock_rollout(p_rollout_id);
  if v.step > p_from_step and v.status <> 'rolled_back' then
    return internal._rollout_json(v.id) || jsonb_build_object('created', false);
  end if;
  if v.status <> 'live' then
    raise exception 'rollout % is %', v.id, v.status using errcode = '55000';
  end if;
  if v.step < p_from_step then
    raise exception 'rollout % is at step %, not %', v.id, v.step + 1, p_from_step + 1 using errcode = '55000';
  end if;
  if v.step >= jsonb_array_length(v.plan -> 'steps') - 1 then
    raise exception 'rollout % is already at its last step; finish it to release the holdback', v.id using errcode = '55000';
  end if;
  perform internal._rollout_event(v, 'advanced', p_mode, p_actor, p_reason, null);
  update public.ai_rollouts
  set step = step + 1, holdback_weight = internal._rollout_holdback_weight(plan, step + 1), step_started_at = now()
  where id = v.id;
  return internal._rollout_json(v.id) || jsonb_build_object('created', true);
end
$$;

-- Holds the ramp where it is (the split and the watch go on; no automatic step), or resumes it.
create function public.set_rollout_held(p_rollout_id uuid, p_held boolean, p_actor text, p_reason text) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v public.ai_rollouts;
begin
  if p_held is null then
    perform internal._invalid('held must be true or false');
  end if;
  perform internal._check_text(p_actor, 'actor', 200);
  perform internal._check_text(p_reason, 'reason', 2000);
  v := internal._lock_rollout(p_rollout_id);
  if v.status <> 'live' then
    raise exception 'rollout % is %', v.id, v.status using errcode = '55000';
  end if;
  if v.held = p_held then
    return internal._rollout_json(v.id) || jsonb_build_object('created', false);
  end if;
  perform internal._rollout_event(v, case when p_held then 'held' else 'resumed' end, 'manual', p_actor, p_reason, null);
  update public.ai_rollouts set held = p_held where id = v.id;
  return internal._rollout_json(v.id) || jsonb_build_object('created', true);
end
$$;

-- Ends the rollout clean: the holdback is released (the promoted version serves everyone).
create function public.complete_rollout(p_rollout_id uuid, p_mode text, p_actor text, p_reason text, p_evidence jsonb default null)
returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v public.ai_rollouts;
begin
  perform internal._check_mode(p_mode);
  perform internal._check_text(p_actor, 'actor', 200);
  perform internal._check_text(p_reason, 'reason', 2000);
  v := internal._lock_rollout(p_rollout_id);
  if v.status = 'completed' then
    return internal._rollout_json(v.id) || jsonb_build_object('created', false);
  end if;
  if v.status <> 'live' then
    raise exception 'rollout % is %', v.id, v.status using errcode = '55000';
  end if;
  perform internal._rollout_event(v, 'completed', p_mode, p_actor, p_reason, p_evidence);
  update public.ai_rollouts set status = 'completed', holdback_weight = 0, ended_at = now(), reason = p_reason where id = v.id;
  return internal._rollout_json(v.id) || jsonb_build_object('created', true);
end
$$;

-- Atomically: the holdback's version becomes active again, the promoted one is archived, the
-- rollout closes as rolled_back, and a `rollback` promotion event records the mode and the
-- evidence. A repeated call returns the same result with "created": false; a rollout that already
-- completed is a conflict (rollback_prompt undoes a finished promotion).
create function public.rollback_rollout(p_rollout_id uuid, p_mode text, p_actor text, p_reason text, p_evidence jsonb default null)
returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v public.ai_rollouts;
  v_event public.ai_promotion_events;
begin
  perform internal._check_mode(p_mode);
  perform internal._check_text(p_actor, 'actor', 200);
  perform internal._check_text(p_reason, 'reason', 2000);
  v := internal._lock_rollout(p_rollout_id);
  perform pg_advisory_xact_lock(hashtextextended('prompt:' || v.prompt_key, 0));
  if v.status = 'rolled_back' then
    select * into v_event from public.ai_promotion_events where rollout_id = v.id and kind = 'rollback';
    return internal._rollout_json(v.id) || jsonb_build_object('created', false, 'promotion_event', to_jsonb(v_event));
  end if;
  if v.status <> 'live' then
    raise exception 'rollout % is %', v.id, v.status using errcode = '55000';
  end if;
  if not exists (select 1 from public.ai_prompt_versions where id = v.promoted_version_id and status = 'active') then
    raise exception 'rollout % no longer serves its promoted version', v.id using errcode = '55000';
  end if;
  update public.ai_prompt_versions set status = 'archived' where id = v.promoted_version_id;
  update public.ai_prompt_versions set status = 'active', activated_at = now() where id = v.holdback_version_id;
  perform internal._rollout_event(v, 'rolled_back', p_mode, p_actor, p_reason, p_evidence);
  update public.ai_rollouts set status = 'rolled_back', holdback_weight = 0, ended_at = now(), reason = p_reason where id = v.id;
  insert into public.ai_promotion_events (prompt_key, from_version_id, to_version_id, kind, actor, reason, decision, rollout_id, mode)
  values (v.prompt_key, v.promoted_version_id, v.holdback_version_id, 'rollback', p_actor, p_reason, p_evidence, v.id, p_mode)
  returning * into v_event;
  return internal._rollout_json(v.id) || jsonb_build_object('created', true, 'promotion_event', to_jsonb(v_event));
end
$$;

-- The operator's rollback of a key: during a live rollout it is that rollout's manual rollback
-- (the holdback version comes back, the watch ends), otherwise as before.
create function internal._rollback_previous(p_prompt_key text, p_actor text, p_reason text) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_active public.ai_prompt_versions;
  v_last public.ai_promotion_events;
  v_event public.ai_promotion_events;
begin
  if exists (select 1 from public.ai_ab_experiments where prompt_key = p_prompt_key and status <> 'concluded') then
    raise exception 'prompt key % has a live experiment; stop it before rolling back', p_prompt_key using errcode = '55000';
  end if;
  select * into v_active from public.ai_prompt_versions where prompt_key = p_prompt_key and status = 'active' for update;
  if not found then
    raise exception 'prompt key % has no active version', p_prompt_key using errcode = 'P0002';
  end if;
  select * into v_last from public.ai_promotion_events
  where prompt_key = p_prompt_key and to_version_id = v_active.id and from_version_id is not null and kind <> 'rollback'
  order by created_at desc limit 1;
  if not found then
    raise exception 'prompt key % has no earlier version to roll back to', p_prompt_key using errcode = '55000';
  end if;
  update public.ai_prompt_versions set status = 'archived' where id = v_active.id;
  update public.ai_prompt_versions set status = 'active', activated_at = now() where id = v_last.from_version_id;
  insert into public.ai_promotion_events (prompt_key, from_version_id, to_version_id, kind, actor, reason, mode)
  values (p_prompt_key, v_active.id, v_last.from_version_id, 'rollback', p_actor, p_reason, 'manual')
  returning * into v_event;
  return to_jsonb(v_event);
end
$$;

create or replace function public.rollback_prompt(p_prompt_key text, p_actor text, p_reason text) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_rollout uuid;
begin
  perform internal._check_prompt_key(p_prompt_key);
  perform internal._check_text(p_actor, 'actor', 200);
  perform internal._check_text(p_reason, 'reason', 2000);
  perform pg_advisory_xact_lock(hashtextextended('prompt:' || p_prompt_key, 0));
  select id into v_rollout from public.ai_rollouts where prompt_key = p_prompt_key and status = 'live';
  if v_rollout is not null then
    return public.rollback_rollout(v_rollout, 'manual', p_actor, p_reason, null) -> 'promotion_event';
  end if;
  return internal._rollback_previous(p_prompt_key, p_actor, p_reason);
end
$$;

---------------------------------------------------------------------------------------------
-- Serving and attribution
---------------------------------------------------------------------------------------------

create or replace function public.assign_prompt(p_prompt_key text, p_subject_id text) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
declare
  v_arm public.ai_experiment_arms;
  v_rollout_id uuid;
  v_rollout_arm smallint;
  v_version_id uuid;
  v_version public.ai_prompt_versions;
begin
  perform internal._check_prompt_key(p_prompt_key);
  if p_subject_id is null or length(p_subject_id) not between 1 and 200 then
    perform internal._invalid('subject_id must be 1-200 characters');
  end if;
  v_arm := internal._assigned_arm(p_prompt_key, p_subject_id);
  v_version_id := v_arm.version_id;
  if v_version_id is null then
    select r.rollout_id, r.arm, r.version_id into v_rollout_id, v_rollout_arm, v_version_id
    from internal._rollout_arm(p_prompt_key, p_subject_id) r;
  end if;
  if v_version_id is not null then
    select * into v_version from public.ai_prompt_versions where id = v_version_id;
  else
    select * into v_version from public.ai_prompt_versions where prompt_key = p_prompt_key and status = 'active';
    if not found then
      raise exception 'prompt key % has no active version', p_prompt_key using errcode = 'P0002';
    end if;
  end if;
  return jsonb_build_object(
    'prompt_key', p_prompt_key, 'version_id', v_version.id, 'version', v_version.version,
    'content', v_version.content, 'experiment_id', v_arm.experiment_id, 'arm', v_arm.arm,
    'rollout_id', v_rollout_id, 'rollout_arm', v_rollout_arm);
end
$$;

-- The split of a key the SDK reproduces: its live experiment, else its live rollout (same shape,
-- "kind" says which).
create function internal._serving_split(p_prompt_key text) returns jsonb
language sql stable security invoker set search_path = '' as $$
  select coalesce(
    (select jsonb_build_object(
              'kind', 'experiment', 'experimentId', e.id, 'status', e.status, 'paused', e.status = 'paused',
              'arms', (select jsonb_agg(jsonb_build_object('arm', a.arm, 'versionId', a.version_id, 'version', av.version,
                                                           'weight', a.weight, 'content', av.content) order by a.arm)
                       from public.ai_experiment_arms a
                       join public.ai_prompt_versions av on av.id = a.version_id
                       where a.experiment_id = e.id))
     from public.ai_ab_experiments e
     where e.prompt_key = p_prompt_key and e.status <> 'concluded'),
    (select jsonb_build_object(
              'kind', 'rollout', 'experimentId', r.id, 'status', 'running', 'paused', false,
              'arms', jsonb_build_array(
                jsonb_build_object('arm', 0, 'versionId', hv.id, 'version', hv.version, 'weight', r.holdback_weight, 'content', hv.content),
                jsonb_build_object('arm', 1, 'versionId', pv.id, 'version', pv.version, 'weight', 1 - r.holdback_weight, 'content', pv.content)))
     from public.ai_rollouts r
     join public.ai_prompt_versions hv on hv.id = r.holdback_version_id
     join public.ai_prompt_versions pv on pv.id = r.promoted_version_id
     where r.prompt_key = p_prompt_key and r.status = 'live'))
$$;

create or replace function public.serving_snapshot(p_prompt_keys text[] default null) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
declare
  v_key text;
begin
  if p_prompt_keys is not null then
    if cardinality(p_prompt_keys) > 1000 then
      perform internal._invalid('prompt_keys may list at most 1000 keys');
    end if;
    foreach v_key in array p_prompt_keys loop
      perform internal._check_prompt_key(v_key);
    end loop;
  end if;
  return jsonb_build_object('prompts', coalesce((
    select jsonb_agg(jsonb_build_object(
             'promptKey', v.prompt_key,
             'active', jsonb_build_object('versionId', v.id, 'version', v.version, 'content', v.content),
             'experiment', internal._serving_split(v.prompt_key))
           order by v.prompt_key)
    from public.ai_prompt_versions v
    where v.status = 'active' and (p_prompt_keys is null or v.prompt_key = any (p_prompt_keys))
  ), '[]'::jsonb));
end
$$;

create or replace function public.prompt_keys_with_traffic(p_since timestamptz, p_min_conversations integer default 1) returns jsonb
language sql stable security invoker set search_path = '' as $$
  select coalesce(jsonb_agg(jsonb_build_object('prompt_key', t.prompt_key, 'conversations', t.n,
                                               'live_experiment', t.live) order by t.prompt_key), '[]'::jsonb)
  from (
    select v.prompt_key, count(c.id) as n,
           exists (select 1 from public.ai_ab_experiments e where e.prompt_key = v.prompt_key and e.status <> 'concluded')
           or exists (select 1 from public.ai_rollouts r where r.prompt_key = v.prompt_key and r.status = 'live') as live
    from public.ai_prompt_versions v
    join public.ai_conversations c on c.version_id = v.id and c.created_at >= p_since
    where v.status = 'active'
    group by v.prompt_key
    having count(c.id) >= greatest(coalesce(p_min_conversations, 1), 1)
  ) t
$$;

---------------------------------------------------------------------------------------------
-- The watch's statistics and checks
---------------------------------------------------------------------------------------------

-- The two arms of a rollout (0 holdback, 1 promoted) with what the watch tests: outcome counts,
-- the latency guardrail as a share slower than p_latency_factor x the holdback's p95, token sums,
-- and the outcome counts per step as strata (`topics`, topic "step <n>"), so the comparison is
-- made within steps. Same field names as experiment_arm_stats.
create function public.rollout_arm_stats(p_rollout_id uuid, p_latency_factor double precision default 1.25) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
declare
  v public.ai_rollouts;
  v_threshold double precision;
begin
  if p_latency_factor is null or not (p_latency_factor > 0 and p_latency_factor < 'infinity'::double precision) then
    perform internal._invalid(format('latency_factor must be a finite number greater than 0, got %s',
                                     coalesce(p_latency_factor::text, 'null')));
  end if;
  select * into v from public.ai_rollouts where id = p_rollout_id;
  if not found then
    raise exception 'rollout % not found', p_rollout_id using errcode = 'P0002';
  end if;
  select p_latency_factor * percentile_cont(0.95) within group (order by c.latency_ms) into v_threshold
  from public.ai_conversations c where c.rollout_id = p_rollout_id and c.rollout_arm = 0;

  return (
    with g as (
      select c.rollout_arm as arm, c.rollout_step as step,
             count(*) as n, count(*) filter (where c.success) as successes,
             count(c.rating) as rating_n, coalesce(sum(c.rating), 0) as rating_sum,
             coalesce(sum(c.rating * c.rating), 0) as rating_sumsq,
             count(*) filter (where c.error is not null) as errors,
             count(c.latency_ms) as latency_n,
             count(*) filter (where c.latency_ms > v_threshold) as latency_slow,
             count(c.tokens) as tokens_n, coalesce(sum(c.tokens), 0) as tokens_sum,
             coalesce(sum(c.tokens::double precision * c.tokens), 0) as tokens_sumsq
      from public.ai_conversations c
      where c.rollout_id = p_rollout_id
      group by c.rollout_arm, c.rollout_step
    ),
    arms as (
      select 0 as arm, v.holdback_version_id as version_id
      union all select 1, v.promoted_version_id
    ),
    per_arm as (
      select a.arm, a.version_id, pv.version,
             coalesce(sum(g.n), 0) as n, coalesce(sum(g.successes), 0) as successes,
             coalesce(sum(g.rating_n), 0) as rating_n, coalesce(sum(g.rating_sum), 0) as rating_sum,
             coalesce(sum(g.rating_sumsq), 0) as rating_sumsq, coalesce(sum(g.errors), 0) as errors,
             coalesce(sum(g.latency_n), 0) as latency_n, coalesce(sum(g.latency_slow), 0) as latency_slow,
             coalesce(sum(g.tokens_n), 0) as tokens_n, coalesce(sum(g.tokens_sum), 0) as tokens_sum,
             coalesce(sum(g.tokens_sumsq), 0) as tokens_sumsq,
             coalesce(jsonb_agg(jsonb_build_object(
                        'topic', 'step ' || (g.step + 1), 'n', g.n, 'successes', g.successes, 'ratingN', g.rating_n,
                        'ratingSum', g.rating_sum, 'ratingSumSq', g.rating_sumsq, 'errors', g.errors) order by g.step)
                      filter (where g.n > 0), '[]'::jsonb) as topics
      from arms a
      join public.ai_prompt_versions pv on pv.id = a.version_id
      left join g on g.arm = a.arm
      group by a.arm, a.version_id, pv.version
    )
    select jsonb_agg(jsonb_build_object(
      'arm', p.arm, 'versionId', p.version_id, 'version', p.version,
      'weight', case when p.arm = 0 then v.holdback_weight else 1 - v.holdback_weight end,
      'n', p.n, 'successes', p.successes, 'ratingN', p.rating_n, 'ratingSum', p.rating_sum,
      'ratingSumSq', p.rating_sumsq, 'errors', p.errors, 'latencyP95', null,
      'tokensMean', (p.tokens_sum::numeric / nullif(p.tokens_n, 0))::double precision,
      'latencyN', p.latency_n, 'latencySlow', p.latency_slow, 'latencyThreshold', v_threshold,
      'tokensN', p.tokens_n, 'tokensSum', p.tokens_sum, 'tokensSumSq', p.tokens_sumsq,
      'topics', p.topics
    ) order by p.arm)
    from per_arm p
  );
end
$$;

create function public.write_rollout_check(p_rollout_id uuid, p_check_no integer, p_arms jsonb, p_decision jsonb, p_memory jsonb)
returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_row public.ai_rollout_checks;
begin
  if p_check_no is null or p_check_no < 1 then
    perform internal._invalid('check_no must be 1 or more');
  end if;
  if jsonb_typeof(p_arms) is distinct from 'array' or jsonb_typeof(p_decision) is distinct from 'object' then
    perform internal._invalid('arms must be an array and decision an object');
  end if;
  if not exists (select 1 from public.ai_rollouts where id = p_rollout_id) then
    raise exception 'rollout % not found', p_rollout_id using errcode = 'P0002';
  end if;
  insert into public.ai_rollout_checks (rollout_id, check_no, arms, decision, memory)
  values (p_rollout_id, p_check_no, p_arms, p_decision, coalesce(p_memory, '{}'::jsonb))
  on conflict (rollout_id, check_no) do nothing
  returning * into v_row;
  if not found then
    select * into v_row from public.ai_rollout_checks where rollout_id = p_rollout_id and check_no = p_check_no;
    return to_jsonb(v_row) || jsonb_build_object('created', false);
  end if;
  return to_jsonb(v_row) || jsonb_build_object('created', true);
end
$$;

create function public.list_rollout_checks(p_rollout_id uuid, p_after_check integer default 0) returns jsonb
language sql stable security invoker set search_path = '' as $$
  select coalesce(jsonb_agg(to_jsonb(c) order by c.check_no), '[]'::jsonb)
  from public.ai_rollout_checks c
  where c.rollout_id = p_rollout_id and c.check_no > coalesce(p_after_check, 0)
$$;

create function public.latest_rollout_check(p_rollout_id uuid) returns jsonb
language sql stable security invoker set search_path = '' as $$
  select to_jsonb(c) from public.ai_rollout_checks c where c.rollout_id = p_rollout_id order by c.check_no desc limit 1
$$;

---------------------------------------------------------------------------------------------
-- Grants
---------------------------------------------------------------------------------------------

do $$
declare
  f text;
begin
  foreach f in array array[
    'public.promote_variant(uuid, uuid, text, text, text, jsonb, jsonb)',
    'public.get_rollout(uuid)', 'public.list_rollouts(text, text, integer)',
    'public.advance_rollout(uuid, integer, text, text, text)', 'public.set_rollout_held(uuid, boolean, text, text)',
    'public.complete_rollout(uuid, text, text, text, jsonb)', 'public.rollback_rollout(uuid, text, text, text, jsonb)',
    'public.rollout_arm_stats(uuid, double precision)',
    'public.write_rollout_check(uuid, integer, jsonb, jsonb, jsonb)', 'public.list_rollout_checks(uuid, integer)',
    'public.latest_rollout_check(uuid)',
    'internal._check_text(text, text, integer)', 'internal._check_mode(text)', 'internal._check_rollout_plan(jsonb)',
    'internal._rollout_holdback_weight(jsonb, integer)', 'internal._rollout_json(uuid)',
    'internal._rollout_event(public.ai_rollouts, text, text, text, text, jsonb)', 'internal._lock_rollout(uuid)',
    'internal._rollout_arm(text, text)', 'internal._rollback_previous(text, text, text)', 'internal._serving_split(text)',
    'internal.ai_conversations_rollout_attribution()', 'internal.ai_ab_experiments_no_live_rollout()'
  ] loop
    execute format('revoke all on function %s from public', f);
    if exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
      execute format('revoke all on function %s from anon, authenticated', f);
    end if;
    execute format('grant execute on function %s to service_role', f);
  end loop;
end
$$;
