"""`make serve`'s stack (scripts/serve_production.sh: gunicorn, the import worker, the production settings) started
by the tests that need a real server, on a free port against the test database, and stopped afterwards (its whole
process group). Shared by tests/test_serving.py, tests/test_shared_state.py and tests/test_pgbouncer.py."""

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
# what the test process has that a server started by hand would not
TEST_ONLY = ("DJANGO_SETTINGS_MODULE", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once closed


def database_url() -> str:
    """The test database as a URL, for the server's processes."""
    info = connection.get_connection_params()
    auth = quote(info.get("user", ""), safe="") + (":" + quote(info["password"], safe="") if info.get("password") else "")
    query = "&".join(f"{k}={quote(str(info[k]), safe='/')}" for k in ("host", "port") if info.get(k))
    return f"postgis://{auth}@/{quote(info['dbname'])}" + (f"?{query}" if query else "")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:  # noqa: S310
            return response.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


@contextlib.contextmanager
def production_stack(tmp_path: Path, *, drop: tuple[str, ...] = (), **settings: str):
    """scripts/serve_production.sh on a free port with the environment of the tests less TEST_ONLY and `drop`, plus
    `settings` (DATABASE_URL defaults to the test database, two workers of two threads); yields (port, process,
    {"out": its stdout file, "err": its stderr file — the JSON log lines}). Waits for /healthz (up to 120 s)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in (*TEST_ONLY, *drop)}
    env.update({"DATABASE_URL": database_url(), "WEB_WORKERS": "2", "WEB_THREADS": "2",
                "MEDIA_ROOT": str(tmp_path / "media"), "WORKER_HEARTBEAT_FILE": str(tmp_path / f"heartbeat-{port}"),
                "MEDIA_MIN_FREE_MB": "1", **settings, "HOST": "127.0.0.1", "PORT": str(port)})
    logs = {"out": tmp_path / f"out-{port}.log", "err": tmp_path / f"err-{port}.log"}
    with open(logs["out"], "w+b") as out, open(logs["err"], "w+b") as err:
        process = subprocess.Popen(["bash", "scripts/serve_production.sh"], cwd=ROOT, env=env,  # noqa: S607
                                   stdout=out, stderr=err, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while not _healthy(port):
                assert process.poll() is None, logs["err"].read_text() + logs["out"].read_text()
                assert time.monotonic() < deadline, logs["err"].read_text()
                time.sleep(0.3)
            yield port, process, logs
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
