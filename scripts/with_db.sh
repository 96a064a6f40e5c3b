#!/usr/bin/env bash
# Run a command with DATABASE_URL set: the user's own if given, else the project-local cluster (started if needed).
set -euo pipefail
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(bash "$(dirname "$0")/localdb.sh" | tail -n 1)
  export DATABASE_URL
fi
exec "$@"
