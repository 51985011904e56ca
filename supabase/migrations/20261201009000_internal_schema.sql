-- Internal helpers move out of `public` into a schema PostgREST does not expose (issue 14).
--
-- PostgREST serves every function of its exposed schemas (`public`: supabase/config.toml
-- api.schemas, PGRST_DB_SCHEMAS in docker-compose.yml) as POST /rest/v1/rpc/<name>. The helpers
-- below are building blocks of the API functions, not API: they validate, format, compute buckets
-- or back triggers. Execute was never granted to anon/authenticated, but they should not be
-- listed, callable by service_role over REST, or mistaken for API. From here on:
--
--   * helpers live in schema `internal` (usage and execute for service_role only, since the API
--     functions run as security invoker and call them as the caller);
--   * new helpers are created there and called fully qualified (`internal._invalid(...)`).
--
-- Which functions move: every function of `public` whose name starts with "_", every trigger
-- function, and the two helpers named otherwise (assignment_bucket, normalize_prompt_content).
-- The set is found in the catalog, so helpers added by migrations this file has not seen move too.
--
-- Moving a function keeps its OID: triggers, column defaults and SQL-standard bodies follow it.
-- Bodies written as text (plpgsql, and `language sql as $$...$$`) name their callees, resolved at
-- run time with search_path = '': each such body that calls a moved helper as public.<name>( is
-- rewritten to internal.<name>( and recreated from pg_get_functiondef (CREATE OR REPLACE keeps its
-- grants). The block ends by checking that no body still calls a moved helper through public.

create schema if not exists internal;
revoke all on schema internal from public;
grant usage on schema internal to service_role;
do $$
begin
  -- On Supabase (and the local compose stack) the API roles exist; make their exclusion explicit.
  if exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    execute 'revoke all on schema internal from anon, authenticated';
  end if;
end
$$;

do $$
declare
  f record;
  moved text[];
  pattern text;
  definition text;
  rewritten text;
  leftovers text;
begin
  select coalesce(array_agg(p.proname order by p.proname), '{}') into moved
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  where n.nspname = 'public' and p.prokind = 'f'
    and (p.proname like '\_%' or p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype
         or p.proname in ('assignment_bucket', 'normalize_prompt_content'));
  if cardinality(moved) = 0 then
    return;
  end if;

  for f in
    select p.oid::pg_catalog.regprocedure as sig
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.proname = any (moved)
  loop
    execute format('alter function %s set schema internal', f.sig);
  end loop;

  -- public.<helper>( with optional spaces before the parenthesis; names are [a-z0-9_] only.
  pattern := 'public\.(' || array_to_string(moved, '|') || ')(\s*\()';
  for f in
    select p.oid
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'internal') and p.prokind = 'f' and p.prosqlbody is null
      and p.prosrc ~ pattern
  loop
    definition := pg_catalog.pg_get_functiondef(f.oid);
    rewritten := regexp_replace(definition, pattern, 'internal.\1\2', 'g');
    execute rewritten;
  end loop;

  select string_agg(p.oid::pg_catalog.regprocedure::text, ', ') into leftovers
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  where n.nspname in ('public', 'internal') and p.prosrc ~ pattern;
  if leftovers is not null then
    raise exception 'internal schema move: these functions still call a moved helper through public: %', leftovers;
  end if;

  for f in
    select p.oid::pg_catalog.regprocedure as sig
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'internal'
  loop
    execute format('revoke all on function %s from public', f.sig);
    if exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
      execute format('revoke all on function %s from anon, authenticated', f.sig);
    end if;
    execute format('grant execute on function %s to service_role', f.sig);
  end loop;
end
$$;
