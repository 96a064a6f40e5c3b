"""Liveness and readiness probes for the process manager, the reverse proxy and monitoring (deploy/README.md).

/healthz: the process answers (no database). /readyz: the database answers, no migration is waiting, the import
worker's heartbeat is fresh, the media folder's disk has room and the shared cache keeps a value → 200 with each check; otherwise 503 with the
failing checks and Retry-After. Both answer anyone, with check names and ok/fail only (the reasons go to the log);
served by config.middleware.HealthMiddleware before host validation, the HTTPS redirect, sessions and the rate
limits, so a local probe (`curl http://127.0.0.1:8000/readyz`) works behind the proxy."""

import json
import logging
import shutil
import threading
import time
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpResponse

from importers.heartbeat import heartbeat_age

logger = logging.getLogger("assets.health")
RETRY_AFTER = 30  # seconds: what a probe or a client is told to wait on 503
MIGRATIONS_CACHE = 60.0  # seconds a "no migration waiting" answer is kept (the migration graph is costly to build)

_migrations_ok_until = 0.0
_lock = threading.Lock()


def database_check(connection=None) -> str | None:
    """None when the database (default: the default alias's connection) answers a query, else why not (the
    exception's class, for the log)."""
    try:
        with (connection or connections[DEFAULT_DB_ALIAS]).cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"{type(exc).__name__}"
    return None


def migrations_pending(alias: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The migrations this code has that the database has not applied ("app.name"), none when up to date."""
    connection = connections[alias]
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def migrations_check(alias: str = DEFAULT_DB_ALIAS) -> str | None:
    global _migrations_ok_until
    if time.monotonic() < _migrations_ok_until:
        return None
    try:
        pending = migrations_pending(alias)
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}"
    if pending:
        return f"{len(pending)} pending, first {pending[0]}"
    with _lock:
        _migrations_ok_until = time.monotonic() + MIGRATIONS_CACHE
    return None


def worker_check() -> str | None:
    age = heartbeat_age()
    if age is None:
        return "no heartbeat"
    if age > settings.WORKER_HEARTBEAT_MAX_AGE:
        return f"heartbeat {age:.0f} s old"
    return None


def media_disk_check() -> str | None:
    """Free space on the media folder's disk (its nearest existing parent before the first upload)."""
    folder = Path(settings.MEDIA_ROOT)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        return f"{type(exc).__name__}"
    if free < settings.MEDIA_MIN_FREE_MB * 1024 * 1024:
        return f"{free // (1024 * 1024)} MB free"
    return None


def cache_check() -> str | None:
    """The shared cache (the rate limits' counters: the database's cache table or Redis) takes and gives a value."""
    from django.core.cache import cache

    try:
        cache.set("readyz", "ok", 30)
        if cache.get("readyz") != "ok":
            return "value not kept"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"{type(exc).__name__}"
    return None


def readiness() -> dict[str, str | None]:
    """Each check's failure reason, None when it passed. Migrations are not asked of an unreachable database."""
    database = database_check()
    return {
        "database": database,
        "migrations": "database unreachable" if database else migrations_check(),
        "worker": worker_check(),
        "media_disk": media_disk_check(),
        "cache": cache_check(),
    }


def _json(payload: dict, status: int) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def healthz(request) -> HttpResponse:
    response = HttpResponse("ok", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


def readyz(request) -> HttpResponse:
    reasons = readiness()
    failing = {name: reason for name, reason in reasons.items() if reason}
    checks = {name: "fail" if reason else "ok" for name, reason in reasons.items()}
    if not failing:
        return _json({"status": "ok", "checks": checks}, 200)
    logger.warning("not ready: %s", "; ".join(f"{name}: {reason}" for name, reason in failing.items()))
    response = _json({"status": "fail", "checks": checks}, 503)
    response["Retry-After"] = str(RETRY_AFTER)
    return response
