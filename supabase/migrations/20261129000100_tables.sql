-- Tables of the prompt optimizer. Constraints make bad states impossible rather than unlikely:
-- state changes go through the functions of the next migration, but a stray UPDATE must still
-- fail on these.

create type public.prompt_status as enum ('candidate', 'active', 'archived', 'rejected');
create type public.job_type as enum (
  'pattern_analysis', 'variant_generation', 'experiment_creation', 'experiment_monitoring', 'full_cycle'
);
create type public.job_status as enum ('pending', 'running', 'completed', 'failed');
create type public.experiment_status as enum ('running', 'paused', 'concluded');
create type public.experiment_outcome as enum ('promoted', 'kept_control', 'stopped', 'guardrail_stop', 'timed_out');
create type public.experiment_metric as enum ('success', 'rating');
create type public.promotion_kind as enum ('auto', 'approval', 'rollback', 'manual');
create type public.insight_kind as enum (
  'low_success_segment', 'low_rating', 'verbosity', 'latency', 'error_rate', 'regression'
);
create type public.insight_severity as enum ('low', 'medium', 'high');
create type public.insight_status as enum ('open', 'resolved');

create table public.ai_prompt_versions (
  id uuid primary key default gen_random_uuid(),
  prompt_key text not null check (prompt_key ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$'),
  version integer not null check (version > 0),
  content text not null check (length(content) between 1 and 50000),
  -- md5 of the normalized content (NFKC, lower case, collapsed white space): dedupe per key.
  content_hash text not null,
  status public.prompt_status not null default 'candidate',
  parent_version_id uuid references public.ai_prompt_versions (id),
  strategy text not null default 'manual',
  rationale text,
  created_at timestamptz not null default now(),
  activated_at timestamptz,
  unique (prompt_key, version),
  unique (prompt_key, content_hash)
);
-- At most one active version per prompt key.
create unique index ai_prompt_versions_one_active on public.ai_prompt_versions (prompt_key) where status = 'active';

create table public.ai_ab_experiments (
  id uuid primary key default gen_random_uuid(),
  prompt_key text not null,
  control_version_id uuid not null references public.ai_prompt_versions (id),
  metric public.experiment_metric not null default 'success',
  policy jsonb not null default '{}'::jsonb check (jsonb_typeof(policy) = 'object'),
  status public.experiment_status not null default 'running',
  outcome public.experiment_outcome,
  decision jsonb,
  winner_version_id uuid references public.ai_prompt_versions (id),
  workflow_id text,
  -- Retries of "create experiment" carry the same key and get the same experiment back.
  idempotency_key text unique,
  stale_since timestamptz,
  created_at timestamptz not null default now(),
  concluded_at timestamptz,
  check ((status = 'concluded') = (outcome is not null)),
  check ((status = 'concluded') = (concluded_at is not null)),
  check (outcome is distinct from 'promoted' or winner_version_id is not null)
);
-- One live (running or paused) experiment per prompt key.
create unique index ai_ab_experiments_one_live on public.ai_ab_experiments (prompt_key) where status <> 'concluded';
create index ai_ab_experiments_status on public.ai_ab_experiments (status, created_at desc);

create table public.ai_experiment_arms (
  experiment_id uuid not null references public.ai_ab_experiments (id) on delete cascade,
  arm smallint not null check (arm >= 0 and arm < 16),
  version_id uuid not null references public.ai_prompt_versions (id),
  weight numeric(6, 5) not null check (weight > 0 and weight <= 1),
  primary key (experiment_id, arm),
  unique (experiment_id, version_id)
);

-- Arm weights of an experiment must sum to 1: checked at commit so the arms can be inserted
-- one by one inside the creating transaction.
create function public.ai_experiment_arms_weights_sum_to_one() returns trigger
language plpgsql set search_path = '' as $$
declare
  v_total numeric;
  v_id uuid := coalesce(new.experiment_id, old.experiment_id);
begin
  select sum(weight) into v_total from public.ai_experiment_arms where experiment_id = v_id;
  if v_total is not null and abs(v_total - 1) > 0.0001 then
    raise exception 'arm weights of experiment % sum to %, not 1', v_id, v_total using errcode = '23514';
  end if;
  return null;
end
$$;
create constraint trigger ai_experiment_arms_weights
  after insert or update or delete on public.ai_experiment_arms
  deferrable initially deferred for each row
  execute function public.ai_experiment_arms_weights_sum_to_one();

create table public.ai_conversations (
  id bigint generated always as identity primary key,
  prompt_key text not null,
  version_id uuid not null references public.ai_prompt_versions (id),
  experiment_id uuid references public.ai_ab_experiments (id),
  arm smallint,
  subject_id text check (length(subject_id) <= 200),
  topic text check (length(topic) <= 200),
  success boolean not null,
  rating smallint check (rating between 1 and 5),
  latency_ms integer check (latency_ms >= 0),
  tokens integer check (tokens >= 0),
  error text check (length(error) <= 2000),
  input_excerpt text check (length(input_excerpt) <= 2000),
  output_excerpt text check (length(output_excerpt) <= 2000),
  -- The host app's own id for the conversation: recording it twice stores it once.
  external_id text unique check (length(external_id) <= 200),
  created_at timestamptz not null default now(),
  check ((experiment_id is null) = (arm is null)),
  foreign key (experiment_id, arm) references public.ai_experiment_arms (experiment_id, arm)
);
create index ai_conversations_key_time on public.ai_conversations (prompt_key, created_at);
create index ai_conversations_version_time on public.ai_conversations (version_id, created_at);
create index ai_conversations_experiment_arm on public.ai_conversations (experiment_id, arm) where experiment_id is not null;

create table public.ai_pattern_insights (
  id uuid primary key default gen_random_uuid(),
  prompt_key text not null,
  version_id uuid not null references public.ai_prompt_versions (id),
  kind public.insight_kind not null,
  segment text,
  evidence jsonb not null check (jsonb_typeof(evidence) = 'object'),
  severity public.insight_severity not null,
  is_actionable boolean not null,
  -- Same version, kind and segment -> same fingerprint: hourly runs update one row.
  fingerprint text not null unique,
  status public.insight_status not null default 'open',
  occurrences integer not null default 1 check (occurrences > 0),
  first_seen_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now()
);
create index ai_pattern_insights_key on public.ai_pattern_insights (prompt_key, status);

create table public.ai_experiment_snapshots (
  id bigint generated always as identity primary key,
  experiment_id uuid not null references public.ai_ab_experiments (id) on delete cascade,
  check_no integer not null check (check_no > 0),
  arms jsonb not null check (jsonb_typeof(arms) = 'array'),
  decision jsonb not null check (jsonb_typeof(decision) = 'object'),
  memory jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  -- A retried check writes nothing new.
  unique (experiment_id, check_no)
);

create table public.ai_promotion_events (
  id uuid primary key default gen_random_uuid(),
  prompt_key text not null,
  from_version_id uuid references public.ai_prompt_versions (id),
  to_version_id uuid not null references public.ai_prompt_versions (id),
  experiment_id uuid references public.ai_ab_experiments (id),
  kind public.promotion_kind not null,
  actor text not null,
  reason text not null,
  decision jsonb,
  created_at timestamptz not null default now(),
  check (from_version_id is distinct from to_version_id)
);
-- An experiment promotes at most once.
create unique index ai_promotion_events_one_per_experiment on public.ai_promotion_events (experiment_id)
  where experiment_id is not null;
create index ai_promotion_events_key on public.ai_promotion_events (prompt_key, created_at desc);

create table public.optimization_jobs (
  id bigint generated always as identity primary key,
  type public.job_type not null,
  status public.job_status not null default 'pending',
  params jsonb not null default '{}'::jsonb check (jsonb_typeof(params) = 'object'),
  result jsonb,
  error text,
  workflow_id text,
  created_by text not null default 'system',
  idempotency_key text unique,
  attempts integer not null default 0,
  lease_owner text,
  lease_expires_at timestamptz,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz not null default now(),
  check ((status in ('completed', 'failed')) = (finished_at is not null))
);
create index optimization_jobs_claimable on public.optimization_jobs (created_at) where status in ('pending', 'running');
create index optimization_jobs_status on public.optimization_jobs (status, created_at desc);
