#!/usr/bin/env bash
# `make serve`: the production stack on this machine — gunicorn (config/gunicorn.py: gthread, workers sized to the
# cores) with config.settings_production, the import worker beside it, WhiteNoise for the static files (collected
# here first), the media folder, JSON log lines on stderr. HOST and PORT say where to listen (127.0.0.1:8000).
# The production settings need SECRET_KEY and ALLOWED_HOSTS: when not given, a secret is generated once and kept in
# var/secret-key.txt (readable by you only) and the local names are allowed. A county server runs the same two
# processes under systemd instead (deploy/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
export DJANGO_SETTINGS_MODULE=config.settings_production
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-8000}

if [ -z "${SECRET_KEY:-}" ]; then
  keyfile=var/secret-key.txt
  mkdir -p var
  if [ ! -s "$keyfile" ]; then
    (umask 077; $py -c 'import secrets; print(secrets.token_urlsafe(64))' > "$keyfile.$$" && mv -n "$keyfile.$$" "$keyfile"; rm -f "$keyfile.$$")
    echo "SECRET_KEY not set: generated one in $keyfile (kept for the next runs; set SECRET_KEY to use your own)"
  else
    echo "SECRET_KEY not set: using the one kept in $keyfile"
  fi
  SECRET_KEY=$(cat "$keyfile")
  export SECRET_KEY
fi
if [ -z "${ALLOWED_HOSTS:-}" ]; then
  ALLOWED_HOSTS=127.0.0.1,localhost
  case "$HOST" in 0.0.0.0|::|127.0.0.1|localhost) ;; *) ALLOWED_HOSTS="$ALLOWED_HOSTS,$HOST" ;; esac
  export ALLOWED_HOSTS
  echo "ALLOWED_HOSTS not set: serving $ALLOWED_HOSTS (set ALLOWED_HOSTS to the server's name)"
fi
if [ -z "${SECURE_SSL_REDIRECT:-}" ]; then
  # No TLS here: the reverse proxy (deploy/nginx/assets.conf) terminates it on a server.
  export SECURE_SSL_REDIRECT=false
  echo "SECURE_SSL_REDIRECT not set: plain HTTP on this machine (behind the HTTPS proxy set SECURE_SSL_REDIRECT=true)"
fi

# collectstatic (~15 s: every file hashed and compressed) only when a static file or a package changed since;
# one at a time (two `make serve`, or the tests' servers, share var/static)
mkdir -p var
(
  flock 9
  stamp=var/static/staticfiles.json
  if [ -f "$stamp" ] && [ -z "$(find static ./*/static .venv/.installed -path ./var/static -prune -o -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    echo "Static files up to date in var/static"
  else
    $py manage.py collectstatic --no-input -v 0
  fi
) 9>var/collectstatic.lock
mkdir -p "${MEDIA_ROOT:-var/media}"  # the settings' default

# IMPORT_WORKER=off: gunicorn alone (the worker runs under its own unit or on another server, deploy/README.md)
# WORKER_DATABASE_URL: the worker's own connection, straight to PostgreSQL, when DATABASE_URL goes through a pooler in
# transaction mode (the worker holds a session lock per job and refuses such a pooler)
worker=
if [ "${IMPORT_WORKER:-on}" != off ]; then
  if [ -n "${WORKER_DATABASE_URL:-}" ]; then
    DATABASE_URL=$WORKER_DATABASE_URL DB_POOL_MODE=session $py manage.py importers_worker &
  else
    $py manage.py importers_worker &
  fi
  worker=$!
fi
gunicorn_pid=
stop() { kill ${worker:+"$worker"} ${gunicorn_pid:+"$gunicorn_pid"} 2>/dev/null || true; wait 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM
echo "Serving on http://$HOST:$PORT/ (gunicorn, production settings; Ctrl-C stops)"
$py -m gunicorn -c config/gunicorn.py config.wsgi:application &
gunicorn_pid=$!
# Either process ending ends both (the script's exit status is the first one's). A server that stopped is never a
# success: gunicorn exits 0 on Ctrl-C, and when it does so before the shell runs its INT trap, bash may count the
# signal as handled by the child (seen under load), so a 0 here still says "stopped".
status=0
wait -n ${worker:+"$worker"} "$gunicorn_pid" || status=$?
exit $(( status == 0 ? 1 : status ))
