#!/usr/bin/env bash
# Ensure the project-local PostgreSQL + PostGIS cluster under var/ runs; print its DATABASE_URL last (the
# application's role), or with --owner the URL of the schema's owner (DATABASE_OWNER_URL: migrations, test set-up).
# Used only when DATABASE_URL is not set. Socket only (no TCP port). Two roles (README, "Database roles"):
#   assets_owner  owns the database and its schema: `manage.py migrate` and the test harness connect as it
#                 (NOSUPERUSER; CREATEDB for the test databases, which get PostGIS from template1)
#   assets        the application: owns nothing, NOSUPERUSER NOCREATEDB NOCREATEROLE; what it may do on each table
#                 migrate grants it (geo_assets/dbroles.py)
# plus the cluster's superuser postgres, for this script only. Peer authentication on the socket, no trust: the map
# "project" (pg_ident.conf) lets the OS user running this script connect as assets and assets_owner, and the server's
# OS user (postgres when run as root) as postgres. A cluster made before the two roles (assets a superuser owning
# everything) is converted once: its objects are handed to assets_owner and assets loses its attributes.
# WAL archiving (scripts/backup.py, `make backup`): archive_mode on, and an archive_command that pushes each WAL
# segment to pgBackRest once `make backup` has written var/pgbackrest.conf (until then it keeps nothing). A cluster
# made before: archive_command and archive_timeout are set with a reload; archive_mode takes a restart, which this
# script never does (`make backup` does it once, and says so).
# LOCALDB_VAR and LOCALDB_PORT (default var/ and 54329) make the same cluster elsewhere: the backup drill's own.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
var=${LOCALDB_VAR:-$top/var}
data="$var/pgdata"; run="$var/run"; log="$var/log/postgresql.log"
port=${LOCALDB_PORT:-54329}
app=assets; owner=assets_owner
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "PostgreSQL server binaries not found (run: make sysdeps)" >&2; exit 1; }
url="postgis://$app@/assets?host=$run&port=$port"
[ "${1:-}" = --owner ] && url="postgis://$owner@/assets?host=$run&port=$port"

as_pg() {  # PostgreSQL refuses to run as root: use the postgres OS user then.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

mkdir -p "$var/log" "$run"
if [ "$(id -u)" = 0 ]; then
  chown postgres "$run" "$var/log"
  # The postgres user must be able to reach var/ through every parent folder (e.g. a clone under /root):
  # grant traverse-only permission (o+x, no listing) where it is missing.
  dir="$var"
  while ! runuser -u postgres -- test -x "$var" 2>/dev/null && [ "$dir" != / ]; do
    if ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
      echo "granting the postgres user traverse permission (o+x) on $dir" >&2
      chmod o+x "$dir"
    fi
    dir=$(dirname "$dir")
  done
fi

# Who may connect as whom (peer authentication): written at creation, and over an older cluster's trust rules.
me=$(id -un); server_user=$me; [ "$(id -u)" = 0 ] && server_user=postgres
# WAL archiving: pgBackRest with the configuration scripts/backup.py writes beside the data folder (stanza assets);
# no configuration yet, no backup: the segment is not kept (nothing could be restored from it without a base backup).
conf="$var/pgbackrest.conf"
archive_command="test ! -f $conf || pgbackrest --config=$conf --stanza=assets archive-push %p"  # (a path without spaces)
archive_timeout=${BACKUP_ARCHIVE_TIMEOUT:-60}  # seconds: the most a commit waits to be archived (the RPO)
write_auth() {
  printf '%s\n' "# scripts/localdb.sh: socket only, peer authentication through the map \"project\" (pg_ident.conf)" \
    "local   all           all   peer  map=project" \
    "local   replication   all   peer  map=project" > "$data/pg_hba.conf"
  { echo "# scripts/localdb.sh: OS user -> database roles it may connect as"
    echo "project  $server_user  postgres"
    echo "project  $me  $app"
    echo "project  $me  $owner"; } > "$data/pg_ident.conf"
  [ "$(id -u)" = 0 ] && chown postgres "$data/pg_hba.conf" "$data/pg_ident.conf"
  chmod 600 "$data/pg_hba.conf" "$data/pg_ident.conf"
}

if [ ! -s "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  [ "$(id -u)" = 0 ] && chown postgres "$data"
  as_pg "$bindir/initdb" -D "$data" -U postgres --auth-local=peer --auth-host=reject --encoding=UTF8 \
    --locale=C.UTF-8 >/dev/null
  write_auth
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
# streaming replication to the hot standby of scripts/replica.sh (pg_hba.conf allows local ones, peer)
wal_level = replica
max_wal_senders = 10
hot_standby = on
# WAL archiving for backups with point-in-time recovery (scripts/backup.py)
archive_mode = on
archive_command = '$archive_command'
archive_timeout = $archive_timeout
CONF
fi

if ! as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
  as_pg "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null
fi

psql_pg() { as_pg "$bindir/psql" -h "$run" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if ! grep -q "map=project" "$data/pg_hba.conf" 2>/dev/null; then  # a cluster made with trust authentication
  echo "local cluster: peer authentication on the socket instead of trust (pg_hba.conf, pg_ident.conf)" >&2
  write_auth
  psql_pg -d postgres -c "select pg_reload_conf()" >/dev/null
fi

# A cluster made before WAL archiving: the command now (reload), archive_mode at its next start (`make backup` restarts
# it once when it must). ALTER SYSTEM writes postgresql.auto.conf.
# (the configuration files' value: `show archive_command` says "(disabled)" while archive_mode is off)
if [ "$(psql_pg -d postgres -c "select setting from pg_file_settings where name = 'archive_command'
      order by seqno desc limit 1")" != "$archive_command" ]; then
  echo "local cluster: WAL archiving command set for scripts/backup.py (reload, no restart)" >&2
  psql_pg -d postgres -c "alter system set archive_command = \$\$$archive_command\$\$" \
    -c "alter system set archive_timeout = $archive_timeout" -c "alter system set archive_mode = on" \
    -c "select pg_reload_conf()" >/dev/null
fi
if [ "$(psql_pg -d postgres -c "show archive_mode")" = off ]; then
  echo "local cluster: archive_mode turns on at its next restart (\`make backup\` restarts it once)" >&2
fi

if [ "$(psql_pg -d postgres -c "select 1 from pg_roles where rolname='$owner'")" != 1 ]; then
  psql_pg -d postgres -c "create role $owner login createdb nosuperuser nocreaterole"
fi
if [ "$(psql_pg -d postgres -c "select 1 from pg_roles where rolname='$app'")" != 1 ]; then
  psql_pg -d postgres -c "create role $app login nosuperuser nocreatedb nocreaterole"
fi
if [ "$(psql_pg -d postgres -c "select rolsuper or rolcreatedb or rolcreaterole or rolreplication or rolbypassrls
      or exists (select 1 from pg_database d where d.datdba = r.oid) from pg_roles r where rolname='$app'")" = t ]; then
  # Made before the two roles: hand everything assets owns (databases, then the objects in each) to the owner.
  echo "local cluster: $app becomes the application's role (owns nothing); $owner owns the databases" >&2
  for db in $(psql_pg -d postgres -c "select datname from pg_database where datallowconn order by 1"); do
    psql_pg -d "$db" -c "reassign owned by $app to $owner"
  done
  psql_pg -d postgres -c "alter role $app nosuperuser nocreatedb nocreaterole noreplication nobypassrls"
fi
if [ "$(psql_pg -d postgres -c "select 1 from pg_database where datname='assets'")" != 1 ]; then
  psql_pg -d postgres -c "create database assets owner $owner"
fi
# PostGIS needs a superuser to install: here, in the database and in template1 (so the owner's test databases have it).
for db in template1 assets; do
  psql_pg -d "$db" -c "set client_min_messages = warning" -c "create extension if not exists postgis" >/dev/null
done
echo "$url"
