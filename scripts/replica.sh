#!/usr/bin/env bash
# Ensure a hot standby of the project-local cluster runs next to it (issue 11): streaming replication from
# var/pgdata into var/pgreplica, same socket folder, port 54330. Prints the standby's DATABASE URL last, for
# DATABASE_REPLICA_URLS. Only for the local cluster: a server given by DATABASE_URL has replicas of its own.
#   scripts/replica.sh          start it (copying the primary with pg_basebackup the first time); quick when running
#   scripts/replica.sh stop     stop it, keeping its data (make bench: the benchmarks measure the primary alone)
#   scripts/replica.sh remove   stop it and delete var/pgreplica (make clean-db)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
primary="$top/var/pgdata"; data="$top/var/pgreplica"; run="$top/var/run"
log="$top/var/log/postgresql-replica.log"; primary_log="$top/var/log/postgresql.log"
primary_port=54329; port=54330
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
url="postgis://assets@/assets?host=$run&port=$port"  # the application's role (reads); the standby copies its grants

as_pg() {  # PostgreSQL refuses to run as root: use the postgres OS user then (as scripts/localdb.sh does).
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
psql_at() { local p=$1; shift; as_pg "$bindir/psql" -h "$run" -p "$p" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
running() { [ -s "$data/PG_VERSION" ] && as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; }
stop() { if running; then as_pg "$bindir/pg_ctl" -D "$data" -w -t 60 stop -m fast >/dev/null; fi; }
sysid() { as_pg "$bindir/pg_controldata" "$1" 2>/dev/null | awk -F: '/system identifier/ {gsub(/ /, "", $2); print $2}'; }

if [ "${1:-}" = stop ]; then
  [ -z "$bindir" ] || stop
  exit 0
fi
if [ "${1:-}" = remove ]; then
  [ -z "$bindir" ] || stop
  rm -rf "$data"
  exit 0
fi
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found (run: make sysdeps)" >&2; exit 1; }

bash "$top/scripts/localdb.sh" >/dev/null  # the primary runs (and the postgres user can reach var/)
mkdir -p "$top/var"
exec 9>"$top/var/replica.lock"  # one set-up at a time (parallel test runs); servers start with it closed
flock 9

# The primary: WAL for replicas, WAL senders and a replication entry for the local socket (peer: the postgres role,
# from the server's OS user). scripts/localdb.sh provides them; checked for clusters configured otherwise. Reload or restart only when needed.
restart=""
if [ "$(psql_at $primary_port -c 'show wal_level')" = minimal ]; then
  echo "wal_level = replica" >> "$primary/postgresql.conf"; restart=1
fi
if [ "$(psql_at $primary_port -c 'show max_wal_senders')" -lt 3 ]; then
  echo "max_wal_senders = 10" >> "$primary/postgresql.conf"; restart=1
fi
if [ "$(psql_at $primary_port -c "select count(*) from pg_hba_file_rules where type = 'local'
      and 'replication' = any(database) and auth_method in ('trust', 'peer')")" = 0 ]; then
  echo "local replication all peer map=project" >> "$primary/pg_hba.conf"  # (scripts/localdb.sh writes one)
  [ -n "$restart" ] || psql_at $primary_port -c "select pg_reload_conf()" >/dev/null
fi
if [ -n "$restart" ]; then
  echo "restarting the primary for streaming replication" >&2
  as_pg "$bindir/pg_ctl" -D "$primary" -l "$primary_log" -w -t 60 restart -m fast >/dev/null 9>&-  # the server must not hold the lock
fi

build() {
  echo "copying the primary into var/pgreplica (pg_basebackup)" >&2
  stop
  rm -rf "$data"
  mkdir -p "$data" "$top/var/log"
  chmod 700 "$data"
  [ "$(id -u)" = 0 ] && chown postgres "$data"
  as_pg "$bindir/pg_basebackup" -h "$run" -p $primary_port -U postgres -D "$data" -R -X stream -c fast
  cat >> "$data/postgresql.conf" <<CONF
# hot standby of var/pgdata (scripts/replica.sh); primary_conninfo is in postgresql.auto.conf, standby.signal exists
# WAL archiving (scripts/backup.py) comes with the primary's settings: a standby with archive_mode = on (not always)
# archives nothing, so the primary alone feeds the pgBackRest stanza
port = $port
hot_standby = on
hot_standby_feedback = on
shared_buffers = 128MB
CONF
}

# (Re)build when missing, promoted (no standby.signal) or copied from another primary (e.g. after make clean-db).
if [ ! -s "$data/PG_VERSION" ] || [ ! -e "$data/standby.signal" ] || [ "$(sysid "$data")" != "$(sysid "$primary")" ]; then
  build
fi

streaming() {  # started and receiving WAL from the primary within a few seconds
  running || as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 120 start >/dev/null 9>&- || return 1
  for _ in $(seq 1 50); do
    [ "$(psql_at $port -c "select status from pg_stat_wal_receiver" 2>/dev/null)" = streaming ] && return 0
    sleep 0.2
  done
  return 1
}
if ! streaming; then
  # e.g. stopped for long enough that the primary recycled the WAL it needs: copy it again, once
  echo "the standby does not stream from the primary; copying it again" >&2
  build
  streaming || { echo "the hot standby did not start streaming; see $log" >&2; tail -n 20 "$log" >&2; exit 1; }
fi
[ "$(psql_at $port -c 'select pg_is_in_recovery()')" = t ] || { echo "var/pgreplica is not a standby" >&2; exit 1; }
echo "$url"
