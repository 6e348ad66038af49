#!/usr/bin/env bash
# A reduced version of the official postgres image's entrypoint: the variables and behaviour
# compose/docker-compose.yml relies on. On the first start (empty PGDATA) it runs initdb with
# POSTGRES_USER and POSTGRES_PASSWORD(_FILE), starts a temporary server on the Unix socket only (so
# a TCP pg_isready is not fooled), creates POSTGRES_DB, runs /docker-entrypoint-initdb.d, stops it,
# then execs the real server, which listens on every address.
set -Eeuo pipefail

# file_env VAR [DEFAULT]: VAR from $VAR or from the file named by $VAR_FILE (not both).
file_env() {
  local var="$1" fileVar="${1}_FILE" def="${2:-}"
  if [ -n "${!var:-}" ] && [ -n "${!fileVar:-}" ]; then
    echo >&2 "error: both $var and $fileVar are set (but are exclusive)"
    exit 1
  fi
  local val="$def"
  if [ -n "${!var:-}" ]; then
    val="${!var}"
  elif [ -n "${!fileVar:-}" ]; then
    val="$(< "${!fileVar}")"
  fi
  export "$var"="$val"
  unset "$fileVar"
}

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

# As root: fix the ownership of PGDATA and the socket directory, then re-run this script as postgres.
if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 00700 "$PGDATA"
  mkdir -p /var/run/postgresql
  chown postgres:postgres /var/run/postgresql
  chmod 03775 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = 'postgres' ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
    echo >&2 'error: database is uninitialized and superuser password is not specified:'
    echo >&2 '       set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust'
    exit 1
  fi

  # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a word list, as in the official image
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --encoding=UTF8 --locale=C.UTF-8 $POSTGRES_INITDB_ARGS
  printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"

  PGUSER="$POSTGRES_USER" PGPASSWORD="$POSTGRES_PASSWORD" \
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
  psql_init=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ "$POSTGRES_DB" != 'postgres' ]; then
    PGPASSWORD="$POSTGRES_PASSWORD" "${psql_init[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "running $f"; . "$f" ;;
      *.sql) echo "running $f"; PGPASSWORD="$POSTGRES_PASSWORD" "${psql_init[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
      *) [ -e "$f" ] && echo "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  unset PGPASSWORD
  echo 'PostgreSQL init process complete; ready for start up.'
fi

exec "$@"
