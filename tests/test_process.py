"""A web worker's Python (config/wsgi.py → config.process): the objects loaded at start frozen out of the garbage
collector, and its young generation widened."""

import json
import os
import subprocess
import sys
from pathlib import Path

from config.process import OLDER_THRESHOLDS, YOUNG_THRESHOLD

TOP = Path(__file__).resolve().parent.parent


def _worker_gc(module: str) -> dict:
    code = (f"import gc, json, {module}; "
            "print(json.dumps({'frozen': gc.get_freeze_count(), 'threshold': gc.get_threshold()}))")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run([sys.executable, "-c", code], cwd=TOP, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_wsgi_application_freezes_what_django_loaded():
    worker = _worker_gc("config.wsgi")
    assert worker["frozen"] > 20_000  # Django, GeoDjango and the apps
    assert tuple(worker["threshold"]) == (YOUNG_THRESHOLD, *OLDER_THRESHOLDS)


def test_a_plain_import_of_the_settings_leaves_the_collector_alone():
    # management commands and the tests keep CPython's collector as it is: only a web worker is tuned
    plain = _worker_gc("django")
    assert plain["frozen"] == 0 and plain["threshold"][0] == 700
