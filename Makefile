# One-command set-up. `make run` serves the demo county; `make test` runs the whole suite.
# Every target installs what is missing and is quick when nothing is.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The local cluster's two roles (README, "Database roles"): with_db.sh sets DATABASE_URL (the application's role,
# which owns nothing: run, demo, serve and the tests' own statements) and DATABASE_OWNER_URL (the schema's owner:
# `manage.py migrate` connects as it and grants the application its privileges; the tests create, migrate and purge
# their database as it).
WITH_DB := scripts/with_db.sh
HOST ?= 127.0.0.1
PORT ?= 8000
# test workers, each with a test database of its own (pytest-xdist); PYTEST_WORKERS=0 runs in one process.
# --dist loadgroup: tests handed out one at a time as workers free up, longest first (tests/conftest.py); measured
# better balanced than --dist load (workers busy 354/354 s vs 498/467 s of the whole suite).
PYTEST_WORKERS ?= 2

.PHONY: run serve test db db-owner db-replica bootstrap sysdeps venv assets messages migrate demo lint clean-db bench \
	backup restore backup-check load

run: bootstrap migrate demo
	@$(WITH_DB) $(PY) manage.py demo_admin
	@echo "Serving on http://$(HOST):$(PORT)/  (Ctrl-C stops)"
	@$(WITH_DB) bash scripts/serve.sh $(HOST) $(PORT)

# The production stack on this machine (scripts/serve_production.sh): gunicorn + the import worker, production
# settings, WhiteNoise, JSON logs; HOST/PORT as for run, WEB_WORKERS/WEB_THREADS to size it (config/gunicorn.py).
serve: bootstrap migrate
	@HOST=$(HOST) PORT=$(PORT) $(WITH_DB) bash scripts/serve_production.sh

# Backups with point-in-time recovery of the local cluster and MEDIA_ROOT (scripts/backup.py; README, "Backups"):
# pgBackRest (WAL archived continuously, base backups) and a checksummed copy of the media, in BACKUP_REPO (var/backup).
# make restore TARGET='2026-12-05 10:00:00+08' (no TARGET: the latest); stop make run/serve first.
backup: sysdeps
	@if [ -z "$$DATABASE_URL" ]; then bash scripts/localdb.sh >/dev/null; fi
	@$(PYTHON) scripts/backup.py backup

restore: sysdeps
	@$(PYTHON) scripts/backup.py restore $(if $(TARGET),'$(TARGET)')

backup-check: sysdeps
	@$(PYTHON) scripts/backup.py check

test: bootstrap lint db-replica
	@$(WITH_DB) $(PY) manage.py makemigrations --check --dry-run >/dev/null || \
		{ echo "Models changed without a migration: run manage.py makemigrations" >&2; exit 1; }
	$(WITH_DB) $(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

db: sysdeps
	@if [ -n "$$DATABASE_URL" ]; then echo "$$DATABASE_URL"; else bash scripts/localdb.sh | tail -n 1; fi

# The local cluster's owner URL (DATABASE_OWNER_URL), for `manage.py migrate` run by hand.
db-owner: sysdeps
	@if [ -n "$$DATABASE_URL" ]; then echo "$${DATABASE_OWNER_URL:-$$DATABASE_URL}"; else bash scripts/localdb.sh --owner | tail -n 1; fi

# A hot standby of the local cluster (scripts/replica.sh), for tests/test_replica.py and DATABASE_REPLICA_URLS.
db-replica: sysdeps
	@if [ -n "$$DATABASE_URL" ]; then echo "DATABASE_URL is set: no local standby (give its replicas in DATABASE_REPLICA_URLS)" >&2; \
		else set -o pipefail; bash scripts/replica.sh | tail -n 1; fi

bootstrap: sysdeps venv assets messages

sysdeps:
	@bash scripts/sysdeps.sh

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=python3.11)" >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

assets: maps/static/vendor/.installed

# Front-end libraries: pinned in package-lock.json, installed with npm, copied into the static files; then the map
# page's bundle of them with django-leaflet's Leaflet (hence the venv's python).
maps/static/vendor/.installed: package-lock.json scripts/vendor_static.py $(VENV)/.installed
	npm ci --no-audit --no-fund --loglevel=error
	$(PY) scripts/vendor_static.py
	@touch $@

messages: $(VENV)/.installed
	@if ls locale/*/LC_MESSAGES/django.po >/dev/null 2>&1; then \
		$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0; fi

migrate: bootstrap  # as the schema's owner, then the application's role granted its privileges
	@$(WITH_DB) $(PY) manage.py migrate --no-input -v 0

demo: migrate
	@$(WITH_DB) $(PY) manage.py load_demo
	@$(WITH_DB) $(PY) manage.py load_demo_lifecycle
	@$(WITH_DB) $(PY) manage.py load_demo_projects
	@$(WITH_DB) $(PY) manage.py load_demo_verifications

# Benchmarks of issue 11 (not part of `make test`; a tiny smoke run of them is): var/bench/results.json and a table,
# measured on the benchmark province (database assets_bench, `manage.py load_province`, loaded once in ~3 min).
# The benchmarks live in bench/ (bench/README.md); docs/performance.md says what they print.
bench: bootstrap
	@url=$$(bash scripts/bench_db.sh | tail -n 1) && DATABASE_URL=$$url $(PY) manage.py bench $(BENCH_ARGS)

# Load test of issue 20 (not part of `make test`; a 30-second smoke run is): Locust (bench/load/) against make serve's
# stack on the benchmark province — users stepped up until the tiles' p95 passes 500 ms or a request fails, the best
# level held DURATION seconds, then the faults; prints the sustained rate, peak memory and the fault table
# (var/load/results.json; docs/performance.md). LOAD_ARGS="--levels 4,8,16 --step 30 --faults worker_kill" for more.
# The media_full fault mounts a tmpfs: run as root (as make test does).
DURATION ?= 600
load: bootstrap
	@url=$$(bash scripts/bench_db.sh | tail -n 1) && DATABASE_URL=$$url $(PY) manage.py load --duration $(DURATION) $(LOAD_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	@out=$$($(VENV)/bin/lint-imports --no-cache --config pyproject.toml) || { echo "$$out"; exit 1; }; \
		echo "$$out" | tail -n 1  # the house as drawn: the import contracts in pyproject.toml

clean-db:
	@bash scripts/replica.sh remove
	@bash -c 'd=var/pgdata; [ -d $$d ] && { runuser -u postgres -- true 2>/dev/null; \
		(id -u | grep -qx 0 && runuser -u postgres -- $$(ls -d /usr/lib/postgresql/*/bin | tail -1)/pg_ctl -D $$d stop -m fast) || \
		$$(ls -d /usr/lib/postgresql/*/bin | tail -1)/pg_ctl -D $$d stop -m fast; rm -rf var/pgdata; } || true'
