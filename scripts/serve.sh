#!/usr/bin/env bash
# Serve the app for `make run`: the background worker (when the project has one) and the development server.
set -euo pipefail
host=$1; port=$2
py=.venv/bin/python
pids=()
if $py manage.py help import_worker >/dev/null 2>&1; then
  $py manage.py import_worker & pids+=($!)
fi
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT INT TERM
$py manage.py runserver "$host:$port" --noreload
