"""The import worker's heartbeat (`manage.py importers_worker`): a file whose modification time the worker renews
every few seconds, read by the readiness probe (`/readyz`, config.health). A file next to the media, not a table:
no migration, no write to the register, and the web and the worker run on the same server (deploy/README.md).
A thread beats while the worker process lives, so a long import (minutes in one job) does not look like a dead
worker; a job stuck for good is the jobs' own recovery's matter (jobs.jobs_recover, the job's progress file)."""

import threading
import time
from pathlib import Path

from django.conf import settings

INTERVAL = 5.0  # seconds between beats


def heartbeat_path() -> Path:
    return Path(settings.WORKER_HEARTBEAT_FILE)


def heartbeat_write() -> None:
    """Renew the heartbeat (create it, and its folder, when missing)."""
    path = heartbeat_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()  # sets the modification time to now


def heartbeat_age() -> float | None:
    """Seconds since the worker's last beat; None when it never beat (no file)."""
    try:
        return max(0.0, time.time() - heartbeat_path().stat().st_mtime)
    except OSError:
        return None


def heartbeat_start(interval: float = INTERVAL) -> threading.Thread:
    """Beat now, then every `interval` seconds in a daemon thread for as long as the process lives."""
    heartbeat_write()

    def beat():
        while True:
            time.sleep(interval)
            try:
                heartbeat_write()
            except OSError:
                pass  # a full or read-only disk: the probe sees the heartbeat age and says so

    thread = threading.Thread(target=beat, name="worker-heartbeat", daemon=True)
    thread.start()
    return thread
