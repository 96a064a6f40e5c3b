#!/usr/bin/env bash
# The benchmark database for `make bench`: `assets_bench` on the local cluster (or BENCH_DATABASE_URL), migrated and
# holding the province of `manage.py load_province` (bench/province.py; loaded once, ~3 min). Prints its DATABASE_URL last.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
py="$top/.venv/bin/python"
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  url=$BENCH_DATABASE_URL
else
  # A local hot standby (make db-replica) would replay every benchmark write on the same 2 cores: stopped here.
  bash "$top/scripts/replica.sh" stop
  # As the schema's owner (scripts/localdb.sh --owner): it creates the database (PostGIS comes from template1) and
  # the province's loader runs ANALYZE, which only an owner may.
  base=$(bash "$top/scripts/localdb.sh" --owner | tail -n 1)   # postgis://assets_owner@/assets?host=…&port=…
  url=${base/\/assets\?/\/assets_bench?}
  run=$(sed -E 's/.*host=([^&]*).*/\1/' <<<"$base"); port=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$base")
  if [ "$(psql -h "$run" -p "$port" -U assets_owner -d postgres -qtAc "select 1 from pg_database where datname='assets_bench'")" != 1 ]; then
    psql -h "$run" -p "$port" -U assets_owner -d postgres -qc "create database assets_bench owner assets_owner" >&2
  fi
  psql -h "$run" -p "$port" -U assets_owner -d assets_bench -qc "set client_min_messages = warning" \
    -c "create extension if not exists postgis" >&2
fi
DATABASE_URL=$url "$py" "$top/manage.py" migrate --no-input -v 0 >&2
DATABASE_URL=$url "$py" "$top/manage.py" load_province ${BENCH_SCALE:+--scale "$BENCH_SCALE"} >&2
echo "$url"
