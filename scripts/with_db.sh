#!/usr/bin/env bash
# Run a command with DATABASE_URL set: the user's own if given (with DATABASE_OWNER_URL if given), else the
# project-local cluster (started if needed) with its two roles: DATABASE_URL the application's, DATABASE_OWNER_URL
# the schema's owner, which `manage.py migrate` and the test set-up use (README, "Database roles").
set -euo pipefail
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$(bash "$(dirname "$0")/localdb.sh" | tail -n 1)
  DATABASE_OWNER_URL=$(bash "$(dirname "$0")/localdb.sh" --owner | tail -n 1)
  export DATABASE_URL DATABASE_OWNER_URL
fi
exec "$@"
