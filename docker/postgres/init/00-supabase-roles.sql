-- Local stand-in for what a hosted Supabase database has before any project migration runs, so
-- the docker-compose stack exercises supabase/migrations the way production does:
--
--   * the API roles anon, authenticated, service_role (service_role bypasses RLS, as on Supabase),
--     and the login role authenticator that PostgREST connects as and switches from;
--   * Supabase's permissive default privileges on schema public (our security migrations must
--     revoke them, and here they have to);
--   * an event trigger that tells PostgREST to reload its schema cache after DDL, so a migration
--     applied while the stack runs is visible through /rest/v1 at once (Supabase has the same).
--
-- Run once by the postgres image on an empty data volume (/docker-entrypoint-initdb.d, as the
-- superuser). Idempotent, so it may also be run by hand. The authenticator password is set by
-- 01-authenticator-password.sh from AUTHENTICATOR_PASSWORD; no secret lives in this file.
-- The bootstrap migration (20261129000000) then finds every role present and does nothing.

do $$
begin
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select 1 from pg_catalog.pg_roles where rolname = 'authenticator') then
    -- Login is enabled (with a password) by 01-authenticator-password.sh.
    create role authenticator nologin noinherit;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;

-- Supabase's defaults: the API roles may use schema public and get rights on everything the
-- migrating role creates there. The project's security migrations revoke them per object.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;

-- PostgREST reloads its schema cache on NOTIFY pgrst, 'reload schema' (db-channel-enabled).
create schema if not exists extensions;

create or replace function extensions.pgrst_ddl_watch() returns event_trigger
language plpgsql as $$
begin
  notify pgrst, 'reload schema';
end
$$;

do $$
begin
  if not exists (select 1 from pg_catalog.pg_event_trigger where evtname = 'pgrst_ddl_watch') then
    create event trigger pgrst_ddl_watch on ddl_command_end execute function extensions.pgrst_ddl_watch();
  end if;
  if not exists (select 1 from pg_catalog.pg_event_trigger where evtname = 'pgrst_drop_watch') then
    create event trigger pgrst_drop_watch on sql_drop execute function extensions.pgrst_ddl_watch();
  end if;
end
$$;
