-- Review fix: conversations logged with a created_at before the live experiment started are
-- recorded for their version but not attributed to the experiment.
create or replace function public._insert_conversation(p jsonb) returns jsonb
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
  -- A conversation from before the experiment started (a backfill, a late flush) is not
  -- evidence for it, even when the subject's bucket happens to match.
  if v_arm.experiment_id is not null and coalesce(v_created, now()) < (
    select e.created_at from public.ai_ab_experiments e where e.id = v_arm.experiment_id
  ) then
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
