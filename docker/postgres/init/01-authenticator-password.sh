#!/usr/bin/env bash
# Lets PostgREST log in as authenticator with AUTHENTICATOR_PASSWORD (from docker-compose.yml).
# Run by the postgres image after 00-supabase-roles.sql, on an empty data volume only: to change
# the password later, run `alter role authenticator password '...'` or recreate the volume.
set -eo pipefail

if [ -z "${AUTHENTICATOR_PASSWORD:-}" ]; then
  echo "AUTHENTICATOR_PASSWORD is not set: PostgREST could not log in" >&2
  exit 1
fi

# psql's :'name' quoting keeps the password out of the SQL text and safe to quote.
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v authenticator_password="$AUTHENTICATOR_PASSWORD" <<'SQL'
alter role authenticator with login password :'authenticator_password';
SQL
