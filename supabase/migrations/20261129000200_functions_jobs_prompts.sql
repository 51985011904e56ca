-- The database API, part 1: jobs, prompt versions, assignment and conversation logging.
-- Every state change is a function so that supabase-js (.rpc) and pg run the same SQL, and
-- multi-row changes are atomic. All functions return jsonb (rows as to_jsonb): the adapters then
-- see the same JSON whatever the transport.
-- Errors: 22023 bad argument, P0002 not found, 55000 wrong state. Nothing is written on error.

create function public._invalid(p_message text) returns void
language plpgsql immutable set search_path = '' as $$
begin
  raise exception '%', p_message using errcode = '22023';
end
$$;

create function public._check_prompt_key(p_prompt_key text) returns void
language plpgsql immutable set search_path = '' as $$
begin
  if p_prompt_key is null or p_prompt_key !~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$' then
    perform public._invalid(format(
      'prompt_key must be 1-128 characters of letters, digits, "_", ".", ":" or "-", got %s',
      coalesce(quote_literal(left(p_prompt_key, 40)), 'null')));
  end if;
end
$$;

create function public.normalize_prompt_content(p_content text) returns text
language sql immutable set search_path = '' as $$
  select lower(btrim(regexp_replace(normalize(p_content, NFKC), '\s+', ' ', 'g')))
$$;

-- Deterministic bucket in [0, 1) for a subject in an experiment: the first 32 bits of
-- md5(experiment_id || ':' || subject_id). Host apps can reproduce it without calling us.
create function public.assignment_bucket(p_experiment_id uuid, p_subject_id text) returns double precision
language sql immutable set search_path = '' as $$
  select (('x' || substr(md5(p_experiment_id::text || ':' || p_subject_id), 1, 8))::bit(32)::bigint)::double precision
         / 4294967296.0
$$;

---------------------------------------------------------------------------------------------
-- Jobs
---------------------------------------------------------------------------------------------

create function public.create_job(
  p_type text,
  p_params jsonb default '{}'::jsonb,
  p_created_by text default 'system',
  p_idempotency_key text default null
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_job public.optimization_jobs;
begin
  if p_type is null or not (p_type = any (enum_range(null::public.job_type)::text[])) then
    perform public._invalid(format('type must be one of %s, got %s',
      array_to_string(enum_range(null::public.job_type)::text[], ', '), coalesce(quote_literal(p_type), 'null')));
  end if;
  if p_params is null or jsonb_typeof(p_params) <> 'object' then
    perform public._invalid('params must be a JSON object');
  end if;
  if p_created_by is null or length(p_created_by) not between 1 and 200 then
    perform public._invalid('created_by must be 1-200 characters');
  end if;
  insert into public.optimization_jobs (type, params, created_by, idempotency_key)
  values (p_type::public.job_type, p_params, p_created_by, p_idempotency_key)
  on conflict (idempotency_key) do nothing
  returning * into v_job;
  if not found then
    select * into v_job from public.optimization_jobs where idempotency_key = p_idempotency_key;
  end if;
  return to_jsonb(v_job);
end
$$;

create function public.get_job(p_job_id bigint) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
declare
  v_job public.optimization_jobs;
begin
  select * into v_job from public.optimization_jobs where id = p_job_id;
  if not found then
    raise exception 'job % not found', p_job_id using errcode = 'P0002';
  end if;
  return to_jsonb(v_job);
end
$$;

create function public.list_jobs(p_status text default null, p_limit integer default 50) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
begin
  if p_status is not null and not (p_status = any (enum_range(null::public.job_status)::text[])) then
    perform public._invalid(format('status must be one of %s', array_to_string(enum_range(null::public.job_status)::text[], ', ')));
  end if;
  if p_limit is null or p_limit not between 1 and 500 then
    perform public._invalid('limit must be between 1 and 500');
  end if;
  return coalesce((
    select jsonb_agg(to_jsonb(j) order by j.id desc)
    from (select * from public.optimization_jobs
          where p_status is null or status = p_status::public.job_status
          order by id desc limit p_limit) j
  ), '[]'::jsonb);
end
$$;

-- Claims the oldest pending job, or a claimed job whose lease ran out before its workflow
-- started (the claimer died). SKIP LOCKED: concurrent claimers never get the same job.
create function public.claim_next_job(p_worker text, p_lease_seconds integer default 60) returns jsonb
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
  select * into v_job from public.optimization_jobs
  where status = 'pending' and (lease_expires_at is null or lease_expires_at < now())
  order by created_at, id
  limit 1
  for update skip locked;
  if not found then
    return null;
  end if;
  update public.optimization_jobs
  set lease_owner = p_worker, lease_expires_at = now() + make_interval(secs => p_lease_seconds),
      attempts = attempts + 1, updated_at = now()
  where id = v_job.id
  returning * into v_job;
  return to_jsonb(v_job);
end
$$;

-- Called by the job's workflow when it begins: the workflow owns the job from here on.
-- Idempotent: a retry (same workflow) returns the row unchanged.
create function public.start_job(p_job_id bigint, p_workflow_id text) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_job public.optimization_jobs;
begin
  if p_workflow_id is null or length(p_workflow_id) = 0 then
    perform public._invalid('workflow_id is required');
  end if;
  select * into v_job from public.optimization_jobs where id = p_job_id for update;
  if not found then
    raise exception 'job % not found', p_job_id using errcode = 'P0002';
  end if;
  if v_job.status = 'pending' then
    update public.optimization_jobs
    set status = 'running', workflow_id = p_workflow_id, started_at = now(),
        lease_owner = null, lease_expires_at = null, updated_at = now()
    where id = p_job_id returning * into v_job;
  elsif v_job.workflow_id is distinct from p_workflow_id then
    raise exception 'job % is % under workflow %', p_job_id, v_job.status, v_job.workflow_id using errcode = '55000';
  end if;
  return to_jsonb(v_job);
end
$$;

create function public._finish_job(p_job_id bigint, p_status public.job_status, p_result jsonb, p_error text)
returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_job public.optimization_jobs;
begin
  select * into v_job from public.optimization_jobs where id = p_job_id for update;
  if not found then
    raise exception 'job % not found', p_job_id using errcode = 'P0002';
  end if;
  if v_job.status in ('completed', 'failed') then
    if v_job.status <> p_status then
      raise exception 'job % already %', p_job_id, v_job.status using errcode = '55000';
    end if;
    return to_jsonb(v_job); -- retry of the same transition: no-op
  end if;
  update public.optimization_jobs
  set status = p_status, result = p_result, error = left(p_error, 4000), finished_at = now(),
      started_at = coalesce(started_at, now()), lease_owner = null, lease_expires_at = null, updated_at = now()
  where id = p_job_id returning * into v_job;
  return to_jsonb(v_job);
end
$$;

create function public.complete_job(p_job_id bigint, p_result jsonb default '{}'::jsonb) returns jsonb
language plpgsql security invoker set search_path = '' as $$
begin
  if p_result is null then
    perform public._invalid('result is required');
  end if;
  return public._finish_job(p_job_id, 'completed', p_result, null);
end
$$;

create function public.fail_job(p_job_id bigint, p_error text) returns jsonb
language plpgsql security invoker set search_path = '' as $$
begin
  if p_error is null or length(p_error) = 0 then
    perform public._invalid('error is required');
  end if;
  return public._finish_job(p_job_id, 'failed', null, p_error);
end
$$;

---------------------------------------------------------------------------------------------
-- Prompt versions
---------------------------------------------------------------------------------------------

-- Creates the next version of a prompt key, or returns the existing version with the same
-- normalized content ("created": false). p_activate makes it the active version, which is only
-- allowed when the key has none yet (later changes of the active version are promotions).
create function public.create_prompt_version(
  p_prompt_key text,
  p_content text,
  p_parent_version_id uuid default null,
  p_strategy text default 'manual',
  p_rationale text default null,
  p_activate boolean default false
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_hash text;
  v_row public.ai_prompt_versions;
  v_next integer;
begin
  perform public._check_prompt_key(p_prompt_key);
  if p_content is null or length(btrim(p_content)) = 0 then
    perform public._invalid('content must not be empty');
  end if;
  if length(p_content) > 50000 then
    perform public._invalid(format('content is %s characters, the limit is 50000', length(p_content)));
  end if;
  if p_content ~ '[\x01-\x08\x0B\x0C\x0E-\x1F]' then
    perform public._invalid('content contains control characters (binary data?)');
  end if;
  if p_strategy is null or length(p_strategy) not between 1 and 50 then
    perform public._invalid('strategy must be 1-50 characters');
  end if;
  if p_parent_version_id is not null and not exists (
    select 1 from public.ai_prompt_versions where id = p_parent_version_id and prompt_key = p_prompt_key
  ) then
    perform public._invalid(format('parent version %s does not belong to prompt key %s', p_parent_version_id, p_prompt_key));
  end if;

  -- Serialize version numbering per key (two concurrent creators must not collide).
  perform pg_advisory_xact_lock(hashtextextended('prompt:' || p_prompt_key, 0));
  v_hash := md5(public.normalize_prompt_content(p_content));
  select * into v_row from public.ai_prompt_versions where prompt_key = p_prompt_key and content_hash = v_hash;
  if found then
    return to_jsonb(v_row) || jsonb_build_object('created', false);
  end if;
  if p_activate and exists (select 1 from public.ai_prompt_versions where prompt_key = p_prompt_key and status = 'active') then
    raise exception 'prompt key % already has an active version; change it by promotion', p_prompt_key using errcode = '55000';
  end if;
  select coalesce(max(version), 0) + 1 into v_next from public.ai_prompt_versions where prompt_key = p_prompt_key;
  insert into public.ai_prompt_versions (prompt_key, version, content, content_hash, status, parent_version_id, strategy, rationale, activated_at)
  values (p_prompt_key, v_next, p_content, v_hash,
          case when p_activate then 'active' else 'candidate' end::public.prompt_status,
          p_parent_version_id, p_strategy, p_rationale, case when p_activate then now() end)
  returning * into v_row;
  return to_jsonb(v_row) || jsonb_build_object('created', true);
end
$$;

create function public.get_active_prompt(p_prompt_key text) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
declare
  v_row public.ai_prompt_versions;
begin
  perform public._check_prompt_key(p_prompt_key);
  select * into v_row from public.ai_prompt_versions where prompt_key = p_prompt_key and status = 'active';
  if not found then
    raise exception 'prompt key % has no active version', p_prompt_key using errcode = 'P0002';
  end if;
  return to_jsonb(v_row);
end
$$;

create function public.get_prompt_version(p_version_id uuid) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
declare
  v_row public.ai_prompt_versions;
begin
  select * into v_row from public.ai_prompt_versions where id = p_version_id;
  if not found then
    raise exception 'prompt version % not found', p_version_id using errcode = 'P0002';
  end if;
  return to_jsonb(v_row);
end
$$;

create function public.list_prompt_versions(p_prompt_key text) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
begin
  perform public._check_prompt_key(p_prompt_key);
  return coalesce((select jsonb_agg(to_jsonb(v) order by v.version)
                   from public.ai_prompt_versions v where v.prompt_key = p_prompt_key), '[]'::jsonb);
end
$$;

create function public.list_prompt_keys() returns jsonb
language sql stable security invoker set search_path = '' as $$
  select coalesce(jsonb_agg(jsonb_build_object(
           'prompt_key', v.prompt_key, 'active_version_id', v.id, 'active_version', v.version,
           'versions', (select count(*) from public.ai_prompt_versions x where x.prompt_key = v.prompt_key))
         order by v.prompt_key), '[]'::jsonb)
  from public.ai_prompt_versions v where v.status = 'active'
$$;

---------------------------------------------------------------------------------------------
-- Assignment and conversations
---------------------------------------------------------------------------------------------

-- The live experiment's arm for a subject, or null when no experiment is running on the key.
create function public._assigned_arm(p_prompt_key text, p_subject_id text) returns public.ai_experiment_arms
language plpgsql stable security invoker set search_path = '' as $$
declare
  v_exp uuid;
  v_bucket double precision;
  v_cum double precision := 0;
  v_arm public.ai_experiment_arms;
begin
  select id into v_exp from public.ai_ab_experiments where prompt_key = p_prompt_key and status = 'running';
  if v_exp is null or p_subject_id is null then
    return null;
  end if;
  v_bucket := public.assignment_bucket(v_exp, p_subject_id);
  for v_arm in select * from public.ai_experiment_arms where experiment_id = v_exp order by arm loop
    v_cum := v_cum + v_arm.weight;
    if v_bucket < v_cum then
      return v_arm;
    end if;
  end loop;
  return v_arm; -- rounding: the last arm takes the remainder
end
$$;

create function public.assign_prompt(p_prompt_key text, p_subject_id text) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
declare
  v_arm public.ai_experiment_arms;
  v_version public.ai_prompt_versions;
begin
  perform public._check_prompt_key(p_prompt_key);
  if p_subject_id is null or length(p_subject_id) not between 1 and 200 then
    perform public._invalid('subject_id must be 1-200 characters');
  end if;
  v_arm := public._assigned_arm(p_prompt_key, p_subject_id);
  if v_arm.version_id is not null then
    select * into v_version from public.ai_prompt_versions where id = v_arm.version_id;
  else
    select * into v_version from public.ai_prompt_versions where prompt_key = p_prompt_key and status = 'active';
    if not found then
      raise exception 'prompt key % has no active version', p_prompt_key using errcode = 'P0002';
    end if;
  end if;
  return jsonb_build_object(
    'prompt_key', p_prompt_key, 'version_id', v_version.id, 'version', v_version.version,
    'content', v_version.content, 'experiment_id', v_arm.experiment_id, 'arm', v_arm.arm);
end
$$;

-- Inserts one validated conversation; returns the row as jsonb (existing row for a repeated
-- external_id). The experiment arm is derived, not trusted: a conversation counts for the live
-- experiment only when the subject's deterministic assignment is the version that served it.
create function public._insert_conversation(p jsonb) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_key text := p ->> 'prompt_key';
  v_version public.ai_prompt_versions;
  v_arm public.ai_experiment_arms;
  v_row public.ai_conversations;
  v_rating integer;
  v_latency integer;
  v_tokens integer;
  v_created timestamptz;
begin
  if jsonb_typeof(p) is distinct from 'object' then
    perform public._invalid('each conversation must be a JSON object');
  end if;
  perform public._check_prompt_key(v_key);
  if jsonb_typeof(p -> 'success') is distinct from 'boolean' then
    perform public._invalid('success must be true or false');
  end if;
  if (p ->> 'version_id') is null or (p ->> 'version_id') !~* '^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$' then
    perform public._invalid('version_id must be a UUID');
  end if;
  select * into v_version from public.ai_prompt_versions where id = (p ->> 'version_id')::uuid;
  if not found or v_version.prompt_key <> v_key then
    perform public._invalid(format('version_id %s is not a version of prompt key %s', p ->> 'version_id', v_key));
  end if;
  if p ? 'rating' and jsonb_typeof(p -> 'rating') <> 'null' then
    if jsonb_typeof(p -> 'rating') <> 'number' or (p ->> 'rating')::numeric not in (1, 2, 3, 4, 5) then
      perform public._invalid('rating must be an integer from 1 to 5');
    end if;
    v_rating := (p ->> 'rating')::integer;
  end if;
  if p ? 'latency_ms' and jsonb_typeof(p -> 'latency_ms') <> 'null' then
    if jsonb_typeof(p -> 'latency_ms') <> 'number' or (p ->> 'latency_ms')::numeric not between 0 and 86400000 then
      perform public._invalid('latency_ms must be a number from 0 to 86400000');
    end if;
    v_latency := round((p ->> 'latency_ms')::numeric);
  end if;
  if p ? 'tokens' and jsonb_typeof(p -> 'tokens') <> 'null' then
    if jsonb_typeof(p -> 'tokens') <> 'number' or (p ->> 'tokens')::numeric not between 0 and 10000000 then
      perform public._invalid('tokens must be a number from 0 to 10000000');
    end if;
    v_tokens := round((p ->> 'tokens')::numeric);
  end if;
  if length(p ->> 'subject_id') > 200 or length(p ->> 'topic') > 200 or length(p ->> 'external_id') > 200 then
    perform public._invalid('subject_id, topic and external_id are limited to 200 characters');
  end if;
  if length(p ->> 'error') > 2000 or length(p ->> 'input_excerpt') > 2000 or length(p ->> 'output_excerpt') > 2000 then
    perform public._invalid('error, input_excerpt and output_excerpt are limited to 2000 characters');
  end if;
  if (p ->> 'created_at') is not null then
    begin
      v_created := (p ->> 'created_at')::timestamptz;
    exception when others then
      perform public._invalid('created_at must be an ISO 8601 timestamp');
    end;
    if v_created > now() + interval '5 minutes' then
      perform public._invalid('created_at must not be in the future');
    end if;
  end if;

  v_arm := public._assigned_arm(v_key, p ->> 'subject_id');
  if v_arm.version_id is distinct from v_version.id then
    v_arm := null;
  end if;

  insert into public.ai_conversations (
    prompt_key, version_id, experiment_id, arm, subject_id, topic, success, rating, latency_ms, tokens,
    error, input_excerpt, output_excerpt, external_id, created_at)
  values (
    v_key, v_version.id, v_arm.experiment_id, v_arm.arm, p ->> 'subject_id', p ->> 'topic', (p ->> 'success')::boolean,
    v_rating, v_latency, v_tokens, p ->> 'error', p ->> 'input_excerpt', p ->> 'output_excerpt', p ->> 'external_id',
    coalesce(v_created, now()))
  on conflict (external_id) do nothing
  returning * into v_row;
  if not found then
    select * into v_row from public.ai_conversations where external_id = p ->> 'external_id';
    return to_jsonb(v_row) || jsonb_build_object('created', false);
  end if;
  return to_jsonb(v_row) || jsonb_build_object('created', true);
end
$$;

create function public.record_conversation(
  p_prompt_key text,
  p_version_id uuid,
  p_success boolean,
  p_subject_id text default null,
  p_topic text default null,
  p_rating integer default null,
  p_latency_ms integer default null,
  p_tokens integer default null,
  p_error text default null,
  p_external_id text default null,
  p_input_excerpt text default null,
  p_output_excerpt text default null,
  p_created_at timestamptz default null
) returns jsonb
language plpgsql security invoker set search_path = '' as $$
begin
  return public._insert_conversation(jsonb_strip_nulls(jsonb_build_object(
    'prompt_key', p_prompt_key, 'version_id', p_version_id, 'success', p_success, 'subject_id', p_subject_id,
    'topic', p_topic, 'rating', p_rating, 'latency_ms', p_latency_ms, 'tokens', p_tokens, 'error', p_error,
    'external_id', p_external_id, 'input_excerpt', p_input_excerpt, 'output_excerpt', p_output_excerpt,
    'created_at', p_created_at)) || jsonb_build_object('prompt_key', p_prompt_key));
end
$$;

-- Batch form for simulators and backfills: all rows or none.
create function public.record_conversations(p_rows jsonb) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_item jsonb;
  v_created integer := 0;
  v_i integer := 0;
begin
  if jsonb_typeof(p_rows) is distinct from 'array' then
    perform public._invalid('rows must be a JSON array');
  end if;
  if jsonb_array_length(p_rows) > 10000 then
    perform public._invalid('at most 10000 rows per call');
  end if;
  for v_item in select value from jsonb_array_elements(p_rows) loop
    v_i := v_i + 1;
    begin
      if (public._insert_conversation(v_item) ->> 'created')::boolean then
        v_created := v_created + 1;
      end if;
    exception when sqlstate '22023' then
      raise exception 'row %: %', v_i, sqlerrm using errcode = '22023';
    end;
  end loop;
  return jsonb_build_object('received', jsonb_array_length(p_rows), 'created', v_created);
end
$$;

create function public.sample_conversations(p_version_id uuid, p_kind text, p_limit integer default 5) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
begin
  if p_kind is null or p_kind not in ('best', 'failures') then
    perform public._invalid('kind must be best or failures');
  end if;
  if p_limit is null or p_limit not between 1 and 50 then
    perform public._invalid('limit must be between 1 and 50');
  end if;
  return coalesce((
    select jsonb_agg(jsonb_build_object('topic', c.topic, 'success', c.success, 'rating', c.rating,
                                        'input_excerpt', c.input_excerpt, 'output_excerpt', c.output_excerpt))
    from (select * from public.ai_conversations
          where version_id = p_version_id
            and case when p_kind = 'best' then success and rating >= 4 else not success end
          order by case when p_kind = 'best' then rating end desc nulls last, created_at desc
          limit p_limit) c
  ), '[]'::jsonb);
end
$$;
