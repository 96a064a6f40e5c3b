#!/usr/bin/env bash
# Ensure the project-local PostgreSQL + PostGIS cluster under var/ runs; print its DATABASE_URL last.
# Used only when DATABASE_URL is not set. Socket-only (no TCP port), trust auth inside the project folder.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
data="$top/var/pgdata"; run="$top/var/run"; log="$top/var/log/postgresql.log"
port=54329
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found (run: make sysdeps)" >&2; exit 1; }
url="postgis://assets@/assets?host=$run&port=$port"

as_pg() {  # PostgreSQL refuses to run as root: use the postgres OS user then.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mkdir -p "$top/var/log" "$run"
if [ "$(id -u)" = 0 ]; then
  chown postgres "$run" "$top/var/log"
  # The postgres user must be able to reach var/ through every parent folder (e.g. a clone under /root):
  # grant traverse-only permission (o+x, no listing) where it is missing.
  dir="$top/var"
  while ! runuser -u postgres -- test -x "$top/var" 2>/dev/null && [ "$dir" != / ]; do
    if ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
      echo "granting the postgres user traverse permission (o+x) on $dir" >&2
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
fi

if [ ! -s "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres "$data"
  as_pg "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  cat >> "$data/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$run'
synchronous_commit = off
shared_buffers = 512MB
work_mem = 32MB
maintenance_work_mem = 256MB
max_connections = 100
jit = off
random_page_cost = 1.1
# streaming replication to the hot standby of scripts/replica.sh (initdb's trust pg_hba.conf allows local ones)
wal_level = replica
max_wal_senders = 10
hot_standby = on
CONF
fi

if ! as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null
fi

psql_pg() { as_pg "$bindir/psql" -h "$run" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql_pg -d postgres -c "select 1 from pg_roles where rolname='assets'")" != 1 ]; then
  psql_pg -d postgres -c "create role assets login superuser"
fi
if [ "$(psql_pg -d postgres -c "select 1 from pg_database where datname='assets'")" != 1 ]; then
  psql_pg -d postgres -c "create database assets owner assets"
fi
psql_pg -d assets -c "set client_min_messages = warning" -c "create extension if not exists postgis" >/dev/null
echo "$url"
