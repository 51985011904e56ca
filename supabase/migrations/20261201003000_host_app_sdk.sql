-- The server side of the host-app SDK (packages/client, issue 13):
--   1. serving_snapshot: what to serve, for local assignment in the host app (GET /v1/serving);
--   2. record_conversation_batch: up to 500 conversations, one result per row, a bad row never
--      fails the others (POST /v1/conversations/batch);
--   3. record_feedback: late outcomes by external id within a window, with a history of every
--      change (POST /v1/feedback). Analysis and experiment statistics read ai_conversations,
--      which holds the latest outcome, so both see late feedback without a change of theirs.
-- Errors as in the other migrations: 22023 bad argument. Per-row problems are results, not errors.

---------------------------------------------------------------------------------------------
-- 1. Serving snapshot
---------------------------------------------------------------------------------------------

-- Every prompt key's active version and its live experiment (running or paused) with the arms
-- the SDK needs to reproduce assign_prompt locally: arm, version, weight, content. Deterministic
-- output (no clock), so the HTTP layer can derive an ETag from it. Keys without an active
-- version are absent; p_prompt_keys (optional) restricts the keys, unknown ones are absent too.
create function public.serving_snapshot(p_prompt_keys text[] default null) returns jsonb
language plpgsql stable security invoker set search_path = '' as $$
declare
  v_key text;
begin
  if p_prompt_keys is not null then
    if cardinality(p_prompt_keys) > 1000 then
      perform public._invalid('prompt_keys may list at most 1000 keys');
    end if;
    foreach v_key in array p_prompt_keys loop
      perform public._check_prompt_key(v_key);
    end loop;
  end if;
  return jsonb_build_object('prompts', coalesce((
    select jsonb_agg(jsonb_build_object(
             'promptKey', v.prompt_key,
             'active', jsonb_build_object('versionId', v.id, 'version', v.version, 'content', v.content),
             'experiment', (
               select jsonb_build_object(
                        'experimentId', e.id, 'status', e.status, 'paused', e.status = 'paused',
                        'arms', (select jsonb_agg(jsonb_build_object('arm', a.arm, 'versionId', a.version_id, 'version', av.version,
                                                                     'weight', a.weight, 'content', av.content) order by a.arm)
                                 from public.ai_experiment_arms a
                                 join public.ai_prompt_versions av on av.id = a.version_id
                                 where a.experiment_id = e.id))
               from public.ai_ab_experiments e
               where e.prompt_key = v.prompt_key and e.status <> 'concluded'))
           order by v.prompt_key)
    from public.ai_prompt_versions v
    where v.status = 'active' and (p_prompt_keys is null or v.prompt_key = any (p_prompt_keys))
  ), '[]'::jsonb));
end
$$;

---------------------------------------------------------------------------------------------
-- 2. Conversations in batches
---------------------------------------------------------------------------------------------

-- One row of a batch: the result of _insert_conversation, or the reason it was refused. The
-- caller wraps this in an exception block; a refused row changes nothing.
create function public._batch_row_result(p_index integer, p_row jsonb) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_row jsonb;
begin
  if jsonb_typeof(p_row) = 'object' and coalesce(length(p_row ->> 'external_id'), 0) not between 1 and 200 then
    perform public._invalid('external_id is required in a batch (1-200 characters): it makes a retried batch safe');
  end if;
  v_row := public._insert_conversation(p_row);
  return jsonb_build_object(
    'index', p_index, 'status', case when (v_row ->> 'created')::boolean then 'created' else 'duplicate' end,
    'id', v_row -> 'id', 'external_id', v_row -> 'external_id', 'experiment_id', v_row -> 'experiment_id', 'arm', v_row -> 'arm');
end
$$;

-- Records up to 500 conversations, each on its own: one result per row, in order ("created",
-- "duplicate" for an external_id already stored, or "error" with the reason). Idempotent by
-- external_id, which every row must carry. A bad row (any data or constraint error) is rolled
-- back alone and reported; only a malformed call (not an array, too many rows) is an error.
-- Rows are inserted in external_id order (results still come in row order): two batches with
-- the same rows in another order, or a retry racing its first attempt, then wait for each other
-- instead of deadlocking on the unique index.
-- Fast path: the whole batch in one subtransaction; only when a row fails is it replayed row by
-- row, so a clean batch holds one subtransaction id, not 500 (past 64 per transaction,
-- PostgreSQL's snapshots overflow their subtransaction cache and concurrent readers slow down).
create function public.record_conversation_batch(p_rows jsonb) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_results jsonb[] := '{}';
  v_item record;
begin
  if jsonb_typeof(p_rows) is distinct from 'array' then
    perform public._invalid('rows must be a JSON array');
  end if;
  if jsonb_array_length(p_rows) not between 1 and 500 then
    perform public._invalid(format('rows must hold 1 to 500 conversations, got %s', jsonb_array_length(p_rows)));
  end if;
  begin
    for v_item in select (r.ord - 1)::integer as idx, r.value from jsonb_array_elements(p_rows) with ordinality as r(value, ord) order by r.value ->> 'external_id', r.ord loop
      v_results := v_results || public._batch_row_result(v_item.idx, v_item.value);
    end loop;
  exception when data_exception or integrity_constraint_violation then
    v_results := '{}';
    for v_item in select (r.ord - 1)::integer as idx, r.value from jsonb_array_elements(p_rows) with ordinality as r(value, ord) order by r.value ->> 'external_id', r.ord loop
      begin
        v_results := v_results || public._batch_row_result(v_item.idx, v_item.value);
      exception when data_exception or integrity_constraint_violation then
        v_results := v_results || jsonb_build_object('index', v_item.idx, 'status', 'error', 'error', sqlerrm, 'code', sqlstate,
                                                     'external_id', case when jsonb_typeof(v_item.value) = 'object' then v_item.value -> 'external_id' end);
      end;
    end loop;
  end;
  return jsonb_build_object(
    'received', jsonb_array_length(p_rows),
    'created', (select count(*) from unnest(v_results) x where x ->> 'status' = 'created'),
    'duplicates', (select count(*) from unnest(v_results) x where x ->> 'status' = 'duplicate'),
    'errors', (select count(*) from unnest(v_results) x where x ->> 'status' = 'error'),
    'results', (select jsonb_agg(x order by (x ->> 'index')::integer) from unnest(v_results) x));
end
$$;

---------------------------------------------------------------------------------------------
-- 3. Late feedback
---------------------------------------------------------------------------------------------

-- Every change of a logged conversation's outcome: what it was, what it became, when. The
-- conversation row itself holds the latest outcome (what analysis and arm statistics read).
create table public.ai_conversation_feedback (
  id bigint generated always as identity primary key,
  conversation_id bigint not null references public.ai_conversations (id) on delete cascade,
  external_id text not null,
  previous_success boolean not null,
  previous_rating smallint,
  success boolean not null,
  rating smallint check (rating between 1 and 5),
  created_at timestamptz not null default now(),
  check (previous_success is distinct from success or previous_rating is distinct from rating)
);
create index ai_conversation_feedback_conversation on public.ai_conversation_feedback (conversation_id, created_at);

alter table public.ai_conversation_feedback enable row level security;
revoke all on table public.ai_conversation_feedback from public, anon, authenticated;
grant select, insert, update, delete on table public.ai_conversation_feedback to service_role;
create policy service_role_all_ai_conversation_feedback on public.ai_conversation_feedback
  for all to service_role using (true) with check (true);
do $$
begin
  execute format('revoke all on sequence %s from public, anon, authenticated', pg_get_serial_sequence('public.ai_conversation_feedback', 'id'));
  execute format('grant usage, select on sequence %s to service_role', pg_get_serial_sequence('public.ai_conversation_feedback', 'id'));
end
$$;

-- One feedback item: {external_id, success?, rating?}. Returns its result; never raises for a
-- bad item (the reason is the result), so one bad item cannot fail the others.
create function public._feedback_item_result(p_index integer, p jsonb, p_window interval) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_conv public.ai_conversations;
  v_success boolean;
  v_rating smallint;
  v_result jsonb := jsonb_build_object('index', p_index);
  v_changed timestamptz;
begin
  if jsonb_typeof(p) is distinct from 'object' then
    return v_result || jsonb_build_object('status', 'error', 'error', 'each feedback item must be a JSON object');
  end if;
  v_result := v_result || jsonb_build_object('external_id', p -> 'external_id');
  if jsonb_typeof(p -> 'external_id') is distinct from 'string' or length(p ->> 'external_id') not between 1 and 200 then
    return v_result || jsonb_build_object('status', 'error', 'error', 'external_id must be 1-200 characters');
  end if;
  if p ? 'success' and jsonb_typeof(p -> 'success') not in ('boolean', 'null') then
    return v_result || jsonb_build_object('status', 'error', 'error', 'success must be true or false');
  end if;
  if p ? 'rating' and jsonb_typeof(p -> 'rating') <> 'null'
     and (jsonb_typeof(p -> 'rating') <> 'number' or (p ->> 'rating')::numeric not in (1, 2, 3, 4, 5)) then
    return v_result || jsonb_build_object('status', 'error', 'error', 'rating must be an integer from 1 to 5');
  end if;
  if jsonb_typeof(p -> 'success') is distinct from 'boolean' and jsonb_typeof(p -> 'rating') is distinct from 'number' then
    return v_result || jsonb_build_object('status', 'error', 'error', 'feedback needs success or rating');
  end if;

  select * into v_conv from public.ai_conversations where external_id = p ->> 'external_id' for update;
  if not found then
    return v_result || jsonb_build_object('status', 'not_found');
  end if;
  v_result := v_result || jsonb_build_object('conversation_id', v_conv.id);
  if v_conv.created_at < now() - p_window then
    return v_result || jsonb_build_object('status', 'window_closed', 'success', v_conv.success, 'rating', v_conv.rating);
  end if;
  v_success := coalesce((p ->> 'success')::boolean, v_conv.success);
  v_rating := coalesce((p ->> 'rating')::numeric::smallint, v_conv.rating);
  if v_success is not distinct from v_conv.success and v_rating is not distinct from v_conv.rating then
    select max(f.created_at) into v_changed from public.ai_conversation_feedback f where f.conversation_id = v_conv.id;
    return v_result || jsonb_build_object('status', 'unchanged', 'success', v_success, 'rating', v_rating, 'changed_at', v_changed);
  end if;
  insert into public.ai_conversation_feedback (conversation_id, external_id, previous_success, previous_rating, success, rating)
  values (v_conv.id, v_conv.external_id, v_conv.success, v_conv.rating, v_success, v_rating)
  returning created_at into v_changed;
  update public.ai_conversations set success = v_success, rating = v_rating where id = v_conv.id;
  return v_result || jsonb_build_object('status', 'updated', 'success', v_success, 'rating', v_rating, 'changed_at', v_changed,
                                        'previous_success', v_conv.success, 'previous_rating', v_conv.rating);
end
$$;

-- Late outcomes for logged conversations, by external_id: up to 500 items, one result each
-- ("updated", "unchanged" when it already holds these values, "not_found", "window_closed" when
-- the conversation is older than the window, or "error" with the reason). Idempotent: the same
-- feedback again changes nothing and writes no history row.
create function public.record_feedback(p_items jsonb, p_window_seconds integer default 604800) returns jsonb
language plpgsql security invoker set search_path = '' as $$
declare
  v_results jsonb[] := '{}';
  v_item record;
begin
  if jsonb_typeof(p_items) is distinct from 'array' then
    perform public._invalid('items must be a JSON array');
  end if;
  if jsonb_array_length(p_items) not between 1 and 500 then
    perform public._invalid(format('items must hold 1 to 500 feedback items, got %s', jsonb_array_length(p_items)));
  end if;
  if p_window_seconds is null or p_window_seconds not between 60 and 31536000 then
    perform public._invalid('window_seconds must be between 60 and 31536000');
  end if;
  -- In external_id order (row locks taken in one order: no deadlock between concurrent calls);
  -- two items for the same conversation apply in the order given (the last one wins).
  for v_item in select (r.ord - 1)::integer as idx, r.value from jsonb_array_elements(p_items) with ordinality as r(value, ord) order by r.value ->> 'external_id', r.ord loop
    v_results := v_results || public._feedback_item_result(v_item.idx, v_item.value, make_interval(secs => p_window_seconds));
  end loop;
  return jsonb_build_object(
    'received', jsonb_array_length(p_items),
    'updated', (select count(*) from unnest(v_results) x where x ->> 'status' = 'updated'),
    'results', (select jsonb_agg(x order by (x ->> 'index')::integer) from unnest(v_results) x));
end
$$;

---------------------------------------------------------------------------------------------
-- Access: service_role only (the default privileges of migration 600 already keep PUBLIC out).
---------------------------------------------------------------------------------------------

revoke all on function public.serving_snapshot(text[]), public._batch_row_result(integer, jsonb),
  public.record_conversation_batch(jsonb), public._feedback_item_result(integer, jsonb, interval),
  public.record_feedback(jsonb, integer) from public, anon, authenticated;
grant execute on function public.serving_snapshot(text[]), public._batch_row_result(integer, jsonb),
  public.record_conversation_batch(jsonb), public._feedback_item_result(integer, jsonb, interval),
  public.record_feedback(jsonb, integer) to service_role;
