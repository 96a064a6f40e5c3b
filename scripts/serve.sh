#!/usr/bin/env bash
# Serve the app for `make run`: the import worker in the background and the development server.
set -euo pipefail
host=$1; port=$2
py=.venv/bin/python
$py manage.py importers_worker &
worker=$!
trap 'kill "$worker" 2>/dev/null || true' EXIT INT TERM
$py manage.py runserver "$host:$port" --noreload
